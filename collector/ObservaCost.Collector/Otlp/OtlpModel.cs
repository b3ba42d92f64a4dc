namespace ObservaCost.Collector.Otlp;

/// <summary>One numeric data point from an OTLP metrics export, with the attributes that identify it.</summary>
public sealed record OtlpDataPoint(
    string MetricName,
    string Unit,
    IReadOnlyDictionary<string, string> ResourceAttributes,
    IReadOnlyDictionary<string, string> Attributes,
    long TimeUnixNano,
    double Value);

/// <summary>A data point that could not be used, with where it was and why.</summary>
public sealed record OtlpRejection(string Metric, string Reason);

/// <summary>Everything read from one export request.</summary>
public sealed class OtlpExport
{
    public List<OtlpDataPoint> Points { get; } = [];

    public List<OtlpRejection> Rejections { get; } = [];

    /// <summary>Data points of kinds the collector does not store (histograms, summaries, exponential histograms).</summary>
    public int UnsupportedPoints { get; set; }
}
