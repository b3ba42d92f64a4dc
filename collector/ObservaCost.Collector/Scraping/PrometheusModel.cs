using System.Collections;
using System.Globalization;
using System.Text;

namespace ObservaCost.Collector.Scraping;

/// <summary>The metric type of a family, as declared by its <c># TYPE</c> line (untyped when there is none).</summary>
public enum MetricType
{
    Untyped,
    Counter,
    Gauge,
    Histogram,
    Summary,
}

/// <summary>The exposition format of a page, told by its content type.</summary>
public enum PrometheusFormat
{
    /// <summary>Prometheus text format 0.0.4: sample timestamps in integer milliseconds.</summary>
    Text,

    /// <summary>OpenMetrics 1.0 (<c>application/openmetrics-text</c>): sample timestamps in (fractional) seconds.</summary>
    OpenMetrics,
}

/// <summary>The sample timestamps a scrape accepts, in milliseconds since the epoch, both ends included.</summary>
public readonly record struct SampleTimeWindow(long EarliestMilliseconds, long LatestMilliseconds)
{
    /// <summary>From <paramref name="maxAge"/> before <paramref name="scrapeTime"/> to <paramref name="maxFutureSkew"/> after it.</summary>
    public static SampleTimeWindow Around(DateTimeOffset scrapeTime, TimeSpan maxAge, TimeSpan maxFutureSkew)
    {
        long now = scrapeTime.ToUnixTimeMilliseconds();
        long age = (long)Math.Min(maxAge.TotalMilliseconds, long.MaxValue / 2);
        long skew = (long)Math.Min(maxFutureSkew.TotalMilliseconds, long.MaxValue / 2);
        return new(now - age, now + skew);
    }
}

/// <summary>One label of a sample.</summary>
public readonly record struct Label(string Name, string Value);

/// <summary>
/// The labels of one sample, in page order. Immutable; samples with the same labels on one page may share the same
/// instance.
/// </summary>
public readonly struct LabelSet : IReadOnlyList<Label>, IEquatable<LabelSet>
{
    private readonly Label[]? _labels;

    public LabelSet(Label[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        _labels = labels;
    }

    public static LabelSet Empty => default;

    public int Count => _labels?.Length ?? 0;

    public Label this[int index] => (_labels ?? [])[index];

    public ReadOnlySpan<Label> AsSpan() => _labels;

    /// <summary>The value of label <paramref name="name"/>, or null when the sample has no such label.</summary>
    public string? Get(string name)
    {
        foreach (Label label in AsSpan())
        {
            if (string.Equals(label.Name, name, StringComparison.Ordinal))
            {
                return label.Value;
            }
        }

        return null;
    }

    public IEnumerator<Label> GetEnumerator() => ((IEnumerable<Label>)(_labels ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(LabelSet other)
    {
        ReadOnlySpan<Label> a = AsSpan();
        ReadOnlySpan<Label> b = other.AsSpan();
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i].Name, b[i].Name, StringComparison.Ordinal) || !string.Equals(a[i].Value, b[i].Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is LabelSet other && Equals(other);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (Label label in AsSpan())
        {
            hash.Add(label.Name, StringComparer.Ordinal);
            hash.Add(label.Value, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public static bool operator ==(LabelSet left, LabelSet right) => left.Equals(right);

    public static bool operator !=(LabelSet left, LabelSet right) => !left.Equals(right);

    /// <summary>The labels as the exposition format writes them: <c>{a="1",b="x\"y"}</c>, or empty.</summary>
    public override string ToString()
    {
        if (Count == 0)
        {
            return string.Empty;
        }

        var text = new StringBuilder("{");
        ReadOnlySpan<Label> labels = AsSpan();
        for (int i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(labels[i].Name).Append("=\"");
            foreach (char c in labels[i].Value)
            {
                _ = c switch
                {
                    '\\' => text.Append("\\\\"),
                    '"' => text.Append("\\\""),
                    '\n' => text.Append("\\n"),
                    _ => text.Append(c),
                };
            }

            text.Append('"');
        }

        return text.Append('}').ToString();
    }
}

/// <summary>
/// One sample of a page: its family (the name on the <c># TYPE</c> line, e.g. <c>vllm:e2e_request_latency_seconds</c>),
/// the family's type, the sample's own name (e.g. <c>vllm:e2e_request_latency_seconds_bucket</c>), labels, value and
/// optional timestamp in milliseconds since the epoch.
/// </summary>
public readonly record struct PrometheusSample(
    string FamilyName,
    MetricType Type,
    string Name,
    LabelSet Labels,
    double Value,
    long? TimestampMilliseconds)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name}{Labels} {Value}{(TimestampMilliseconds is long ms ? " " + ms.ToString(CultureInfo.InvariantCulture) : string.Empty)}");
}

/// <summary>A metric family seen on a page: declared by <c># TYPE</c>/<c># HELP</c>, or by an untyped sample.</summary>
public sealed record MetricFamilyInfo(string Name, MetricType Type, string? Help, int SampleCount);

/// <summary>Why a line or sample was refused.</summary>
public enum PrometheusErrorKind
{
    /// <summary>The line does not follow the text format; the reason says where.</summary>
    Malformed,

    /// <summary>A label value is longer than <see cref="PrometheusParserOptions.MaxLabelValueLength"/>.</summary>
    LabelValueTooLong,

    /// <summary>A sample has more labels than <see cref="PrometheusParserOptions.MaxLabelsPerSample"/>.</summary>
    TooManyLabels,

    /// <summary>The page has more samples than <see cref="PrometheusParserOptions.MaxSamplesPerPage"/>; the rest are dropped.</summary>
    SampleLimitReached,

    /// <summary>A label value is not valid UTF-8 (Prometheus: "invalid UTF-8 label value").</summary>
    InvalidUtf8,

    /// <summary>
    /// The series (name and labels) already had a sample on this page; the first is kept (Prometheus: "duplicate sample
    /// for timestamp").
    /// </summary>
    DuplicateSeries,

    /// <summary>The sample's own timestamp is outside the window the scrape accepts around the scrape time.</summary>
    TimestampOutOfBounds,

    /// <summary>NaN or ±Inf where the reading becomes a stored field.</summary>
    NonFiniteValue,

    /// <summary>A negative reading of a quantity that cannot be negative (power, energy, utilization, memory, a count).</summary>
    NegativeValue,

    /// <summary>A reading above its quantity's maximum (utilization above 100 %, an activity ratio above 1).</summary>
    AboveMaximum,

    /// <summary>A counter that is NaN, infinite or negative, or that went down while its process did not restart.</summary>
    InvalidCounter,

    /// <summary>A histogram without a <c>+Inf</c> bucket, or whose cumulative bucket counts decrease: refused for quantiles.</summary>
    InvalidHistogram,

    /// <summary>The page lacks a reading its target must give (a node-power target without its power metric).</summary>
    MissingValue,
}

/// <summary>Names of <see cref="PrometheusErrorKind"/> as metric label values.</summary>
public static class PrometheusErrorKinds
{
    /// <summary>The number of kinds, for arrays indexed by kind.</summary>
    public static readonly int Count = Enum.GetValues<PrometheusErrorKind>().Length;

    /// <summary>The <c>reason</c> label of the rejected-points metric: <c>malformed</c>, <c>duplicate_series</c>, …</summary>
    public static string ReasonLabel(this PrometheusErrorKind kind) => kind switch
    {
        PrometheusErrorKind.Malformed => "malformed",
        PrometheusErrorKind.LabelValueTooLong => "label_value_too_long",
        PrometheusErrorKind.TooManyLabels => "too_many_labels",
        PrometheusErrorKind.SampleLimitReached => "sample_limit",
        PrometheusErrorKind.InvalidUtf8 => "invalid_utf8",
        PrometheusErrorKind.DuplicateSeries => "duplicate_series",
        PrometheusErrorKind.TimestampOutOfBounds => "timestamp_out_of_bounds",
        PrometheusErrorKind.NonFiniteValue => "non_finite_value",
        PrometheusErrorKind.NegativeValue => "negative_value",
        PrometheusErrorKind.AboveMaximum => "above_maximum",
        PrometheusErrorKind.InvalidCounter => "invalid_counter",
        PrometheusErrorKind.InvalidHistogram => "invalid_histogram",
        PrometheusErrorKind.MissingValue => "missing_value",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>
/// Samples refused after parsing (by a GPU mapper or the vLLM tracker): a count per kind and the first few reasons.
/// </summary>
public sealed class SampleRejections
{
    /// <summary>Most reasons kept word for word; further rejections are only counted.</summary>
    public const int MaxReasonsListed = 20;

    private readonly int[] _counts = new int[PrometheusErrorKinds.Count];
    private readonly List<(PrometheusErrorKind Kind, string Reason)> _reasons = [];

    /// <summary>Rejections of every kind.</summary>
    public int Total { get; private set; }

    /// <summary>The first reasons, in order, at most <see cref="MaxReasonsListed"/>.</summary>
    public IReadOnlyList<(PrometheusErrorKind Kind, string Reason)> Reasons => _reasons;

    public int this[PrometheusErrorKind kind] => _counts[(int)kind];

    /// <summary>Counts <paramref name="samples"/> refused samples of <paramref name="kind"/>, keeping the reason while there is room.</summary>
    public void Add(PrometheusErrorKind kind, string reason, int samples = 1)
    {
        _counts[(int)kind] += samples;
        Total += samples;
        if (_reasons.Count < MaxReasonsListed)
        {
            _reasons.Add((kind, reason));
        }
    }
}

/// <summary>A refused line, with its 1-based number, the kind, the reason and the start of its text.</summary>
public sealed record PrometheusParseError(int Line, PrometheusErrorKind Kind, string Reason, string Text)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"line {Line}: {Reason}: {Text}");
}

/// <summary>Limits of one parse. Exceeding one refuses the sample (or, for the sample limit, the rest of the page) with a counted reason.</summary>
public sealed record PrometheusParserOptions
{
    /// <summary>Longest label value in UTF-8 bytes, after unescaping; longer values refuse their sample.</summary>
    public int MaxLabelValueLength { get; init; } = 4096;

    /// <summary>Most labels on one sample; more refuse the sample.</summary>
    public int MaxLabelsPerSample { get; init; } = 64;

    /// <summary>Most samples kept from one page; the samples after it are counted and dropped.</summary>
    public int MaxSamplesPerPage { get; init; } = 200_000;

    /// <summary>Most errors listed in a result; further errors are only counted.</summary>
    public int MaxErrorsListed { get; init; } = 100;

    /// <summary>Most distinct strings the parser keeps for reuse across pages before it starts afresh.</summary>
    public int MaxInternedStrings { get; init; } = 50_000;

    /// <summary>Every invalid setting, named; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (MaxLabelValueLength < 1)
        {
            failures.Add($"{nameof(MaxLabelValueLength)} must be at least 1");
        }

        if (MaxLabelsPerSample < 1)
        {
            failures.Add($"{nameof(MaxLabelsPerSample)} must be at least 1");
        }

        if (MaxSamplesPerPage < 1)
        {
            failures.Add($"{nameof(MaxSamplesPerPage)} must be at least 1");
        }

        if (MaxErrorsListed < 0)
        {
            failures.Add($"{nameof(MaxErrorsListed)} must not be negative");
        }

        if (MaxInternedStrings < 0)
        {
            failures.Add($"{nameof(MaxInternedStrings)} must not be negative");
        }

        return failures;
    }
}

/// <summary>The outcome of parsing one page: the good samples, the families, and what was refused and why.</summary>
public sealed class PrometheusParseResult
{
    private readonly int[] _rejections;

    internal PrometheusParseResult(
        List<PrometheusSample> samples,
        List<MetricFamilyInfo> families,
        List<PrometheusParseError> errors,
        int lineCount,
        int[] rejections)
    {
        Samples = samples;
        Families = families;
        Errors = errors;
        LineCount = lineCount;
        _rejections = rejections;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Families in order of first appearance, with their sample counts.</summary>
    public IReadOnlyList<MetricFamilyInfo> Families { get; }

    /// <summary>The first errors, each with its line number (at most <see cref="PrometheusParserOptions.MaxErrorsListed"/>).</summary>
    public IReadOnlyList<PrometheusParseError> Errors { get; }

    public int LineCount { get; }

    public int MalformedLines => Rejections(PrometheusErrorKind.Malformed);

    public int LabelValueTooLongRejections => Rejections(PrometheusErrorKind.LabelValueTooLong);

    public int TooManyLabelsRejections => Rejections(PrometheusErrorKind.TooManyLabels);

    /// <summary>Samples dropped because the page went over <see cref="PrometheusParserOptions.MaxSamplesPerPage"/>.</summary>
    public int SamplesOverLimit => Rejections(PrometheusErrorKind.SampleLimitReached);

    /// <summary>Lines or samples refused for any reason (listed or not).</summary>
    public int RejectedCount => _rejections.Sum();

    /// <summary>Lines or samples refused for <paramref name="kind"/> (listed or not).</summary>
    public int Rejections(PrometheusErrorKind kind) => _rejections[(int)kind];

    public MetricFamilyInfo? Family(string name)
    {
        foreach (MetricFamilyInfo family in Families)
        {
            if (string.Equals(family.Name, name, StringComparison.Ordinal))
            {
                return family;
            }
        }

        return null;
    }
}
