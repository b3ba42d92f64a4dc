using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// The collector's own metrics: one <see cref="Meter"/> (<c>ObservaCost.Collector</c>) for the OpenTelemetry SDK, and
/// the same numbers kept here for the Prometheus text on <c>/metrics</c> (the OpenTelemetry Prometheus exporter is
/// not in the registry this project builds from).
/// </summary>
public sealed class CollectorMetrics : IDisposable
{
    public const string MeterName = "ObservaCost.Collector";

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _written;
    private readonly Counter<long> _storeRejected;
    private readonly Counter<long> _storeFailures;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _deadLetterDropped;
    private readonly Counter<long> _serviceRestarts;
    private readonly ConcurrentDictionary<string, long> _restartsByService = new(StringComparer.Ordinal);
    private long _deadLetteredTotal;
    private long _deadLetterDroppedTotal;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _scrapeDuration;
    private readonly ConcurrentDictionary<string, long> _receivedBySource = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _rejectedBySource = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Source, string Reason), long> _rejectedByReason = new();
    private readonly ConcurrentDictionary<string, (long Count, double Sum)> _scrapes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _writtenTotal;
    private long _storeRejectedTotal;
    private long _storeFailuresTotal;
    private long _batches;
    private double _batchSeconds;
    private Func<long>? _spoolBytes;

    public CollectorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _received = _meter.CreateCounter<long>("observacost.collector.points.received", "{point}", "Points and records accepted from sources");
        _rejected = _meter.CreateCounter<long>("observacost.collector.points.rejected", "{point}", "Points and records refused at ingest, with the source");
        _written = _meter.CreateCounter<long>("observacost.collector.points.written", "{point}", "Points the store took");
        _storeRejected = _meter.CreateCounter<long>("observacost.collector.points.store_rejected", "{point}", "Points the store refused (400)");
        _storeFailures = _meter.CreateCounter<long>("observacost.collector.store.failures", "{failure}", "Batches the store could not take");
        _deadLettered = _meter.CreateCounter<long>("observacost.collector.points.deadlettered", "{point}", "Points the store refused for good, moved to the dead-letter file");
        _deadLetterDropped = _meter.CreateCounter<long>("observacost.collector.points.deadletter_dropped", "{point}", "Refused points dropped because the dead-letter file was full");
        _serviceRestarts = _meter.CreateCounter<long>("observacost.collector.service.restarts", "{restart}", "Background service loops restarted after an unexpected exception, with the service");
        _batchDuration = _meter.CreateHistogram<double>("observacost.collector.batch.duration", "s", "Time to write one batch to the store");
        _scrapeDuration = _meter.CreateHistogram<double>("observacost.collector.scrape.duration", "s", "Time to scrape and parse one target");
        _meter.CreateObservableGauge("observacost.collector.spool.size", () => _spoolBytes?.Invoke() ?? 0, "By", "Bytes in the spool not yet written to the store");
    }

    /// <summary>Reports the spool size from the spool itself.</summary>
    public void ObserveSpool(Func<long> bytes) => _spoolBytes = bytes;

    public void Received(string source, long points)
    {
        _received.Add(points, new KeyValuePair<string, object?>("source", source));
        _receivedBySource.AddOrUpdate(source, points, (_, v) => v + points);
    }

    /// <summary>Counts refused points of <paramref name="source"/>; <paramref name="reason"/>, when given, is a short snake_case label value.</summary>
    public void Rejected(string source, long points, string? reason = null)
    {
        if (points == 0)
        {
            return;
        }

        if (reason is null)
        {
            _rejected.Add(points, new KeyValuePair<string, object?>("source", source));
        }
        else
        {
            _rejected.Add(points, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("reason", reason));
            _rejectedByReason.AddOrUpdate((source, reason), points, (_, v) => v + points);
        }

        _rejectedBySource.AddOrUpdate(source, points, (_, v) => v + points);
    }

    public void BatchWritten(long written, long rejected, TimeSpan duration)
    {
        _written.Add(written);
        _storeRejected.Add(rejected);
        _batchDuration.Record(duration.TotalSeconds);
        Interlocked.Add(ref _writtenTotal, written);
        Interlocked.Add(ref _storeRejectedTotal, rejected);
        lock (_gate)
        {
            _batches++;
            _batchSeconds += duration.TotalSeconds;
        }
    }

    public void StoreFailed()
    {
        _storeFailures.Add(1);
        Interlocked.Increment(ref _storeFailuresTotal);
    }

    /// <summary>Refused points: <paramref name="kept"/> went to the dead-letter file, <paramref name="dropped"/> did not fit.</summary>
    public void DeadLettered(long kept, long dropped)
    {
        if (kept > 0)
        {
            _deadLettered.Add(kept);
            Interlocked.Add(ref _deadLetteredTotal, kept);
        }

        if (dropped > 0)
        {
            _deadLetterDropped.Add(dropped);
            Interlocked.Add(ref _deadLetterDroppedTotal, dropped);
        }
    }

    public void ServiceRestarted(string service)
    {
        _serviceRestarts.Add(1, new KeyValuePair<string, object?>("service", service));
        _restartsByService.AddOrUpdate(service, 1, (_, v) => v + 1);
    }

    public long DeadLetteredTotal => Interlocked.Read(ref _deadLetteredTotal);

    public long DeadLetterDroppedTotal => Interlocked.Read(ref _deadLetterDroppedTotal);

    public long RestartsTotal(string service) => _restartsByService.GetValueOrDefault(service);

    public void Scraped(string target, TimeSpan duration)
    {
        _scrapeDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("target", target));
        _scrapes.AddOrUpdate(target, (1, duration.TotalSeconds), (_, v) => (v.Count + 1, v.Sum + duration.TotalSeconds));
    }

    public long ReceivedTotal(string source) => _receivedBySource.GetValueOrDefault(source);

    public long RejectedTotal(string source) => _rejectedBySource.GetValueOrDefault(source);

    public long RejectedTotal(string source, string reason) => _rejectedByReason.GetValueOrDefault((source, reason));

    public long WrittenTotal => Interlocked.Read(ref _writtenTotal);

    /// <summary>The metrics in Prometheus text exposition format 0.0.4.</summary>
    public string ToPrometheusText()
    {
        var sb = new StringBuilder(2048);
        Family(sb, "observacost_collector_points_received_total", "counter", "Points and records accepted from sources");
        foreach (KeyValuePair<string, long> kv in _receivedBySource.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_received_total{{source=\"{Escape(kv.Key)}\"}} {kv.Value}\n");
        }

        Family(sb, "observacost_collector_points_rejected_total", "counter", "Points and records refused at ingest");
        foreach (KeyValuePair<string, long> kv in _rejectedBySource.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_rejected_total{{source=\"{Escape(kv.Key)}\"}} {kv.Value}\n");
        }

        Family(sb, "observacost_collector_points_rejected_by_reason_total", "counter", "Points and records refused at ingest, by reason (for sources that give one)");
        foreach (KeyValuePair<(string Source, string Reason), long> kv in _rejectedByReason.OrderBy(k => k.Key.Source, StringComparer.Ordinal).ThenBy(k => k.Key.Reason, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_rejected_by_reason_total{{source=\"{Escape(kv.Key.Source)}\",reason=\"{Escape(kv.Key.Reason)}\"}} {kv.Value}\n");
        }

        Family(sb, "observacost_collector_points_written_total", "counter", "Points the store took");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_written_total {Interlocked.Read(ref _writtenTotal)}\n");
        Family(sb, "observacost_collector_points_store_rejected_total", "counter", "Points the store refused");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_store_rejected_total {Interlocked.Read(ref _storeRejectedTotal)}\n");
        Family(sb, "observacost_collector_store_failures_total", "counter", "Batches the store could not take");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_store_failures_total {Interlocked.Read(ref _storeFailuresTotal)}\n");
        Family(sb, "observacost_collector_points_deadlettered_total", "counter", "Points the store refused for good, moved to the dead-letter file");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_deadlettered_total {DeadLetteredTotal}\n");
        Family(sb, "observacost_collector_points_deadletter_dropped_total", "counter", "Refused points dropped because the dead-letter file was full");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_points_deadletter_dropped_total {DeadLetterDroppedTotal}\n");
        Family(sb, "observacost_collector_service_restarts_total", "counter", "Background service loops restarted after an unexpected exception");
        foreach (KeyValuePair<string, long> kv in _restartsByService.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_service_restarts_total{{service=\"{Escape(kv.Key)}\"}} {kv.Value}\n");
        }

        Family(sb, "observacost_collector_spool_size_bytes", "gauge", "Bytes in the spool not yet written to the store");
        sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_spool_size_bytes {_spoolBytes?.Invoke() ?? 0}\n");
        Family(sb, "observacost_collector_batch_duration_seconds", "summary", "Time to write one batch to the store");
        lock (_gate)
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_batch_duration_seconds_sum {_batchSeconds:R}\n");
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_batch_duration_seconds_count {_batches}\n");
        }

        Family(sb, "observacost_collector_scrape_duration_seconds", "summary", "Time to scrape and parse one target");
        foreach (KeyValuePair<string, (long Count, double Sum)> kv in _scrapes.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_scrape_duration_seconds_sum{{target=\"{Escape(kv.Key)}\"}} {kv.Value.Sum:R}\n");
            sb.Append(CultureInfo.InvariantCulture, $"observacost_collector_scrape_duration_seconds_count{{target=\"{Escape(kv.Key)}\"}} {kv.Value.Count}\n");
        }

        return sb.ToString();
    }

    public void Dispose() => _meter.Dispose();

    private static void Family(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
