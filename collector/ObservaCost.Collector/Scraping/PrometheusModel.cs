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
        MalformedLines = rejections[(int)PrometheusErrorKind.Malformed];
        LabelValueTooLongRejections = rejections[(int)PrometheusErrorKind.LabelValueTooLong];
        TooManyLabelsRejections = rejections[(int)PrometheusErrorKind.TooManyLabels];
        SamplesOverLimit = rejections[(int)PrometheusErrorKind.SampleLimitReached];
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Families in order of first appearance, with their sample counts.</summary>
    public IReadOnlyList<MetricFamilyInfo> Families { get; }

    /// <summary>The first errors, each with its line number (at most <see cref="PrometheusParserOptions.MaxErrorsListed"/>).</summary>
    public IReadOnlyList<PrometheusParseError> Errors { get; }

    public int LineCount { get; }

    public int MalformedLines { get; }

    public int LabelValueTooLongRejections { get; }

    public int TooManyLabelsRejections { get; }

    /// <summary>Samples dropped because the page went over <see cref="PrometheusParserOptions.MaxSamplesPerPage"/>.</summary>
    public int SamplesOverLimit { get; }

    /// <summary>Lines or samples refused for any reason (listed or not).</summary>
    public int RejectedCount => MalformedLines + LabelValueTooLongRejections + TooManyLabelsRejections + SamplesOverLimit;

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
