using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ObservaCost.Storage.Diagnostics;

/// <summary>
/// The store client's own telemetry: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both
/// <c>ObservaCost.Storage</c>. Every store call goes through <see cref="InstrumentedTimeSeriesStore"/>, which times
/// it (<c>db.client.operation.duration</c>, the OpenTelemetry semantic convention), opens its span and counts points
/// refused and bytes written; the InfluxDB client counts its retries here.
/// </summary>
public sealed class StoreMetrics : IDisposable
{
    public const string Name = "ObservaCost.Storage";

    /// <summary>The spans of store calls (<c>write influxdb</c>, <c>query sqlite</c>, ...).</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Bucket bounds of every ObservaCost duration histogram, in seconds (those of ASP.NET Core's request duration, up to a minute).</summary>
    public static readonly IReadOnlyList<double> DurationBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly Meter _meter;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _bytesWritten;

    /// <summary>With the host's meter factory; without one (a bare service collection), a meter of its own.</summary>
    public StoreMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(Name) ?? new Meter(Name);
        _duration = _meter.CreateHistogram(
            "db.client.operation.duration", "s", "Duration of store operations (write, query, delete)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBucketsSeconds });
        _retries = _meter.CreateCounter<long>("observacost.store.retries", "{retry}", "Store requests tried again after a network error, 5xx or 429");
        _rejected = _meter.CreateCounter<long>("observacost.store.points.rejected", "{point}", "Points the store refused in a write (partial success)");
        _bytesWritten = _meter.CreateCounter<long>("observacost.store.bytes.written", "By", "Line-protocol bytes sent in writes the store took");
    }

    /// <summary>One store operation's duration; <paramref name="errorType"/> is null when it succeeded.</summary>
    public void Operation(string system, string operation, TimeSpan duration, string? errorType)
    {
        var tags = new TagList { { "db.system.name", system }, { "db.operation.name", operation } };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        _duration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>A write the store answered: its bytes, and the points it refused.</summary>
    public void Written(string system, long bytes, int rejectedPoints)
    {
        var backend = new KeyValuePair<string, object?>("db.system.name", system);
        _bytesWritten.Add(bytes, backend);
        if (rejectedPoints > 0)
        {
            _rejected.Add(rejectedPoints, backend);
        }
    }

    /// <summary>A request of <paramref name="operation"/> tried again.</summary>
    public void Retried(string system, string operation) =>
        _retries.Add(1, new KeyValuePair<string, object?>("db.system.name", system), new KeyValuePair<string, object?>("db.operation.name", operation));

    public void Dispose() => _meter.Dispose();
}
