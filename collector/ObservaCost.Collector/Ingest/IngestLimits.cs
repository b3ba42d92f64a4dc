using System.Globalization;
using Microsoft.Extensions.Options;

namespace ObservaCost.Collector.Ingest;

/// <summary>Limits on what ingest accepts. Configuration section <c>Collector:Limits</c>.</summary>
public sealed class IngestLimitsOptions
{
    public const string SectionName = "Collector:Limits";

    /// <summary>Largest request body, after decompression (413 beyond it).</summary>
    public long MaxBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>How far ahead of the collector's clock a timestamp may be.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How old a timestamp may be.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Longest tag (label) value.</summary>
    public int MaxTagValueLength { get; set; } = 256;

    /// <summary>Most tags on one point.</summary>
    public int MaxTagsPerPoint { get; set; } = 32;

    /// <summary>Most distinct series per measurement seen within <see cref="SeriesWindow"/>; new series beyond it are refused.</summary>
    public int MaxSeriesPerMeasurement { get; set; } = 100_000;

    /// <summary>Most distinct measurements seen within <see cref="SeriesWindow"/>; points of a new measurement beyond it are refused.</summary>
    public int MaxMeasurements { get; set; } = 10_000;

    /// <summary>Most distinct field keys per measurement whose type the gate remembers; a point adding one more is refused.</summary>
    public int MaxFieldsPerMeasurement { get; set; } = 1_024;

    /// <summary>A series (or measurement) not seen for this long no longer counts toward the limits.</summary>
    public TimeSpan SeriesWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most rejected records described one by one in a response.</summary>
    public int MaxErrorsReported { get; set; } = 100;
}

public sealed class IngestLimitsOptionsValidator : IValidateOptions<IngestLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestLimitsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = IngestLimitsOptions.SectionName + ":";
        Check(options.MaxBodyBytes is >= 1024 and <= 1L << 31, $"{p}MaxBodyBytes must be between 1 KiB and 2 GiB (got {options.MaxBodyBytes}).");
        Check(options.MaxFutureSkew >= TimeSpan.Zero, $"{p}MaxFutureSkew must not be negative.");
        Check(options.MaxAge > TimeSpan.Zero, $"{p}MaxAge must be positive.");
        Check(options.MaxTagValueLength is >= 16 and <= 65_536, $"{p}MaxTagValueLength must be between 16 and 65536 (got {options.MaxTagValueLength}).");
        Check(options.MaxTagsPerPoint is >= 1 and <= 1024, $"{p}MaxTagsPerPoint must be between 1 and 1024 (got {options.MaxTagsPerPoint}).");
        Check(options.MaxSeriesPerMeasurement >= 1, $"{p}MaxSeriesPerMeasurement must be at least 1.");
        Check(options.MaxMeasurements is >= 1 and <= 1_000_000, $"{p}MaxMeasurements must be between 1 and 1000000 (got {options.MaxMeasurements}).");
        Check(options.MaxFieldsPerMeasurement is >= 1 and <= 100_000, $"{p}MaxFieldsPerMeasurement must be between 1 and 100000 (got {options.MaxFieldsPerMeasurement}).");
        Check(options.SeriesWindow > TimeSpan.Zero, $"{p}SeriesWindow must be positive.");
        Check(options.MaxErrorsReported is >= 0 and <= 10_000, $"{p}MaxErrorsReported must be between 0 and 10000.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool ok, FormattableString message)
        {
            if (!ok)
            {
                failures.Add(message.ToString(CultureInfo.InvariantCulture));
            }
        }
    }
}
