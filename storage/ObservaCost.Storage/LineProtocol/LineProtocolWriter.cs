using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ObservaCost.Storage.LineProtocol;

/// <summary>
/// Encodes points into InfluxDB line protocol, directly into a pooled UTF-8 buffer.
/// </summary>
/// <remarks>
/// <para>Escaping follows the line protocol reference, restricted to what every target parses the same way
/// (InfluxDB 1.x, 2.x, 3.x and VictoriaMetrics):</para>
/// <list type="bullet">
/// <item>measurement: comma and space are escaped;</item>
/// <item>tag keys, tag values and field keys: comma, equals sign and space are escaped;</item>
/// <item>string field values: double quote and backslash are escaped; newlines are kept;</item>
/// <item>a newline in a measurement, key or tag value, a measurement that starts with <c>#</c>, and a backslash
/// at the end of a key or tag value or before a character that would need escaping cannot be represented the same
/// way on InfluxDB 1.x and 2.x: the point is rejected with that reason;</item>
/// <item>tags with an empty value are omitted (InfluxDB treats a missing tag as the empty value);</item>
/// <item>NaN and infinite floats are omitted (InfluxDB stores neither); a point left without fields is rejected.</item>
/// </list>
/// A rejected point leaves nothing in the buffer; the writer goes on with the next point.
/// Usage: <c>Begin(measurement).Tag(..).Field(..).End(timestampNs)</c>.
/// </remarks>
public sealed class LineProtocolWriter : IDisposable
{
    private const int MinimumGrowth = 4096;
    private static readonly SearchValues<byte> MeasurementSpecials = SearchValues.Create(", \\\n\r"u8);
    private static readonly SearchValues<byte> KeySpecials = SearchValues.Create(",= \\\n\r"u8);
    private static readonly SearchValues<byte> StringFieldSpecials = SearchValues.Create("\"\\"u8);

    private byte[] _buffer;
    private int _length;
    private int _lineStart;
    private State _state;
    private string? _rejection;

    public LineProtocolWriter(WritePrecision precision = WritePrecision.Nanoseconds, int initialCapacity = 64 * 1024)
    {
        Precision = precision;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    private enum State
    {
        Idle,
        Tags,
        Fields,
        Rejected,
    }

    /// <summary>The precision of the timestamps written; the InfluxDB write must state the same precision.</summary>
    public WritePrecision Precision { get; }

    /// <summary>Number of complete lines in the buffer.</summary>
    public int PointCount { get; private set; }

    /// <summary>Number of bytes of complete lines in the buffer.</summary>
    public int Length => _lineStart;

    /// <summary>The encoded lines, each ending in <c>\n</c>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _lineStart);

    /// <summary>The encoded lines, each ending in <c>\n</c>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _lineStart);

    /// <summary>Starts a point. A point begun but not ended is discarded.</summary>
    public LineProtocolWriter Begin(string measurement)
    {
        ArgumentNullException.ThrowIfNull(measurement);
        _length = _lineStart;
        _rejection = null;
        _state = State.Tags;
        if (measurement.Length == 0)
        {
            return Reject("the measurement name is empty");
        }

        if (measurement[0] == '#')
        {
            return Reject("a measurement name may not start with '#' (it would read as a comment)");
        }

        return WriteEscaped(measurement, MeasurementSpecials, escapeEquals: false, "measurement");
    }

    /// <summary>Adds a tag. Tags are written in the order given; callers that can should give them sorted by key.</summary>
    public LineProtocolWriter Tag(string key, string? value)
    {
        if (_state == State.Rejected)
        {
            return this;
        }

        if (_state != State.Tags)
        {
            throw new InvalidOperationException("Tags must come after Begin and before the first field.");
        }

        if (string.IsNullOrEmpty(value))
        {
            return this;
        }

        if (key.Length == 0)
        {
            return Reject("a tag key is empty");
        }

        WriteByte((byte)',');
        WriteEscaped(key, KeySpecials, escapeEquals: true, "tag key");
        WriteByte((byte)'=');
        return WriteEscaped(value, KeySpecials, escapeEquals: true, "tag value");
    }

    /// <summary>Adds a float field; NaN and infinities are omitted.</summary>
    public LineProtocolWriter Field(string key, double value)
    {
        if (!double.IsFinite(value) || !BeginField(key))
        {
            return this;
        }

        Span<byte> dest = GetSpan(32);
        if (!value.TryFormat(dest, out int written, provider: CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("Float formatting did not fit 32 bytes.");
        }

        _length += written;
        return this;
    }

    /// <summary>Adds a float field if it has a value.</summary>
    public LineProtocolWriter Field(string key, double? value) => value is { } v ? Field(key, v) : this;

    /// <summary>Adds an integer field (<c>i</c> suffix).</summary>
    public LineProtocolWriter Field(string key, long value)
    {
        if (!BeginField(key))
        {
            return this;
        }

        Span<byte> dest = GetSpan(21);
        Utf8Formatter.TryFormat(value, dest, out int written);
        dest[written++] = (byte)'i';
        _length += written;
        return this;
    }

    /// <summary>Adds an integer field if it has a value.</summary>
    public LineProtocolWriter Field(string key, long? value) => value is { } v ? Field(key, v) : this;

    /// <summary>Adds a boolean field.</summary>
    public LineProtocolWriter Field(string key, bool value)
    {
        if (!BeginField(key))
        {
            return this;
        }

        WriteAscii(value ? "true"u8 : "false"u8);
        return this;
    }

    /// <summary>Adds a string field; null omits it.</summary>
    public LineProtocolWriter Field(string key, string? value)
    {
        if (value is null || !BeginField(key))
        {
            return this;
        }

        WriteByte((byte)'"');
        WriteEscaped(value, StringFieldSpecials, escapeEquals: false, context: null);
        WriteByte((byte)'"');
        return this;
    }

    /// <summary>Adds a field from a parsed value.</summary>
    public LineProtocolWriter Field(string key, in FieldValue value) => value.Kind switch
    {
        FieldKind.Float => Field(key, value.Float),
        FieldKind.Integer => Field(key, value.Integer),
        FieldKind.Boolean => Field(key, value.Boolean),
        FieldKind.String => Field(key, value.String),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value.Kind, "Unknown field kind."),
    };

    /// <summary>
    /// Ends the point with a timestamp in nanoseconds since the Unix epoch, converted to <see cref="Precision"/>
    /// (truncated toward negative infinity). Returns false, and leaves nothing in the buffer, if the point was rejected.
    /// </summary>
    public bool End(long timestampNanoseconds) => EndCore(timestampNanoseconds, hasTimestamp: true);

    /// <summary>Ends the point without a timestamp (the server assigns its own time).</summary>
    public bool EndWithoutTimestamp() => EndCore(0, hasTimestamp: false);

    /// <summary>The reason the last point was rejected, or null.</summary>
    public string? LastRejection => _rejection;

    /// <summary>Appends lines that are already encoded (each must end in a newline).</summary>
    public void WriteRaw(ReadOnlySpan<byte> lines, int pointCount)
    {
        if (_state is State.Tags or State.Fields)
        {
            throw new InvalidOperationException("A point is in progress.");
        }

        lines.CopyTo(GetSpan(lines.Length));
        _length += lines.Length;
        _lineStart = _length;
        PointCount += pointCount;
    }

    /// <summary>
    /// Appends one line that was already validated (e.g. by <see cref="LineProtocolParser"/>), without its line end,
    /// adding <paramref name="timestampNanoseconds"/> (converted to <see cref="Precision"/>) when the line has none.
    /// </summary>
    public void WriteRawLine(ReadOnlySpan<byte> line, long? timestampNanoseconds = null)
    {
        if (_state is State.Tags or State.Fields)
        {
            throw new InvalidOperationException("A point is in progress.");
        }

        Span<byte> dest = GetSpan(line.Length + 22);
        line.CopyTo(dest);
        int written = line.Length;
        if (timestampNanoseconds is { } ts)
        {
            dest[written++] = (byte)' ';
            Utf8Formatter.TryFormat(Precision.FromNanoseconds(ts), dest[written..], out int tsBytes);
            written += tsBytes;
        }

        dest[written++] = (byte)'\n';
        _length += written;
        _lineStart = _length;
        PointCount++;
    }

    /// <summary>Clears the buffer and keeps its memory.</summary>
    public void Reset()
    {
        _length = 0;
        _lineStart = 0;
        PointCount = 0;
        _state = State.Idle;
        _rejection = null;
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Returns the text of the buffer (for diagnostics and tests).</summary>
    public override string ToString() => Encoding.UTF8.GetString(WrittenSpan);

    private bool EndCore(long timestampNanoseconds, bool hasTimestamp)
    {
        if (_state == State.Rejected)
        {
            _length = _lineStart;
            _state = State.Idle;
            return false;
        }

        if (_state != State.Fields)
        {
            if (_state == State.Tags)
            {
                Reject("the point has no field with a value");
                _length = _lineStart;
                _state = State.Idle;
                return false;
            }

            throw new InvalidOperationException("End called without Begin.");
        }

        if (hasTimestamp)
        {
            WriteByte((byte)' ');
            long value = Precision.FromNanoseconds(timestampNanoseconds);
            Span<byte> dest = GetSpan(20);
            Utf8Formatter.TryFormat(value, dest, out int written);
            _length += written;
        }

        WriteByte((byte)'\n');
        _lineStart = _length;
        PointCount++;
        _state = State.Idle;
        return true;
    }

    private bool BeginField(string key)
    {
        switch (_state)
        {
            case State.Rejected:
                return false;
            case State.Tags:
                WriteByte((byte)' ');
                _state = State.Fields;
                break;
            case State.Fields:
                WriteByte((byte)',');
                break;
            default:
                throw new InvalidOperationException("Fields must come after Begin.");
        }

        if (key.Length == 0)
        {
            Reject("a field key is empty");
            return false;
        }

        WriteEscaped(key, KeySpecials, escapeEquals: true, "field key");
        if (_state == State.Rejected)
        {
            return false;
        }

        WriteByte((byte)'=');
        return true;
    }

    private LineProtocolWriter Reject(string reason)
    {
        _rejection = reason;
        _state = State.Rejected;
        return this;
    }

    /// <summary>
    /// Writes <paramref name="text"/> as UTF-8 with a backslash before each special character. For identifiers
    /// (<paramref name="context"/> not null), a newline or a backslash that would change meaning rejects the point.
    /// </summary>
    private LineProtocolWriter WriteEscaped(string text, SearchValues<byte> specials, bool escapeEquals, string? context)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> dest = GetSpan(maxBytes * 2);

        // Fast path: most names and values need no escaping; encode in place.
        int encoded = Encoding.UTF8.GetBytes(text, dest);
        if (dest[..encoded].IndexOfAny(specials) < 0)
        {
            _length += encoded;
            return this;
        }

        dest[..encoded].CopyTo(dest[maxBytes..]);
        ReadOnlySpan<byte> source = dest.Slice(maxBytes, encoded);
        int w = 0;
        while (true)
        {
            int i = source.IndexOfAny(specials);
            if (i < 0)
            {
                source.CopyTo(dest[w..]);
                w += source.Length;
                break;
            }

            source[..i].CopyTo(dest[w..]);
            w += i;
            byte b = source[i];
            if (context is null)
            {
                // String field value: escape quote and backslash.
                dest[w++] = (byte)'\\';
                dest[w++] = b;
            }
            else if (b is (byte)'\n' or (byte)'\r')
            {
                return Reject(string.Create(CultureInfo.InvariantCulture, $"the {context} '{Printable(text)}' contains a line break"));
            }
            else if (b == (byte)'\\')
            {
                bool last = i + 1 == source.Length;
                if (last || IsEscapable(source[i + 1], escapeEquals))
                {
                    return Reject(string.Create(CultureInfo.InvariantCulture,
                        $"the {context} '{Printable(text)}' has a backslash {(last ? "at its end" : "before a delimiter")}, which InfluxDB 1.x and 2.x read differently"));
                }

                dest[w++] = b;
            }
            else
            {
                dest[w++] = (byte)'\\';
                dest[w++] = b;
            }

            source = source[(i + 1)..];
        }

        _length += w;
        return this;
    }

    private static bool IsEscapable(byte next, bool escapeEquals) =>
        next is (byte)',' or (byte)' ' or (byte)'\\' || (escapeEquals && next == (byte)'=');

    private static string Printable(string text) =>
        (text.Length > 64 ? string.Concat(text.AsSpan(0, 64), "…") : text).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private void WriteByte(byte b)
    {
        GetSpan(1)[0] = b;
        _length++;
    }

    private void WriteAscii(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _length += bytes.Length;
    }

    private Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }

        return _buffer.AsSpan(_length);
    }

    private void Grow(int size)
    {
        int newSize = Math.Max(_buffer.Length * 2, _length + Math.Max(size, MinimumGrowth));
        byte[] next = ArrayPool<byte>.Shared.Rent(newSize);
        _buffer.AsSpan(0, _length).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }
}
