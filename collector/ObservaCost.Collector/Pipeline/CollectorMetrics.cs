using System.Diagnostics;
using System.Diagnostics.Metrics;
using ObservaCost.Storage.Diagnostics;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// The collector's own telemetry: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both
/// <c>ObservaCost.Collector</c>. The instruments are the only place these numbers live: the host's OpenTelemetry SDK
/// exports them over OTLP and writes them as Prometheus text on <c>/metrics</c> (hosts/ObservaCost.Hosting/Telemetry).
/// </summary>
public sealed class CollectorMetrics : IDisposable
{
    public const string MeterName = "ObservaCost.Collector";

    /// <summary>The collector's spans: a batch appended to the spool, a spool batch forwarded to the store.</summary>
    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _rejectedByReason;
    private readonly Counter<long> _written;
    private readonly Counter<long> _storeRejected;
    private readonly Counter<long> _storeFailures;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _deadLetterDropped;
    private readonly Counter<long> _serviceRestarts;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _scrapeDuration;
    private Func<long>? _spoolBytes;

    public CollectorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        var durations = new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreMetrics.DurationBucketsSeconds };
        _received = _meter.CreateCounter<long>("observacost.collector.points.received", "{point}", "Points and records accepted from sources");
        _rejected = _meter.CreateCounter<long>("observacost.collector.points.rejected", "{point}", "Points and records refused at ingest");
        _rejectedByReason = _meter.CreateCounter<long>("observacost.collector.points.rejected_by_reason", "{point}", "Points and records refused at ingest, by reason (for sources that give one)");
        _written = _meter.CreateCounter<long>("observacost.collector.points.written", "{point}", "Points the store took");
        _storeRejected = _meter.CreateCounter<long>("observacost.collector.points.store_rejected", "{point}", "Points the store refused");
        _storeFailures = _meter.CreateCounter<long>("observacost.collector.store.failures", "{failure}", "Batches the store could not take");
        _deadLettered = _meter.CreateCounter<long>("observacost.collector.points.deadlettered", "{point}", "Points the store refused for good, moved to the dead-letter file");
        _deadLetterDropped = _meter.CreateCounter<long>("observacost.collector.points.deadletter_dropped", "{point}", "Refused points dropped because the dead-letter file was full");
        _serviceRestarts = _meter.CreateCounter<long>("observacost.collector.service.restarts", "{restart}", "Background service loops restarted after an unexpected exception");
        _batchDuration = _meter.CreateHistogram("observacost.collector.batch.duration", "s", "Time to write one batch to the store", advice: durations);
        _scrapeDuration = _meter.CreateHistogram("observacost.collector.scrape.duration", "s", "Time to scrape and parse one target", advice: durations);
        _meter.CreateObservableGauge("observacost.collector.spool.size", () => _spoolBytes?.Invoke() ?? 0, "By", "Bytes in the spool not yet written to the store");
    }

    /// <summary>Reports the spool size from the spool itself.</summary>
    public void ObserveSpool(Func<long> bytes) => _spoolBytes = bytes;

    public void Received(string source, long points) =>
        _received.Add(points, new KeyValuePair<string, object?>("source", source));

    /// <summary>Counts refused points of <paramref name="source"/>; <paramref name="reason"/>, when given, is a short snake_case label value.</summary>
    public void Rejected(string source, long points, string? reason = null)
    {
        if (points == 0)
        {
            return;
        }

        _rejected.Add(points, new KeyValuePair<string, object?>("source", source));
        if (reason is not null)
        {
            _rejectedByReason.Add(points, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void BatchWritten(long written, long rejected, TimeSpan duration)
    {
        _written.Add(written);
        _storeRejected.Add(rejected);
        _batchDuration.Record(duration.TotalSeconds);
    }

    public void StoreFailed() => _storeFailures.Add(1);

    /// <summary>Refused points: <paramref name="kept"/> went to the dead-letter file, <paramref name="dropped"/> did not fit.</summary>
    public void DeadLettered(long kept, long dropped)
    {
        if (kept > 0)
        {
            _deadLettered.Add(kept);
        }

        if (dropped > 0)
        {
            _deadLetterDropped.Add(dropped);
        }
    }

    public void ServiceRestarted(string service) =>
        _serviceRestarts.Add(1, new KeyValuePair<string, object?>("service", service));

    public void Scraped(string target, TimeSpan duration) =>
        _scrapeDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("target", target));

    public void Dispose() => _meter.Dispose();
}
