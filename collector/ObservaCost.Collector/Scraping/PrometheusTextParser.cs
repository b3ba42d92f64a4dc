using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Reads the Prometheus text exposition format 0.0.4 from UTF-8 bytes: <c># HELP</c> and <c># TYPE</c> lines (other
/// comments are skipped), samples with escaped label values, <c>NaN</c>/<c>+Inf</c>/<c>-Inf</c>, optional millisecond
/// timestamps, histogram (<c>_bucket</c>/<c>_sum</c>/<c>_count</c>) and summary samples grouped under their family,
/// untyped samples, blank lines and <c>\r\n</c> line ends. A bad line is reported with its number and reason and the
/// parser goes on with the next line, so the good samples around it are kept.
/// </summary>
/// <remarks>
/// Names and label values are decoded once and reused within a page and across the pages one instance parses, and
/// samples with the same labels share one label array (also across pages), so a page repeated every scrape costs
/// little beyond its sample list and family list. An instance is not thread-safe: use one per scrape loop, or <see cref="ParseOnce"/>.
/// </remarks>
public sealed class PrometheusTextParser
{
    /// <summary>Longest text of a bad line kept in its error, in bytes.</summary>
    public const int MaxErrorTextLength = 200;

    private readonly PrometheusParserOptions _options;
    private readonly Utf8StringPool _pool;
    private readonly List<Label> _labels = [];
    private readonly Dictionary<int, Label[]> _labelSets = [];
    private readonly HashSet<(string Name, LabelSet Labels)> _series = [];
    private int _lastSampleCount;
    private byte[] _unescaped = new byte[256];

    public PrometheusTextParser(PrometheusParserOptions? options = null)
    {
        _options = options ?? new PrometheusParserOptions();
        IReadOnlyList<string> failures = _options.Validate();
        if (failures.Count > 0)
        {
            throw new ArgumentException("Invalid parser options: " + string.Join("; ", failures), nameof(options));
        }

        _pool = new Utf8StringPool(_options.MaxInternedStrings);
    }

    /// <summary>Parses one page with a parser of its own.</summary>
    public static PrometheusParseResult ParseOnce(ReadOnlySpan<byte> utf8, PrometheusParserOptions? options = null) =>
        new PrometheusTextParser(options).Parse(utf8);

    public PrometheusParseResult Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Parse(Encoding.UTF8.GetBytes(text));
    }

    public PrometheusParseResult Parse(ReadOnlySpan<byte> utf8) => Parse(utf8, PrometheusFormat.Text);

    /// <summary>
    /// Parses one page of <paramref name="format"/>. With <paramref name="window"/>, a sample whose own timestamp falls
    /// outside it is refused (<see cref="PrometheusErrorKind.TimestampOutOfBounds"/>).
    /// </summary>
    public PrometheusParseResult Parse(ReadOnlySpan<byte> utf8, PrometheusFormat format, SampleTimeWindow? window = null)
    {
        _series.Clear();
        var page = new Page(_options, _lastSampleCount, format, window, _series);
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        int position = 0;
        int lineNumber = 0;
        while (position < utf8.Length)
        {
            lineNumber++;
            ReadOnlySpan<byte> rest = utf8[position..];
            int end = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? rest : rest[..end];
            position += end < 0 ? rest.Length : end + 1;
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            ParseLine(line, lineNumber, page);
        }

        _lastSampleCount = page.Samples.Count;
        return page.ToResult(lineNumber);
    }

    private void ParseLine(ReadOnlySpan<byte> line, int lineNumber, Page page)
    {
        int i = SkipBlanks(line, 0);
        if (i == line.Length)
        {
            return;
        }

        if (line[i] == (byte)'#')
        {
            string? commentError = ParseComment(line, i + 1, page);
            if (commentError is not null)
            {
                page.AddError(lineNumber, PrometheusErrorKind.Malformed, commentError, line);
            }

            return;
        }

        if (page.Samples.Count >= _options.MaxSamplesPerPage)
        {
            if (page.Rejections[(int)PrometheusErrorKind.SampleLimitReached] == 0)
            {
                page.AddError(
                    lineNumber,
                    PrometheusErrorKind.SampleLimitReached,
                    string.Create(CultureInfo.InvariantCulture, $"more than {_options.MaxSamplesPerPage} samples; this and later samples are dropped"),
                    line);
            }
            else
            {
                page.Rejections[(int)PrometheusErrorKind.SampleLimitReached]++;
            }

            return;
        }

        (PrometheusErrorKind kind, string? error) = ParseSample(line, i, page);
        if (error is not null)
        {
            page.AddError(lineNumber, kind, error, line);
        }
    }

    private string? ParseComment(ReadOnlySpan<byte> line, int i, Page page)
    {
        i = SkipBlanks(line, i);
        int keywordEnd = TokenEnd(line, i);
        ReadOnlySpan<byte> keyword = line[i..keywordEnd];
        bool isHelp = keyword.SequenceEqual("HELP"u8);
        if (!isHelp && !keyword.SequenceEqual("TYPE"u8))
        {
            return null;
        }

        i = SkipBlanks(line, keywordEnd);
        int nameEnd = TokenEnd(line, i);
        ReadOnlySpan<byte> name = line[i..nameEnd];
        if (name.IsEmpty)
        {
            return isHelp ? "HELP line without a metric name" : "TYPE line without a metric name";
        }

        if (!IsMetricName(name))
        {
            return "invalid metric name in " + (isHelp ? "HELP" : "TYPE") + " line";
        }

        i = SkipBlanks(line, nameEnd);
        if (isHelp)
        {
            string help = UnescapeHelp(line[i..]);
            Family family = page.GetOrAddFamily(name, _pool, MetricType.Untyped);
            family.Help = help;
            return null;
        }

        int typeEnd = TokenEnd(line, i);
        ReadOnlySpan<byte> typeToken = line[i..typeEnd];
        if (typeToken.IsEmpty)
        {
            return "TYPE line without a metric type";
        }

        if (SkipBlanks(line, typeEnd) != line.Length)
        {
            return "unexpected text after the metric type";
        }

        if (!TryParseType(typeToken, out MetricType type))
        {
            return "unknown metric type '" + Encoding.UTF8.GetString(typeToken) + "'";
        }

        Family? existing = page.FindFamily(name);
        if (existing is null)
        {
            page.GetOrAddFamily(name, _pool, type);
            return null;
        }

        if (existing.Type != type)
        {
            if (existing.SampleCount > 0)
            {
                return "TYPE line for " + existing.Name + " after its samples";
            }

            existing.Type = type;
        }

        return null;
    }

    private (PrometheusErrorKind Kind, string? Error) ParseSample(ReadOnlySpan<byte> line, int i, Page page)
    {
        const PrometheusErrorKind Malformed = PrometheusErrorKind.Malformed;
        int nameStart = i;
        if (!IsMetricNameStart(line[i]))
        {
            return (Malformed, "metric name expected");
        }

        i++;
        while (i < line.Length && IsMetricNameChar(line[i]))
        {
            i++;
        }

        ReadOnlySpan<byte> name = line[nameStart..i];
        bool hasBlank = i < line.Length && IsBlank(line[i]);
        i = SkipBlanks(line, i);
        _labels.Clear();
        double? le = null;
        double? quantile = null;
        bool leInvalid = false;
        bool quantileInvalid = false;
        if (i < line.Length && line[i] == (byte)'{')
        {
            i++;
            while (true)
            {
                i = SkipBlanks(line, i);
                if (i >= line.Length)
                {
                    return (Malformed, "unterminated label set");
                }

                if (line[i] == (byte)'}')
                {
                    i++;
                    break;
                }

                int labelStart = i;
                if (!IsLabelNameStart(line[i]))
                {
                    return (Malformed, "label name expected");
                }

                i++;
                while (i < line.Length && IsLabelNameChar(line[i]))
                {
                    i++;
                }

                ReadOnlySpan<byte> labelName = line[labelStart..i];
                i = SkipBlanks(line, i);
                if (i >= line.Length || line[i] != (byte)'=')
                {
                    return (Malformed, "'=' expected after label name");
                }

                i = SkipBlanks(line, i + 1);
                if (i >= line.Length || line[i] != (byte)'"')
                {
                    return (Malformed, "label value must be in double quotes");
                }

                i++;
                string? valueError = ReadLabelValue(line, i, out int next, out ReadOnlySpan<byte> value, out PrometheusErrorKind valueKind);
                if (valueError is not null)
                {
                    return (valueKind, valueError);
                }

                i = next;
                if (_labels.Count >= _options.MaxLabelsPerSample)
                {
                    return (PrometheusErrorKind.TooManyLabels, string.Create(CultureInfo.InvariantCulture, $"more than {_options.MaxLabelsPerSample} labels"));
                }

                string labelNameText = _pool.Get(labelName);
                foreach (Label existing in _labels)
                {
                    if (string.Equals(existing.Name, labelNameText, StringComparison.Ordinal))
                    {
                        return (Malformed, "duplicate label name '" + labelNameText + "'");
                    }
                }

                if (labelName.SequenceEqual("le"u8))
                {
                    leInvalid = !TryParseFloat(value, out double parsed);
                    le = parsed;
                }
                else if (labelName.SequenceEqual("quantile"u8))
                {
                    quantileInvalid = !TryParseFloat(value, out double parsed);
                    quantile = parsed;
                }

                _labels.Add(new Label(labelNameText, _pool.Get(value)));
                i = SkipBlanks(line, i);
                if (i < line.Length && line[i] == (byte)',')
                {
                    i++;
                }
                else if (i >= line.Length || line[i] != (byte)'}')
                {
                    return (Malformed, "',' or '}' expected after label value");
                }
            }

            hasBlank = i < line.Length && IsBlank(line[i]);
            i = SkipBlanks(line, i);
        }
        else if (i < line.Length && !hasBlank)
        {
            return (Malformed, "invalid character in metric name");
        }

        if (i >= line.Length)
        {
            return (Malformed, "missing value");
        }

        int valueEnd = TokenEnd(line, i);
        string? numberError = ParseFloat(line[i..valueEnd], out double sampleValue);
        if (numberError is not null)
        {
            return (Malformed, numberError);
        }

        i = SkipBlanks(line, valueEnd);
        long? timestamp = null;
        if (i < line.Length && line[i] != (byte)'#')
        {
            int timestampEnd = TokenEnd(line, i);
            if (!TryParseTimestamp(line[i..timestampEnd], page.Format, out long milliseconds))
            {
                return (Malformed, "invalid timestamp '" + Encoding.UTF8.GetString(line[i..timestampEnd]) + "'");
            }

            timestamp = milliseconds;
            i = SkipBlanks(line, timestampEnd);
        }

        if (i < line.Length)
        {
            string? exemplarError = line[i] == (byte)'#' ? CheckExemplar(line, i + 1) : "unexpected text after the timestamp";
            if (exemplarError is not null)
            {
                return (Malformed, exemplarError);
            }
        }

        if (timestamp is long ms && page.Window is SampleTimeWindow window && (ms < window.EarliestMilliseconds || ms > window.LatestMilliseconds))
        {
            return (PrometheusErrorKind.TimestampOutOfBounds, string.Create(
                CultureInfo.InvariantCulture,
                $"the sample's timestamp {FormatMilliseconds(ms)} is outside the accepted window {FormatMilliseconds(window.EarliestMilliseconds)} to {FormatMilliseconds(window.LatestMilliseconds)}"));
        }

        Family? family = page.FindFamily(name);
        bool isBucket = false;
        if (family is null)
        {
            if (name.EndsWith("_bucket"u8))
            {
                family = page.FindFamily(name[..^"_bucket".Length]);
                isBucket = family is not null;
                family = family?.Type == MetricType.Histogram ? family : null;
            }
            else if (name.EndsWith("_count"u8) || name.EndsWith("_sum"u8))
            {
                int suffix = name.EndsWith("_sum"u8) ? "_sum".Length : "_count".Length;
                family = page.FindFamily(name[..^suffix]);
                family = family?.Type is MetricType.Histogram or MetricType.Summary ? family : null;
            }
            else if (name.EndsWith("_total"u8))
            {
                // A counter declared without its _total suffix, as OpenMetrics-style exporters write it.
                family = page.FindFamily(name[..^"_total".Length]);
                family = family?.Type == MetricType.Counter ? family : null;
            }
            else if (name.EndsWith("_created"u8))
            {
                // OpenMetrics: the creation time of a counter, histogram or summary, part of its family.
                family = page.FindFamily(name[..^"_created".Length]);
                family = family?.Type is MetricType.Counter or MetricType.Histogram or MetricType.Summary ? family : null;
            }
        }
        else if (family.Type == MetricType.Histogram)
        {
            return (Malformed, "a histogram sample must end in _bucket, _sum or _count");
        }

        if (family?.Type == MetricType.Histogram && isBucket && (le is null || leInvalid))
        {
            return (Malformed, "histogram bucket without a valid 'le' label");
        }

        if (family?.Type == MetricType.Summary && family.NameMatches(name) && (quantile is null || quantileInvalid))
        {
            return (Malformed, "summary quantile without a valid 'quantile' label");
        }

        string sampleName = family is not null && family.NameMatches(name) ? family.Name : _pool.Get(name);
        LabelSet labelSet = BuildLabelSet();
        if (!page.AddSeries(sampleName, labelSet))
        {
            return (PrometheusErrorKind.DuplicateSeries, "duplicate sample for the series " + sampleName + labelSet + ": the first on the page is kept");
        }

        family ??= page.GetOrAddFamily(name, _pool, MetricType.Untyped);
        family.SampleCount++;
        page.Samples.Add(new PrometheusSample(family.Name, family.Type, sampleName, labelSet, sampleValue, timestamp));
        return (Malformed, null);
    }

    /// <summary>
    /// Reads a label value after its opening quote: the index after the closing quote and the unescaped bytes, or an
    /// error and its kind.
    /// </summary>
    private string? ReadLabelValue(ReadOnlySpan<byte> line, int i, out int next, out ReadOnlySpan<byte> value, out PrometheusErrorKind kind)
    {
        next = 0;
        value = default;
        kind = PrometheusErrorKind.Malformed;
        ReadOnlySpan<byte> rest = line[i..];
        int stop = rest.IndexOfAny((byte)'"', (byte)'\\');
        if (stop < 0)
        {
            return "unterminated label value";
        }

        if (rest[stop] == (byte)'"')
        {
            if (stop > _options.MaxLabelValueLength)
            {
                kind = PrometheusErrorKind.LabelValueTooLong;
                return LabelTooLong();
            }

            next = i + stop + 1;
            value = rest[..stop];
            return CheckUtf8(value, ref kind);
        }

        int length = 0;
        for (int j = 0; j < rest.Length; j++)
        {
            byte b = rest[j];
            if (b == (byte)'"')
            {
                next = i + j + 1;
                value = _unescaped.AsSpan(0, length);
                return CheckUtf8(value, ref kind);
            }

            if (b == (byte)'\\')
            {
                if (j + 1 >= rest.Length)
                {
                    return "unterminated label value";
                }

                j++;
                b = rest[j] switch
                {
                    (byte)'\\' => (byte)'\\',
                    (byte)'"' => (byte)'"',
                    (byte)'n' => (byte)'\n',
                    _ => 0,
                };
                if (b == 0)
                {
                    return "invalid escape sequence '\\" + (char)rest[j] + "' in label value";
                }
            }

            if (length >= _options.MaxLabelValueLength)
            {
                kind = PrometheusErrorKind.LabelValueTooLong;
                return LabelTooLong();
            }

            if (length == _unescaped.Length)
            {
                Array.Resize(ref _unescaped, Math.Min(_unescaped.Length * 2, Math.Max(_options.MaxLabelValueLength, 256)));
            }

            _unescaped[length++] = b;
        }

        return "unterminated label value";
    }

    private static string? CheckUtf8(ReadOnlySpan<byte> value, ref PrometheusErrorKind kind)
    {
        if (System.Text.Unicode.Utf8.IsValid(value))
        {
            return null;
        }

        kind = PrometheusErrorKind.InvalidUtf8;
        return "invalid UTF-8 label value";
    }

    private string LabelTooLong() =>
        string.Create(CultureInfo.InvariantCulture, $"label value longer than {_options.MaxLabelValueLength} bytes");

    private LabelSet BuildLabelSet()
    {
        if (_labels.Count == 0)
        {
            return LabelSet.Empty;
        }

        // Names and values come from the string pool, so equal label sets usually hold the same string instances:
        // hash those references, and confirm a hit by content.
        var hash = default(HashCode);
        foreach (Label label in _labels)
        {
            hash.Add(RuntimeHelpers.GetHashCode(label.Name));
            hash.Add(RuntimeHelpers.GetHashCode(label.Value));
        }

        int key = hash.ToHashCode();
        if (_labelSets.TryGetValue(key, out Label[]? cached) && SameLabels(cached, _labels))
        {
            return new LabelSet(cached);
        }

        if (_labelSets.Count >= Math.Max(_options.MaxInternedStrings, 1))
        {
            _labelSets.Clear();
        }

        Label[] created = [.. _labels];
        _labelSets[key] = created;
        return new LabelSet(created);
    }

    private static bool SameLabels(Label[] a, List<Label> b)
    {
        if (a.Length != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i].Value, b[i].Value, StringComparison.Ordinal) || !string.Equals(a[i].Name, b[i].Name, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private string UnescapeHelp(ReadOnlySpan<byte> text)
    {
        if (text.IndexOf((byte)'\\') < 0)
        {
            return _pool.Get(text);
        }

        byte[] buffer = new byte[text.Length];
        int length = 0;
        for (int j = 0; j < text.Length; j++)
        {
            byte b = text[j];
            if (b == (byte)'\\' && j + 1 < text.Length && text[j + 1] is (byte)'\\' or (byte)'n')
            {
                j++;
                b = text[j] == (byte)'n' ? (byte)'\n' : (byte)'\\';
            }

            buffer[length++] = b;
        }

        return _pool.Get(buffer.AsSpan(0, length));
    }

    /// <summary>
    /// Parses a sample value or a <c>le</c>/<c>quantile</c> bound as Prometheus does: Go's ParseFloat without the
    /// hexadecimal and underscore forms Prometheus refuses ("unsupported character in float"): decimal and exponent
    /// notation, <c>NaN</c> (any case, unsigned), <c>Inf</c>/<c>+Inf</c>/<c>-Inf</c> (any case, also <c>Infinity</c>).
    /// A finite number beyond the range of a double is refused, as Go's ParseFloat refuses it.
    /// </summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> token, out double value) => ParseFloat(token, out value) is null;

    /// <summary>The same parse as <see cref="TryParseFloat"/>, with the reason a token is refused (null when it is read).</summary>
    public static string? ParseFloat(ReadOnlySpan<byte> token, out double value)
    {
        ReadOnlySpan<byte> unsigned = token;
        bool signed = false;
        bool negative = false;
        if (!unsigned.IsEmpty && unsigned[0] is (byte)'+' or (byte)'-')
        {
            signed = true;
            negative = unsigned[0] == (byte)'-';
            unsigned = unsigned[1..];
        }

        if (Ascii.EqualsIgnoreCase(unsigned, "inf"u8) || Ascii.EqualsIgnoreCase(unsigned, "infinity"u8))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return null;
        }

        if (!signed && Ascii.EqualsIgnoreCase(unsigned, "nan"u8))
        {
            value = double.NaN;
            return null;
        }

        value = 0;
        if (unsigned.IndexOfAny("xXpP_"u8) >= 0)
        {
            return "invalid value '" + Encoding.UTF8.GetString(token) + "': hexadecimal floats and '_' are refused, as Prometheus refuses them";
        }

        bool digits = false;
        foreach (byte b in unsigned)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-'))
            {
                return "invalid value '" + Encoding.UTF8.GetString(token) + "'";
            }

            digits |= b is >= (byte)'0' and <= (byte)'9';
        }

        if (!digits || !double.TryParse(
            token,
            NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture,
            out value))
        {
            value = 0;
            return "invalid value '" + Encoding.UTF8.GetString(token) + "'";
        }

        if (double.IsInfinity(value))
        {
            value = 0;
            return "value '" + Encoding.UTF8.GetString(token) + "' is out of the range of a 64-bit float";
        }

        return null;
    }

    /// <summary>
    /// A sample timestamp: integer milliseconds in the text format, (fractional) seconds in OpenMetrics; read as
    /// milliseconds.
    /// </summary>
    private static bool TryParseTimestamp(ReadOnlySpan<byte> token, PrometheusFormat format, out long milliseconds)
    {
        if (format == PrometheusFormat.Text)
        {
            return long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out milliseconds);
        }

        milliseconds = 0;
        if (ParseFloat(token, out double seconds) is not null || !double.IsFinite(seconds) || Math.Abs(seconds) > 9e15)
        {
            return false;
        }

        milliseconds = (long)Math.Round(seconds * 1000);
        return true;
    }

    private static string FormatMilliseconds(long milliseconds) =>
        milliseconds is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).ToString("O", CultureInfo.InvariantCulture)
            : milliseconds.ToString(CultureInfo.InvariantCulture) + " ms";

    /// <summary>
    /// Checks an OpenMetrics exemplar after its <c>#</c>: <c>{labels} value [timestamp]</c>. The exemplar is read and
    /// dropped (ObservaCost keeps no traces); a malformed one refuses its line, as Prometheus refuses it.
    /// </summary>
    private static string? CheckExemplar(ReadOnlySpan<byte> line, int i)
    {
        i = SkipBlanks(line, i);
        if (i >= line.Length || line[i] != (byte)'{')
        {
            return "'{' expected after '#' of an exemplar";
        }

        i++;
        bool quoted = false;
        while (i < line.Length && (quoted || line[i] != (byte)'}'))
        {
            if (line[i] == (byte)'\\' && quoted)
            {
                i++;
            }
            else if (line[i] == (byte)'"')
            {
                quoted = !quoted;
            }

            i++;
        }

        if (i >= line.Length)
        {
            return "unterminated exemplar label set";
        }

        i = SkipBlanks(line, i + 1);
        int valueEnd = TokenEnd(line, i);
        if (i == valueEnd || ParseFloat(line[i..valueEnd], out _) is not null)
        {
            return "invalid exemplar value";
        }

        i = SkipBlanks(line, valueEnd);
        if (i < line.Length)
        {
            int timestampEnd = TokenEnd(line, i);
            if (ParseFloat(line[i..timestampEnd], out _) is not null || SkipBlanks(line, timestampEnd) != line.Length)
            {
                return "invalid exemplar timestamp";
            }
        }

        return null;
    }

    private static bool TryParseType(ReadOnlySpan<byte> token, out MetricType type)
    {
        type = MetricType.Untyped;
        if (Ascii.EqualsIgnoreCase(token, "counter"u8))
        {
            type = MetricType.Counter;
        }
        else if (Ascii.EqualsIgnoreCase(token, "gauge"u8))
        {
            type = MetricType.Gauge;
        }
        else if (Ascii.EqualsIgnoreCase(token, "histogram"u8))
        {
            type = MetricType.Histogram;
        }
        else if (Ascii.EqualsIgnoreCase(token, "summary"u8))
        {
            type = MetricType.Summary;
        }
        else if (!Ascii.EqualsIgnoreCase(token, "untyped"u8) && !Ascii.EqualsIgnoreCase(token, "unknown"u8)
            && !Ascii.EqualsIgnoreCase(token, "info"u8) && !Ascii.EqualsIgnoreCase(token, "stateset"u8) && !Ascii.EqualsIgnoreCase(token, "gaugehistogram"u8))
        {
            // OpenMetrics info, stateset and gaugehistogram families are read as untyped samples.
            return false;
        }

        return true;
    }

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t';

    private static int SkipBlanks(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && IsBlank(line[i]))
        {
            i++;
        }

        return i;
    }

    private static int TokenEnd(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && !IsBlank(line[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsMetricNameStart(byte b) => b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (byte)'_' or (byte)':';

    private static bool IsMetricNameChar(byte b) => IsMetricNameStart(b) || b is >= (byte)'0' and <= (byte)'9';

    private static bool IsLabelNameStart(byte b) => b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (byte)'_';

    private static bool IsLabelNameChar(byte b) => IsLabelNameStart(b) || b is >= (byte)'0' and <= (byte)'9';

    private static bool IsMetricName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || !IsMetricNameStart(name[0]))
        {
            return false;
        }

        foreach (byte b in name)
        {
            if (!IsMetricNameChar(b))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class Family(string name, MetricType type)
    {
        public string Name { get; } = name;

        public MetricType Type { get; set; } = type;

        public string? Help { get; set; }

        public int SampleCount { get; set; }

        public bool NameMatches(ReadOnlySpan<byte> name) => name.Length == Name.Length && Ascii.Equals(name, Name);
    }

    /// <summary>The state of one page being parsed.</summary>
    private sealed class Page
    {
        private readonly Dictionary<string, Family> _families = new(Utf8Comparer.Instance);
        private readonly Dictionary<string, Family>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
        private readonly List<Family> _order = [];
        private readonly List<PrometheusParseError> _errors = [];
        private readonly HashSet<(string Name, LabelSet Labels)> _series;
        private readonly int _maxErrors;

        // series: the parser's set of series, emptied, reused from page to page.
        public Page(PrometheusParserOptions options, int expectedSamples, PrometheusFormat format, SampleTimeWindow? window, HashSet<(string Name, LabelSet Labels)> series)
        {
            _maxErrors = options.MaxErrorsListed;
            _lookup = _families.GetAlternateLookup<ReadOnlySpan<byte>>();
            Samples = new List<PrometheusSample>(Math.Min(expectedSamples, options.MaxSamplesPerPage));
            _series = series;
            Format = format;
            Window = window;
        }

        public List<PrometheusSample> Samples { get; }

        public PrometheusFormat Format { get; }

        public SampleTimeWindow? Window { get; }

        /// <summary>Records a series seen on the page; false when it was already there.</summary>
        public bool AddSeries(string name, LabelSet labels) => _series.Add((name, labels));

        public int[] Rejections { get; } = new int[PrometheusErrorKinds.Count];

        public Family? FindFamily(ReadOnlySpan<byte> name) => _lookup.TryGetValue(name, out Family? family) ? family : null;

        public Family GetOrAddFamily(ReadOnlySpan<byte> name, Utf8StringPool pool, MetricType type)
        {
            if (_lookup.TryGetValue(name, out Family? family))
            {
                return family;
            }

            family = new Family(pool.Get(name), type);
            _families.Add(family.Name, family);
            _order.Add(family);
            return family;
        }

        public void AddError(int line, PrometheusErrorKind kind, string reason, ReadOnlySpan<byte> text)
        {
            Rejections[(int)kind]++;
            if (_errors.Count < _maxErrors)
            {
                ReadOnlySpan<byte> kept = text.Length > MaxErrorTextLength ? text[..MaxErrorTextLength] : text;
                _errors.Add(new PrometheusParseError(line, kind, reason, Encoding.UTF8.GetString(kept)));
            }
        }

        public PrometheusParseResult ToResult(int lineCount) =>
            new(
                Samples,
                _order.ConvertAll(f => new MetricFamilyInfo(f.Name, f.Type, f.Help, f.SampleCount)),
                _errors,
                lineCount,
                Rejections);
    }
}
