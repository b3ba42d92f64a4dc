using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ObservaCost.Storage.LineProtocol;

/// <summary>A point read from line protocol.</summary>
public sealed record ParsedPoint(
    string Measurement,
    IReadOnlyList<KeyValuePair<string, string>> Tags,
    IReadOnlyList<KeyValuePair<string, FieldValue>> Fields,
    long TimestampNanoseconds)
{
    /// <summary>Where the point's line starts in the parsed buffer.</summary>
    public int SourceOffset { get; init; }

    /// <summary>Length of the point's line in the parsed buffer, without its line end.</summary>
    public int SourceLength { get; init; }

    /// <summary>True when the source line carried its own timestamp.</summary>
    public bool HadTimestamp { get; init; }

    public string? GetTag(string key)
    {
        foreach (KeyValuePair<string, string> tag in Tags)
        {
            if (string.Equals(tag.Key, key, StringComparison.Ordinal))
            {
                return tag.Value;
            }
        }

        return null;
    }

    public FieldValue? GetField(string key)
    {
        foreach (KeyValuePair<string, FieldValue> field in Fields)
        {
            if (string.Equals(field.Key, key, StringComparison.Ordinal))
            {
                return field.Value;
            }
        }

        return null;
    }
}

/// <summary>
/// What a scan knows of one valid line without building strings: where it is, its measurement, a hash of its series
/// (measurement plus tag set, independent of tag order), its tag count and longest tag value, where its fields are
/// (read them with <see cref="LineProtocolParser.EnumerateFields"/>), whether a field is unsigned (<c>5u</c>, which
/// InfluxDB 1.x refuses: the line must be rewritten with <c>i</c>), and its time.
/// </summary>
public readonly record struct LineSummary(
    int Offset,
    int Length,
    int MeasurementOffset,
    int MeasurementLength,
    ulong MeasurementHash,
    ulong SeriesHash,
    int TagCount,
    int MaxTagValueBytes,
    long TimestampNanoseconds,
    bool HadTimestamp)
{
    /// <summary>Where the field set starts in the scanned buffer.</summary>
    public int FieldsOffset { get; init; }

    /// <summary>Length of the field set, up to the space before the timestamp or the line end.</summary>
    public int FieldsLength { get; init; }

    /// <summary>True when a field is an unsigned integer (<c>u</c> suffix).</summary>
    public bool HasUnsigned { get; init; }

    /// <summary>The 1-based number of the line in the scanned buffer.</summary>
    public int LineNumber { get; init; }
}

/// <summary>A field key (raw, as escaped on the line) and the type of its value, read from a valid field set.</summary>
public readonly ref struct FieldKey(ReadOnlySpan<byte> rawKey, FieldKind kind)
{
    public ReadOnlySpan<byte> RawKey { get; } = rawKey;

    public FieldKind Kind { get; } = kind;
}

/// <summary>Walks the field set of a line that <see cref="LineProtocolParser.Scan"/> found valid.</summary>
public ref struct FieldKeyEnumerator
{
    private readonly ReadOnlySpan<byte> _fields;
    private int _pos;

    internal FieldKeyEnumerator(ReadOnlySpan<byte> fields)
    {
        _fields = fields;
        _pos = 0;
        Current = default;
    }

    public FieldKey Current { get; private set; }

    public readonly FieldKeyEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_pos >= _fields.Length)
        {
            return false;
        }

        int keyStart = _pos;
        while (_pos < _fields.Length && _fields[_pos] != (byte)'=')
        {
            _pos += _fields[_pos] == (byte)'\\' && _pos + 1 < _fields.Length && _fields[_pos + 1] is (byte)',' or (byte)' ' or (byte)'=' ? 2 : 1;
        }

        ReadOnlySpan<byte> key = _fields[keyStart.._pos];
        _pos++;
        FieldKind kind;
        if (_pos < _fields.Length && _fields[_pos] == (byte)'"')
        {
            kind = FieldKind.String;
            _pos++;
            while (_pos < _fields.Length && _fields[_pos] != (byte)'"')
            {
                _pos += _fields[_pos] == (byte)'\\' && _pos + 1 < _fields.Length && _fields[_pos + 1] is (byte)'"' or (byte)'\\' ? 2 : 1;
            }

            _pos++;
        }
        else
        {
            int valueStart = _pos;
            while (_pos < _fields.Length && _fields[_pos] != (byte)',')
            {
                _pos++;
            }

            ReadOnlySpan<byte> value = _fields[valueStart.._pos];
            kind = value[^1] is (byte)'i' or (byte)'u' ? FieldKind.Integer
                : value[0] is (byte)'t' or (byte)'T' or (byte)'f' or (byte)'F' ? FieldKind.Boolean
                : FieldKind.Float;
        }

        _pos++; // the comma, or past the end
        Current = new FieldKey(key, kind);
        return true;
    }
}

/// <summary>FNV-1a 64-bit hashes of raw line-protocol bytes; tag hashes are summed so tag order does not matter.</summary>
public static class SeriesHash
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Of(ReadOnlySpan<byte> bytes)
    {
        ulong hash = Offset;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }
}

/// <summary>A line that could not be read, with its 1-based line number and the reason.</summary>
public sealed record LineError(int Line, string Reason, string Text)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"line {Line}: {Reason}: {Text}");
}

/// <summary>
/// Reads InfluxDB line protocol as InfluxDB 1.x does: a backslash escapes the characters that would end the current
/// element and is literal elsewhere; string fields unescape <c>\"</c> and <c>\\</c> and may span lines. A bad line is
/// reported with its number and reason and the parser goes on with the next line.
/// </summary>
public static class LineProtocolParser
{
    /// <summary>Longest text of a bad line kept in its error.</summary>
    public const int MaxErrorTextLength = 200;

    /// <summary>InfluxDB 1.x's longest key: series key (measurement and tags as written) plus "#!~#" plus field key.</summary>
    public const int MaxKeyBytes = 65_535;

    /// <summary>Earliest time InfluxDB stores, in nanoseconds (models.MinNanoTime).</summary>
    public const long MinTimestampNanoseconds = -9_223_372_036_854_775_806;

    /// <summary>Latest time InfluxDB stores, in nanoseconds (models.MaxNanoTime).</summary>
    public const long MaxTimestampNanoseconds = 9_223_372_036_854_775_806;

    private const int FieldKeySeparatorBytes = 4;

    /// <summary>
    /// The field keys and value types of the field set of a line <see cref="Scan"/> found valid: the bytes at
    /// <see cref="LineSummary.FieldsOffset"/>, <see cref="LineSummary.FieldsLength"/> long.
    /// </summary>
    public static FieldKeyEnumerator EnumerateFields(ReadOnlySpan<byte> fieldSet) => new(fieldSet);

    /// <summary>
    /// Parses <paramref name="utf8"/>. Points without a timestamp get <paramref name="defaultTimestampNanoseconds"/>.
    /// Returns the number of points read.
    /// </summary>
    public static int Parse(
        ReadOnlySpan<byte> utf8,
        WritePrecision precision,
        long defaultTimestampNanoseconds,
        ICollection<ParsedPoint> points,
        ICollection<LineError> errors)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(errors);
        var reader = new Reader(utf8, precision, defaultTimestampNanoseconds);
        int count = 0;
        while (!reader.AtEnd)
        {
            int lineNumber = reader.LineNumber;
            int start = reader.Position;
            if (reader.SkipBlankOrComment())
            {
                continue;
            }

            if (reader.TryReadPoint(out ParsedPoint? point, out string? reason))
            {
                points.Add(point);
                count++;
            }
            else
            {
                reader.SkipToEndOfLine();
                errors.Add(new LineError(lineNumber, reason, Excerpt(utf8[start..reader.Position])));
            }
        }

        return count;
    }

    /// <summary>
    /// Checks every line of <paramref name="utf8"/> with the same rules as <see cref="Parse"/> but builds no strings:
    /// each valid line is handed to <paramref name="onLine"/> as a <see cref="LineSummary"/>; when it returns true the
    /// line is parsed in full and <paramref name="onPoint"/> receives the <see cref="ParsedPoint"/>.
    /// </summary>
    public static void Scan(
        ReadOnlySpan<byte> utf8,
        WritePrecision precision,
        long defaultTimestampNanoseconds,
        Func<LineSummary, bool> onLine,
        Action<ParsedPoint> onPoint,
        ICollection<LineError> errors)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        ArgumentNullException.ThrowIfNull(onPoint);
        ArgumentNullException.ThrowIfNull(errors);
        var reader = new Reader(utf8, precision, defaultTimestampNanoseconds);
        while (!reader.AtEnd)
        {
            int lineNumber = reader.LineNumber;
            int start = reader.Position;
            if (reader.SkipBlankOrComment())
            {
                continue;
            }

            int lineStart = reader.Position;
            if (!reader.TryReadLine(materialize: false, out LineSummary summary, out _, out string? reason))
            {
                reader.SkipToEndOfLine();
                errors.Add(new LineError(lineNumber, reason, Excerpt(utf8[start..reader.Position])));
                continue;
            }

            if (onLine(summary with { LineNumber = lineNumber }))
            {
                var again = new Reader(utf8[lineStart..], precision, defaultTimestampNanoseconds);
                again.TryReadLine(materialize: true, out _, out ParsedPoint? point, out _);
                onPoint(point! with { SourceOffset = lineStart });
            }
        }
    }

    /// <summary>
    /// Finds where each record of <paramref name="utf8"/> lies (a point's line, valid or not, with its line end;
    /// blank and comment lines belong to no record), with the same line rules as <see cref="Parse"/>: a string field
    /// that spans lines stays in one record. Used to split a batch between points.
    /// </summary>
    public static void SplitRecords(ReadOnlySpan<byte> utf8, ICollection<Range> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var reader = new Reader(utf8, WritePrecision.Nanoseconds, 0);
        while (!reader.AtEnd)
        {
            if (reader.SkipBlankOrComment())
            {
                continue;
            }

            int start = reader.Position;
            if (!reader.TryReadLine(materialize: false, out _, out _, out _))
            {
                reader.SkipToEndOfLine();
            }

            records.Add(new Range(start, reader.Position));
        }
    }

    private static string Excerpt(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd("\r\n"u8);
        string text = Encoding.UTF8.GetString(line.Length > MaxErrorTextLength ? line[..MaxErrorTextLength] : line);
        return line.Length > MaxErrorTextLength ? text + "…" : text;
    }

    /// <summary>
    /// The keys of one line's tags or fields, as ranges of the buffer, to find a key written twice: pairwise for a
    /// few keys, by sorted hashes beyond (O(k log k)). One per thread, reused line after line.
    /// </summary>
    private sealed class KeyList
    {
        private const int PairwiseLimit = 16;
        private const int RetainedLimit = 1024;

        [ThreadStatic]
        private static KeyList? t_tags;

        [ThreadStatic]
        private static KeyList? t_fields;

        private int[] _starts = new int[PairwiseLimit];
        private int[] _ends = new int[PairwiseLimit];
        private ulong[] _hashes = new ulong[PairwiseLimit];

        public static KeyList Tags => (t_tags ??= new KeyList()).Cleared();

        public static KeyList Fields => (t_fields ??= new KeyList()).Cleared();

        public int Count { get; private set; }

        public void Add(int start, int end)
        {
            if (Count == _starts.Length)
            {
                Array.Resize(ref _starts, Count * 2);
                Array.Resize(ref _ends, Count * 2);
                Array.Resize(ref _hashes, Count * 2);
            }

            _starts[Count] = start;
            _ends[Count] = end;
            Count++;
        }

        /// <summary>The first key found twice, or null.</summary>
        public byte[]? FindDuplicate(ReadOnlySpan<byte> data)
        {
            if (Count <= PairwiseLimit)
            {
                for (int i = 1; i < Count; i++)
                {
                    ReadOnlySpan<byte> key = data[_starts[i].._ends[i]];
                    for (int j = 0; j < i; j++)
                    {
                        if (key.SequenceEqual(data[_starts[j].._ends[j]]))
                        {
                            return key.ToArray();
                        }
                    }
                }

                return null;
            }

            Span<int> order = Count <= 256 ? stackalloc int[Count] : new int[Count];
            for (int i = 0; i < Count; i++)
            {
                _hashes[i] = SeriesHash.Of(data[_starts[i].._ends[i]]);
                order[i] = i;
            }

            _hashes.AsSpan(0, Count).Sort(order);
            for (int i = 1; i < Count; i++)
            {
                if (_hashes[i] != _hashes[i - 1])
                {
                    continue;
                }

                // Equal hashes: compare the keys of the whole run.
                for (int j = i - 1; j >= 0 && _hashes[j] == _hashes[i]; j--)
                {
                    ReadOnlySpan<byte> key = data[_starts[order[i]].._ends[order[i]]];
                    if (key.SequenceEqual(data[_starts[order[j]].._ends[order[j]]]))
                    {
                        return key.ToArray();
                    }
                }
            }

            return null;
        }

        private KeyList Cleared()
        {
            Count = 0;
            if (_starts.Length > RetainedLimit)
            {
                // A hostile line with thousands of keys does not pin its arrays to the thread.
                _starts = new int[PairwiseLimit];
                _ends = new int[PairwiseLimit];
                _hashes = new ulong[PairwiseLimit];
            }

            return this;
        }
    }

    private ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly WritePrecision _precision;
        private readonly long _defaultTimestamp;
        private int _pos;

        public Reader(ReadOnlySpan<byte> data, WritePrecision precision, long defaultTimestamp)
        {
            _data = data;
            _precision = precision;
            _defaultTimestamp = defaultTimestamp;
            LineNumber = 1;
        }

        public readonly bool AtEnd => _pos >= _data.Length;

        public readonly int Position => _pos;

        public int LineNumber { get; private set; }

        public bool SkipBlankOrComment()
        {
            int p = _pos;
            while (p < _data.Length && _data[p] is (byte)' ' or (byte)'\t' or (byte)'\r')
            {
                p++;
            }

            if (p >= _data.Length)
            {
                _pos = p;
                return true;
            }

            if (_data[p] == (byte)'\n' || _data[p] == (byte)'#')
            {
                _pos = p;
                SkipToEndOfLine();
                return true;
            }

            _pos = p;
            return false;
        }

        public void SkipToEndOfLine()
        {
            int i = _data[_pos..].IndexOf((byte)'\n');
            if (i < 0)
            {
                _pos = _data.Length;
                return;
            }

            _pos += i + 1;
            LineNumber++;
        }

        public bool TryReadPoint([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParsedPoint? point, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            bool ok = TryReadLine(materialize: true, out LineSummary summary, out point, out reason);
            return ok && point is not null;
        }

        /// <summary>
        /// Reads one line: always checks its syntax and summarises it; with <paramref name="materialize"/> also builds
        /// the <see cref="ParsedPoint"/> (names and values as strings).
        /// </summary>
        public bool TryReadLine(bool materialize, out LineSummary summary, out ParsedPoint? point, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            point = null;
            summary = default;
            int lineStart = _pos;
            (int Start, int End, bool Escaped) measurementRange = ScanIdentifier(escapeEquals: false, stopAtEquals: false, out byte stop);
            if (measurementRange.End == measurementRange.Start)
            {
                reason = "missing measurement";
                return false;
            }

            ulong measurementHash = SeriesHash.Of(_data[measurementRange.Start..measurementRange.End]);
            ulong tagHash = 0;
            int tagCount = 0;
            int maxTagValueBytes = 0;
            long seriesKeyBytes = measurementRange.End - measurementRange.Start;
            KeyList tagKeys = KeyList.Tags;
            List<KeyValuePair<string, string>>? tags = null;
            while (stop == (byte)',')
            {
                _pos++;
                (int Start, int End, bool Escaped) key = ScanIdentifier(escapeEquals: true, stopAtEquals: true, out stop);
                if (key.End == key.Start || stop != (byte)'=')
                {
                    reason = "invalid tag format: a tag needs key=value";
                    return false;
                }

                _pos++;
                (int Start, int End, bool Escaped) value = ScanIdentifier(escapeEquals: true, stopAtEquals: true, out stop);
                if (value.End == value.Start)
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"invalid tag format: the tag '{Text(key, true)}' has no value");
                    return false;
                }

                if (stop == (byte)'=')
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"invalid tag format: the value of the tag '{Text(key, true)}' has an unescaped '=' (write \\=)");
                    return false;
                }

                if (_data[key.Start..key.End].SequenceEqual("time"u8))
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"invalid tag key: input tag \"time\" on measurement \"{Text(measurementRange, false)}\" is invalid");
                    return false;
                }

                tagKeys.Add(key.Start, key.End);
                tagCount++;
                seriesKeyBytes += 2 + (key.End - key.Start) + (value.End - value.Start);
                maxTagValueBytes = Math.Max(maxTagValueBytes, value.End - value.Start);
                tagHash += SeriesHash.Of(_data[key.Start..value.End]);
                if (materialize)
                {
                    tags ??= new List<KeyValuePair<string, string>>(8);
                    tags.Add(new(Text(key, true), Text(value, true)));
                }
            }

            if (stop != (byte)' ')
            {
                reason = "missing fields";
                return false;
            }

            if (tagKeys.FindDuplicate(_data) is { } duplicateTag)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"duplicate tags: the tag '{Encoding.UTF8.GetString(duplicateTag)}' appears more than once");
                return false;
            }

            _pos++;
            int fieldsStart = _pos;
            List<KeyValuePair<string, FieldValue>>? fields = materialize ? new List<KeyValuePair<string, FieldValue>>(8) : null;
            KeyList fieldKeys = KeyList.Fields;
            int longestFieldKey = 0;
            bool hasUnsigned = false;
            while (true)
            {
                (int Start, int End, bool Escaped) keyRange = ScanIdentifier(escapeEquals: true, stopAtEquals: true, out stop);
                if (keyRange.End == keyRange.Start || stop != (byte)'=')
                {
                    reason = fieldKeys.Count == 0 ? "missing fields" : "invalid field format: a field needs key=value";
                    return false;
                }

                if (_data[keyRange.Start..keyRange.End].SequenceEqual("time"u8))
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"invalid field name: input field \"time\" on measurement \"{Text(measurementRange, false)}\" is invalid");
                    return false;
                }

                _pos++;
                if (!TryReadFieldValue(keyRange, out FieldValue value, out bool unsigned, out reason))
                {
                    return false;
                }

                hasUnsigned |= unsigned;
                fieldKeys.Add(keyRange.Start, keyRange.End);
                longestFieldKey = Math.Max(longestFieldKey, keyRange.End - keyRange.Start);
                fields?.Add(new(Text(keyRange, true), value));

                if (_pos < _data.Length && _data[_pos] == (byte)',')
                {
                    _pos++;
                    continue;
                }

                break;
            }

            int fieldsEnd = _pos;
            if (fieldKeys.FindDuplicate(_data) is { } duplicateField)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"duplicate fields: the field '{Encoding.UTF8.GetString(duplicateField)}' appears more than once");
                return false;
            }

            // InfluxDB keys each value by series key + "#!~#" + field key, as written on the line, and refuses a key
            // longer than 65,535 bytes.
            long keyBytes = seriesKeyBytes > MaxKeyBytes ? seriesKeyBytes : seriesKeyBytes + FieldKeySeparatorBytes + longestFieldKey;
            if (keyBytes > MaxKeyBytes)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"max key length exceeded: {keyBytes} > {MaxKeyBytes}");
                return false;
            }

            long timestamp = _defaultTimestamp;
            bool hadTimestamp = false;
            if (_pos < _data.Length && _data[_pos] == (byte)' ')
            {
                _pos++;
                int end = _pos;
                while (end < _data.Length && _data[end] is not ((byte)'\n' or (byte)'\r' or (byte)' '))
                {
                    end++;
                }

                ReadOnlySpan<byte> ts = _data[_pos..end];
                if (ts.Length > 0)
                {
                    if (ts[0] == (byte)'+' || !Utf8Parser.TryParse(ts, out long raw, out int consumed) || consumed != ts.Length)
                    {
                        reason = "invalid timestamp: not an integer";
                        return false;
                    }

                    long unit = _precision.NanosecondsPerUnit();
                    if (raw > MaxTimestampNanoseconds / unit || raw < MinTimestampNanoseconds / unit)
                    {
                        reason = string.Create(CultureInfo.InvariantCulture, $"invalid timestamp: out of range (time outside range {MinTimestampNanoseconds} - {MaxTimestampNanoseconds})");
                        return false;
                    }

                    timestamp = raw * unit;
                    hadTimestamp = true;
                }

                _pos = end;
            }

            int lineEnd = _pos;
            while (_pos < _data.Length && _data[_pos] is (byte)' ' or (byte)'\r')
            {
                _pos++;
            }

            if (_pos < _data.Length && _data[_pos] != (byte)'\n')
            {
                reason = "unexpected text after the timestamp";
                return false;
            }

            if (_pos < _data.Length)
            {
                _pos++;
                LineNumber++;
            }

            summary = new LineSummary(lineStart, lineEnd - lineStart, measurementRange.Start, measurementRange.End - measurementRange.Start,
                measurementHash, measurementHash + tagHash, tagCount, maxTagValueBytes, timestamp, hadTimestamp)
            {
                FieldsOffset = fieldsStart,
                FieldsLength = fieldsEnd - fieldsStart,
                HasUnsigned = hasUnsigned,
            };
            if (materialize)
            {
                point = new ParsedPoint(Text(measurementRange, false), (IReadOnlyList<KeyValuePair<string, string>>?)tags ?? [], fields!, timestamp)
                {
                    SourceOffset = lineStart,
                    SourceLength = lineEnd - lineStart,
                    HadTimestamp = hadTimestamp,
                };
            }

            reason = null;
            return true;
        }

        /// <summary>Scans up to an unescaped comma, space, line end (or equals sign); leaves the stop byte unread.</summary>
        private (int Start, int End, bool Escaped) ScanIdentifier(bool escapeEquals, bool stopAtEquals, out byte stop)
        {
            int start = _pos;
            bool escaped = false;
            int p = _pos;
            while (p < _data.Length)
            {
                byte b = _data[p];
                if (b == (byte)'\\' && p + 1 < _data.Length)
                {
                    byte next = _data[p + 1];
                    if (next is (byte)',' or (byte)' ' || (escapeEquals && next == (byte)'='))
                    {
                        escaped = true;
                        p += 2;
                        continue;
                    }
                }

                if (b is (byte)',' or (byte)' ' or (byte)'\n' or (byte)'\r' || (stopAtEquals && b == (byte)'='))
                {
                    break;
                }

                p++;
            }

            _pos = p;
            stop = p < _data.Length ? _data[p] : (byte)0;
            return (start, p, escaped);
        }

        /// <summary>The unescaped text of a scanned identifier.</summary>
        private readonly string Text((int Start, int End, bool Escaped) range, bool escapeEquals)
        {
            ReadOnlySpan<byte> raw = _data[range.Start..range.End];
            if (!range.Escaped)
            {
                return Encoding.UTF8.GetString(raw);
            }

            Span<byte> unescaped = raw.Length <= 512 ? stackalloc byte[raw.Length] : new byte[raw.Length];
            int w = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] == (byte)'\\' && i + 1 < raw.Length &&
                    (raw[i + 1] is (byte)',' or (byte)' ' || (escapeEquals && raw[i + 1] == (byte)'=')))
                {
                    i++;
                }

                unescaped[w++] = raw[i];
            }

            return Encoding.UTF8.GetString(unescaped[..w]);
        }

        private bool TryReadFieldValue((int Start, int End, bool Escaped) keyRange, out FieldValue value, out bool unsigned, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            value = default;
            unsigned = false;
            if (_pos >= _data.Length)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"invalid field format: the field '{Text(keyRange, true)}' has no value");
                return false;
            }

            if (_data[_pos] == (byte)'"')
            {
                return TryReadString(keyRange, out value, out reason);
            }

            int end = _pos;
            while (end < _data.Length && _data[end] is not ((byte)',' or (byte)' ' or (byte)'\n' or (byte)'\r'))
            {
                end++;
            }

            ReadOnlySpan<byte> text = _data[_pos..end];
            _pos = end;
            if (text.Length == 0)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"invalid field format: the field '{Text(keyRange, true)}' has no value");
                return false;
            }

            byte last = text[^1];
            if (last is (byte)'i' or (byte)'u')
            {
                // InfluxDB's grammar: -?[0-9]+i and [0-9]+u (no '+', no spaces, 64-bit).
                ReadOnlySpan<byte> digits = text[..^1];
                if (IsInteger(digits, allowMinus: last == (byte)'i') &&
                    Utf8Parser.TryParse(digits, out long integer, out int used) && used == digits.Length)
                {
                    value = FieldValue.FromInteger(integer);
                    unsigned = last == (byte)'u';
                    reason = null;
                    return true;
                }

                reason = string.Create(CultureInfo.InvariantCulture, $"invalid number: the field '{Text(keyRange, true)}' has the value '{Encoding.UTF8.GetString(text)}', not a 64-bit integer");
                return false;
            }

            switch (text)
            {
                case [(byte)'t' or (byte)'T']:
                case [(byte)'t', (byte)'r', (byte)'u', (byte)'e']:
                case [(byte)'T', (byte)'r', (byte)'u', (byte)'e']:
                case [(byte)'T', (byte)'R', (byte)'U', (byte)'E']:
                    value = FieldValue.FromBoolean(true);
                    reason = null;
                    return true;
                case [(byte)'f' or (byte)'F']:
                case [(byte)'f', (byte)'a', (byte)'l', (byte)'s', (byte)'e']:
                case [(byte)'F', (byte)'a', (byte)'l', (byte)'s', (byte)'e']:
                case [(byte)'F', (byte)'A', (byte)'L', (byte)'S', (byte)'E']:
                    value = FieldValue.FromBoolean(false);
                    reason = null;
                    return true;
            }

            if (IsFloat(text) &&
                ((Utf8Parser.TryParse(text, out double number, out int consumed, 'E') && consumed == text.Length) ||
                 double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out number)) &&
                double.IsFinite(number))
            {
                value = FieldValue.FromFloat(number);
                reason = null;
                return true;
            }

            reason = string.Create(CultureInfo.InvariantCulture, $"invalid number: the field '{Text(keyRange, true)}' has the value '{Encoding.UTF8.GetString(text)}'");
            return false;
        }

        private static bool IsInteger(ReadOnlySpan<byte> text, bool allowMinus)
        {
            if (allowMinus && text.Length > 0 && text[0] == (byte)'-')
            {
                text = text[1..];
            }

            return text.Length > 0 && !text.ContainsAnyExceptInRange((byte)'0', (byte)'9');
        }

        /// <summary>InfluxDB's float grammar: <c>-?[0-9]*(\.[0-9]*)?([eE][+-]?[0-9]+)?</c> with at least one mantissa digit.</summary>
        private static bool IsFloat(ReadOnlySpan<byte> text)
        {
            int i = 0;
            if (text[0] == (byte)'-')
            {
                i++;
            }

            int digits = 0;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]))
            {
                i++;
                digits++;
            }

            if (i < text.Length && text[i] == (byte)'.')
            {
                i++;
                while (i < text.Length && char.IsAsciiDigit((char)text[i]))
                {
                    i++;
                    digits++;
                }
            }

            if (digits == 0)
            {
                return false;
            }

            if (i < text.Length && text[i] is (byte)'e' or (byte)'E')
            {
                i++;
                if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
                {
                    i++;
                }

                int exponentDigits = 0;
                while (i < text.Length && char.IsAsciiDigit((char)text[i]))
                {
                    i++;
                    exponentDigits++;
                }

                if (exponentDigits == 0)
                {
                    return false;
                }
            }

            return i == text.Length;
        }

        private bool TryReadString((int Start, int End, bool Escaped) keyRange, out FieldValue value, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            int p = _pos + 1;
            int start = p;
            bool escaped = false;
            int newlines = 0;
            while (p < _data.Length)
            {
                byte b = _data[p];
                if (b == (byte)'\\' && p + 1 < _data.Length && _data[p + 1] is (byte)'"' or (byte)'\\')
                {
                    escaped = true;
                    p += 2;
                    continue;
                }

                if (b == (byte)'"')
                {
                    break;
                }

                if (b == (byte)'\n')
                {
                    newlines++;
                }

                p++;
            }

            if (p >= _data.Length)
            {
                value = default;
                reason = string.Create(CultureInfo.InvariantCulture, $"unbalanced quotes: the string field '{Text(keyRange, true)}' is not closed");
                return false;
            }

            ReadOnlySpan<byte> raw = _data[start..p];
            _pos = p + 1;
            LineNumber += newlines;
            string text;
            if (!escaped)
            {
                text = Encoding.UTF8.GetString(raw);
            }
            else
            {
                var sb = new StringBuilder(raw.Length);
                string s = Encoding.UTF8.GetString(raw);
                for (int i = 0; i < s.Length; i++)
                {
                    if (s[i] == '\\' && i + 1 < s.Length && s[i + 1] is '"' or '\\')
                    {
                        i++;
                    }

                    sb.Append(s[i]);
                }

                text = sb.ToString();
            }

            value = FieldValue.FromString(text);
            reason = null;
            return true;
        }
    }
}
