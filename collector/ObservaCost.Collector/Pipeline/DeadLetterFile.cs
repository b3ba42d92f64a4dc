using System.Text;
using System.Text.Json;

namespace ObservaCost.Collector.Pipeline;

/// <summary>A point the store refused for good, with the store's reason and the original line protocol.</summary>
public readonly record struct DeadLetter(string Reason, ReadOnlyMemory<byte> Line);

/// <summary>
/// Points the store refuses for good, kept beside the spool in <c>deadletter/deadletter.jsonl</c>: one JSON object
/// a line, <c>{"time":…,"backend":…,"reason":…,"line":…}</c>, where <c>line</c> is the original line protocol
/// (without its line end) so it can be inspected with <c>jq</c> and replayed to <c>/write</c> once fixed. The file
/// never grows past <see cref="ForwarderOptions.DeadLetterMaxBytes"/>: a letter that would not fit is not kept, and the
/// caller counts and logs it.
/// </summary>
public sealed class DeadLetterFile
{
    public const string DirectoryName = "deadletter";
    public const string FileName = "deadletter.jsonl";

    // Readable lines: quotes and backslashes are escaped as JSON requires, other characters are kept as they are.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly long _maxBytes;
    private readonly TimeProvider _time;

    public DeadLetterFile(string spoolDirectory, long maxBytes, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(spoolDirectory);
        ArgumentNullException.ThrowIfNull(time);
        Path = System.IO.Path.Combine(spoolDirectory, DirectoryName, FileName);
        _maxBytes = maxBytes;
        _time = time;
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>
    /// Appends the letters in order and flushes them to disk; returns how many were kept. Those after the first that
    /// would take the file past its limit are not written.
    /// </summary>
    public int Append(IReadOnlyList<DeadLetter> letters, string backend)
    {
        ArgumentNullException.ThrowIfNull(letters);
        if (letters.Count == 0)
        {
            return 0;
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        string time = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        long size = stream.Length;
        int kept = 0;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        foreach (DeadLetter letter in letters)
        {
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer, JsonOptions))
            {
                json.WriteStartObject();
                json.WriteString("time", time);
                json.WriteString("backend", backend);
                json.WriteString("reason", letter.Reason);
                json.WriteString("line", Encoding.UTF8.GetString(TrimLineEnd(letter.Line.Span)));
                json.WriteEndObject();
            }

            if (size + buffer.WrittenCount + 1 > _maxBytes)
            {
                break;
            }

            stream.Write(buffer.WrittenSpan);
            stream.WriteByte((byte)'\n');
            size += buffer.WrittenCount + 1;
            kept++;
        }

        stream.Flush(flushToDisk: true);
        return kept;
    }

    private static ReadOnlySpan<byte> TrimLineEnd(ReadOnlySpan<byte> line) => line.TrimEnd("\r\n"u8);
}
