using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>Limits of <see cref="RequestLogParser"/> (configuration section <c>Collector:RequestLogs:Parser</c>).</summary>
public sealed class RequestLogParserOptions
{
    /// <summary>A token count above this (prompt, completion or total) rejects the record.</summary>
    public long MaxTokensPerRequest { get; set; } = 10_000_000;

    /// <summary>A latency or time to first token above this rejects the record (default one day).</summary>
    public double MaxLatencyMs { get; set; } = 24 * 60 * 60 * 1000;

    /// <summary>A string value (model, tenant, pool, node, status) longer than this many UTF-8 bytes rejects the record.</summary>
    public int MaxStringBytes { get; set; } = 256;

    /// <summary>A timestamp later than <c>now</c> plus this rejects the record.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An NDJSON line or array element longer than this many bytes rejects the record.</summary>
    public int MaxRecordBytes { get; set; } = 64 * 1024;
}

/// <summary>Checks <see cref="RequestLogParserOptions"/> and reports every failure, naming its key.</summary>
public sealed class RequestLogParserOptionsValidator : IValidateOptions<RequestLogParserOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestLogParserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxTokensPerRequest <= 0)
        {
            failures.Add("Collector:RequestLogs:Parser:MaxTokensPerRequest must be positive.");
        }

        if (!(options.MaxLatencyMs > 0) || !double.IsFinite(options.MaxLatencyMs))
        {
            failures.Add("Collector:RequestLogs:Parser:MaxLatencyMs must be a positive number.");
        }

        if (options.MaxStringBytes <= 0)
        {
            failures.Add("Collector:RequestLogs:Parser:MaxStringBytes must be positive.");
        }

        if (options.MaxFutureSkew < TimeSpan.Zero)
        {
            failures.Add("Collector:RequestLogs:Parser:MaxFutureSkew must not be negative.");
        }

        if (options.MaxRecordBytes <= 0)
        {
            failures.Add("Collector:RequestLogs:Parser:MaxRecordBytes must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Why a request record was rejected.</summary>
public enum RequestLogRejectionReason
{
    /// <summary>The line or array is not valid JSON (in an array, nothing after this point is read).</summary>
    MalformedJson,

    /// <summary>The line or element is JSON but not an object.</summary>
    NotAnObject,

    /// <summary>The line or element is longer than <see cref="RequestLogParserOptions.MaxRecordBytes"/>.</summary>
    RecordTooLarge,

    MissingModel,

    MissingTimestamp,

    /// <summary>Not RFC 3339 with a zone, or a number out of range.</summary>
    InvalidTimestamp,

    /// <summary>Later than <c>now</c> plus <see cref="RequestLogParserOptions.MaxFutureSkew"/>.</summary>
    FutureTimestamp,

    /// <summary>A known property has a value of the wrong JSON type (e.g. a token count that is a string or a fraction).</summary>
    InvalidFieldType,

    NegativeTokens,

    /// <summary>A token count above <see cref="RequestLogParserOptions.MaxTokensPerRequest"/>.</summary>
    TokensAboveLimit,

    /// <summary>Flat and <c>usage</c> counts disagree, <c>total_tokens</c> differs from prompt + completion, or only a total is given.</summary>
    InconsistentTokens,

    /// <summary>Latency negative, not a number, infinite or above <see cref="RequestLogParserOptions.MaxLatencyMs"/>.</summary>
    InvalidLatency,

    /// <summary>Time to first token negative, not a number, infinite or above <see cref="RequestLogParserOptions.MaxLatencyMs"/>.</summary>
    InvalidTimeToFirstToken,

    /// <summary>A string value longer than <see cref="RequestLogParserOptions.MaxStringBytes"/>.</summary>
    StringTooLong,

    /// <summary>A key appears twice in the record (or in its <c>usage</c> object): which value counts is ambiguous.</summary>
    DuplicateKey,

    /// <summary>The record is not valid UTF-8, or a string holds a lone surrogate escape (<c>"\ud800"</c>).</summary>
    InvalidText,

    /// <summary>
    /// A string that becomes a tag (model, tenant, pool, node, status) holds a control character (U+0000–U+001F,
    /// U+007F–U+009F: line breaks, tabs, NUL) or a backslash that line protocol cannot carry unchanged.
    /// </summary>
    UnencodableTag,

    /// <summary>
    /// <c>dataset</c> is not a known value (<see cref="Datasets.Known"/>: <c>simulated</c>); a record without it is a
    /// real fleet's.
    /// </summary>
    UnknownDataset,

    /// <summary>The record's window was already closed (refused by <see cref="RequestLogPipeline"/>, not the parser).</summary>
    LateRecord,

    /// <summary>The record is outside the imported range (refused by <see cref="RequestLogImport"/>, not the parser).</summary>
    OutsideImportRange,

    /// <summary>
    /// The record would open a (window, model, tenant, pool, node, status) group beyond
    /// <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/> (refused by <see cref="RequestLogPipeline"/>, not the parser).
    /// </summary>
    TooManyOpenGroups,
}

/// <summary>A rejected record: where it was (NDJSON line number or array index) and why.</summary>
public sealed record RequestLogRejection
{
    /// <summary>1-based line number, for NDJSON input.</summary>
    public int? LineNumber { get; init; }

    /// <summary>0-based element index, for JSON array input.</summary>
    public int? ArrayIndex { get; init; }

    public required RequestLogRejectionReason Reason { get; init; }

    public required string Message { get; init; }

    public override string ToString() =>
        LineNumber is int line
            ? string.Create(CultureInfo.InvariantCulture, $"line {line}: {Reason}: {Message}")
            : string.Create(CultureInfo.InvariantCulture, $"index {ArrayIndex}: {Reason}: {Message}");
}

/// <summary>The records read from one body and the ones rejected.</summary>
public sealed class RequestLogParseResult
{
    private readonly List<int> _positions;
    private readonly bool _array;

    internal RequestLogParseResult(List<InferenceRequest> requests, List<int> positions, List<RequestLogRejection> rejections, bool array)
    {
        Requests = requests;
        _positions = positions;
        Rejections = rejections;
        _array = array;
    }

    public IReadOnlyList<InferenceRequest> Requests { get; }

    public IReadOnlyList<RequestLogRejection> Rejections { get; }

    /// <summary>A rejection of <c>Requests[requestIndex]</c> found after parsing (late, over a limit), at its line or index.</summary>
    public RequestLogRejection Reject(int requestIndex, RequestLogRejectionReason reason, string message) => _array
        ? new RequestLogRejection { ArrayIndex = _positions[requestIndex], Reason = reason, Message = message }
        : new RequestLogRejection { LineNumber = _positions[requestIndex], Reason = reason, Message = message };
}

/// <summary>
/// Reads inference request logs from UTF-8 JSON: NDJSON (one object a line) or a JSON array of objects. Each record is
/// read with one <see cref="Utf8JsonReader"/> pass (no DOM). Thread-safe; holds no state between calls.
/// </summary>
/// <remarks>
/// <para>Properties (unknown ones are ignored; <c>null</c> means absent):</para>
/// <list type="bullet">
/// <item><c>timestamp</c> (required): an RFC 3339 string with a zone (<c>2024-05-01T12:00:00.250Z</c>,
/// <c>2024-05-01 14:00:00+02:00</c>), or a Unix time number. <b>Seconds or milliseconds:</b> a number whose absolute
/// value is below 100,000,000,000 is seconds (that is up to the year 5138), anything larger is milliseconds (from
/// 1973-03-03 on). Real request times since 1973 are therefore never ambiguous. Zero or negative numbers are rejected.</item>
/// <item><c>model</c> (required), <c>tenant</c>, <c>pool</c>, <c>node</c>: strings. <c>status</c>: a string or an
/// integer (HTTP code).</item>
/// <item><c>dataset</c>: <c>"simulated"</c> for the fleet simulator's requests (stored as the <c>dataset</c> tag);
/// absent for a real fleet; any other value is rejected.</item>
/// <item>Tokens: flat <c>prompt_tokens</c>, <c>completion_tokens</c>, <c>total_tokens</c>, or an OpenAI-style
/// <c>usage</c> object with the same names. When both forms give a count they must agree. A total must equal prompt +
/// completion; with only one part given, the other is derived from the total; a total alone is rejected. No counts at
/// all means zero tokens (e.g. a failed request).</item>
/// <item><c>latency_ms</c>, <c>ttft_ms</c> (alias <c>time_to_first_token_ms</c>): numbers, or numeric strings.</item>
/// </list>
/// <para>
/// <b>Strict text.</b> A record that is not valid UTF-8, that repeats a key (in the record or in <c>usage</c>; which
/// value counts would be ambiguous), or whose model, tenant, pool, node or (normalized) status holds a control
/// character, a lone surrogate escape or a backslash that line protocol cannot carry, is rejected naming the key:
/// these strings become tags of stored points, and a record acknowledged here must be storable.
/// </para>
/// <para>
/// A bad record is rejected with its NDJSON line number (1-based; blank lines count but are skipped) or its array
/// index (0-based) and a <see cref="RequestLogRejectionReason"/>; the records beside it are kept. Malformed JSON inside
/// an array stops the array there (the reader cannot resynchronise); NDJSON resumes at the next line.
/// </para>
/// </remarks>
public sealed class RequestLogParser
{
    /// <summary>Numbers with an absolute value at or above this are Unix milliseconds; below, Unix seconds.</summary>
    public const double UnixMillisecondsThreshold = 100_000_000_000;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 };

    /// <summary>C0 controls (line breaks, tab, NUL...), DEL and C1 controls: refused in strings that become tags.</summary>
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F");

    private readonly RequestLogParserOptions _options;

    public RequestLogParser(RequestLogParserOptions? options = null)
    {
        _options = options ?? new RequestLogParserOptions();
        ValidateOptionsResult validation = new RequestLogParserOptionsValidator().Validate(null, _options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(RequestLogParserOptions), typeof(RequestLogParserOptions), validation.Failures);
        }
    }

    /// <summary>Reads a JSON array if the first non-blank byte is <c>[</c>, NDJSON otherwise.</summary>
    public RequestLogParseResult Parse(ReadOnlySpan<byte> utf8, DateTimeOffset now)
    {
        ReadOnlySpan<byte> body = SkipBom(utf8);
        int first = body.IndexOfAnyExcept(" \t\r\n"u8);
        return first >= 0 && body[first] == (byte)'[' ? ParseArray(body, now) : ParseNdjson(body, now);
    }

    /// <summary>
    /// Reads newline-delimited JSON: one object per line, <c>\n</c> or <c>\r\n</c>, blank lines skipped. Lines are
    /// numbered from <paramref name="firstLineNumber"/> (a file tailer passes the number of the chunk's first line).
    /// </summary>
    public RequestLogParseResult ParseNdjson(ReadOnlySpan<byte> utf8, DateTimeOffset now, long firstLineNumber = 1)
    {
        var requests = new List<InferenceRequest>();
        var positions = new List<int>();
        var rejections = new List<RequestLogRejection>();
        var scratch = new ParseScratch();
        ReadOnlySpan<byte> rest = SkipBom(utf8);
        int lineNumber = (int)Math.Min(firstLineNumber - 1, int.MaxValue);
        while (!rest.IsEmpty)
        {
            lineNumber++;
            int newline = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? [] : rest[(newline + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.IndexOfAnyExcept(" \t"u8) < 0)
            {
                continue;
            }

            RecordOutcome outcome;
            if (line.Length > _options.MaxRecordBytes)
            {
                outcome = RecordOutcome.Reject(
                    RequestLogRejectionReason.RecordTooLarge,
                    string.Create(CultureInfo.InvariantCulture, $"{line.Length} bytes, limit {_options.MaxRecordBytes}"));
            }
            else if (!Utf8.IsValid(line))
            {
                outcome = InvalidUtf8;
            }
            else
            {
                outcome = ReadLine(line, now, scratch);
            }

            if (outcome.Request is not null)
            {
                requests.Add(outcome.Request);
                positions.Add(lineNumber);
            }
            else
            {
                rejections.Add(new RequestLogRejection { LineNumber = lineNumber, Reason = outcome.Reason, Message = outcome.Message! });
            }
        }

        return new RequestLogParseResult(requests, positions, rejections, array: false);
    }

    private static RecordOutcome InvalidUtf8 => RecordOutcome.Reject(RequestLogRejectionReason.InvalidText, "the record is not valid UTF-8");

    /// <summary>Reads a JSON array of objects.</summary>
    public RequestLogParseResult ParseArray(ReadOnlySpan<byte> utf8, DateTimeOffset now)
    {
        var requests = new List<InferenceRequest>();
        var positions = new List<int>();
        var rejections = new List<RequestLogRejection>();
        var scratch = new ParseScratch();
        ReadOnlySpan<byte> body = SkipBom(utf8);
        var reader = new Utf8JsonReader(body, ReaderOptions);
        int index = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                rejections.Add(new RequestLogRejection { ArrayIndex = 0, Reason = RequestLogRejectionReason.NotAnObject, Message = "the body is not a JSON array" });
                return new RequestLogParseResult(requests, positions, rejections, array: true);
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                RecordOutcome outcome;
                long start = reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    outcome = ReadRecord(ref reader, now, scratch);
                    long length = reader.BytesConsumed - start;
                    if (length > _options.MaxRecordBytes)
                    {
                        outcome = RecordOutcome.Reject(
                            RequestLogRejectionReason.RecordTooLarge,
                            string.Create(CultureInfo.InvariantCulture, $"{length} bytes, limit {_options.MaxRecordBytes}"));
                    }
                    else if (!Utf8.IsValid(body.Slice((int)start, (int)length)))
                    {
                        outcome = InvalidUtf8;
                    }
                }
                else
                {
                    JsonTokenType type = reader.TokenType;
                    reader.Skip();
                    outcome = RecordOutcome.Reject(RequestLogRejectionReason.NotAnObject, $"element is {Describe(type)}, not an object");
                }

                if (outcome.Request is not null)
                {
                    requests.Add(outcome.Request);
                    positions.Add(index);
                }
                else
                {
                    rejections.Add(new RequestLogRejection { ArrayIndex = index, Reason = outcome.Reason, Message = outcome.Message! });
                }

                index++;
            }

            if (reader.Read())
            {
                rejections.Add(new RequestLogRejection { ArrayIndex = index, Reason = RequestLogRejectionReason.MalformedJson, Message = "content after the end of the array" });
            }
        }
        catch (JsonException ex)
        {
            rejections.Add(new RequestLogRejection
            {
                ArrayIndex = index,
                Reason = RequestLogRejectionReason.MalformedJson,
                Message = "malformed JSON; the rest of the array is not read: " + ex.Message,
            });
        }

        return new RequestLogParseResult(requests, positions, rejections, array: true);
    }

    private RecordOutcome ReadLine(ReadOnlySpan<byte> line, DateTimeOffset now, ParseScratch scratch)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                JsonTokenType type = reader.TokenType;
                reader.Skip();
                return reader.Read()
                    ? RecordOutcome.Reject(RequestLogRejectionReason.MalformedJson, "more than one JSON value on the line")
                    : RecordOutcome.Reject(RequestLogRejectionReason.NotAnObject, $"the line is {Describe(type)}, not an object");
            }

            RecordOutcome outcome = ReadRecord(ref reader, now, scratch);
            return reader.Read()
                ? RecordOutcome.Reject(RequestLogRejectionReason.MalformedJson, "more than one JSON value on the line")
                : outcome;
        }
        catch (JsonException ex)
        {
            return RecordOutcome.Reject(RequestLogRejectionReason.MalformedJson, ex.Message);
        }
    }

    /// <summary>Reads one object; the reader is on its StartObject and is left on its EndObject.</summary>
    private RecordOutcome ReadRecord(ref Utf8JsonReader reader, DateTimeOffset now, ParseScratch scratch)
    {
        var record = new RecordFields();
        var seen = KnownKeys.None;
        scratch.OtherKeys.Clear();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (HasLoneSurrogate(ref reader))
            {
                // Comparing such a key would throw; the record is refused whatever the key is.
                record.Fail(RequestLogRejectionReason.InvalidText, "a key holds a lone surrogate escape");
                reader.Skip();
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                Once(ref seen, KnownKeys.Model, "model", ref record);
                reader.Read();
                record.Model = ReadString(ref reader, "model", scratch.Strings, ref record);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                Once(ref seen, KnownKeys.Timestamp, "timestamp", ref record);
                reader.Read();
                ReadTimestamp(ref reader, ref record);
            }
            else if (reader.ValueTextEquals("tenant"u8))
            {
                Once(ref seen, KnownKeys.Tenant, "tenant", ref record);
                reader.Read();
                record.Tenant = ReadString(ref reader, "tenant", scratch.Strings, ref record);
            }
            else if (reader.ValueTextEquals("pool"u8))
            {
                Once(ref seen, KnownKeys.Pool, "pool", ref record);
                reader.Read();
                record.Pool = ReadString(ref reader, "pool", scratch.Strings, ref record);
            }
            else if (reader.ValueTextEquals("node"u8))
            {
                Once(ref seen, KnownKeys.Node, "node", ref record);
                reader.Read();
                record.Node = ReadString(ref reader, "node", scratch.Strings, ref record);
            }
            else if (reader.ValueTextEquals("dataset"u8))
            {
                Once(ref seen, KnownKeys.Dataset, "dataset", ref record);
                reader.Read();
                record.Dataset = ReadString(ref reader, "dataset", scratch.Strings, ref record);
                if (record.Dataset is { } dataset && !Datasets.IsKnown(dataset))
                {
                    record.Fail(RequestLogRejectionReason.UnknownDataset, $"dataset \"{dataset}\" is not one of: {string.Join(", ", Datasets.Known)}");
                }
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                Once(ref seen, KnownKeys.Status, "status", ref record);
                reader.Read();
                record.Status = ReadString(ref reader, "status", scratch.Strings, ref record, allowNumber: true);
            }
            else if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                Once(ref seen, KnownKeys.PromptTokens, "prompt_tokens", ref record);
                reader.Read();
                record.FlatPrompt = ReadTokens(ref reader, "prompt_tokens", ref record);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                Once(ref seen, KnownKeys.CompletionTokens, "completion_tokens", ref record);
                reader.Read();
                record.FlatCompletion = ReadTokens(ref reader, "completion_tokens", ref record);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                Once(ref seen, KnownKeys.TotalTokens, "total_tokens", ref record);
                reader.Read();
                record.FlatTotal = ReadTokens(ref reader, "total_tokens", ref record);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                Once(ref seen, KnownKeys.Usage, "usage", ref record);
                reader.Read();
                ReadUsage(ref reader, ref record);
            }
            else if (reader.ValueTextEquals("latency_ms"u8))
            {
                Once(ref seen, KnownKeys.Latency, "latency_ms", ref record);
                reader.Read();
                record.LatencyMs = ReadDuration(ref reader, "latency_ms", RequestLogRejectionReason.InvalidLatency, ref record);
            }
            else if (reader.ValueTextEquals("ttft_ms"u8) || reader.ValueTextEquals("time_to_first_token_ms"u8))
            {
                Once(ref seen, KnownKeys.TimeToFirstToken, "ttft_ms (or time_to_first_token_ms)", ref record);
                reader.Read();
                record.TimeToFirstTokenMs = ReadDuration(ref reader, "ttft_ms", RequestLogRejectionReason.InvalidTimeToFirstToken, ref record);
            }
            else
            {
                // Other keys are ignored, but a repeated one still makes the record ambiguous.
                string key = reader.ValueIsEscaped ? reader.GetString()! : scratch.Strings.Get(reader.ValueSpan);
                if (!scratch.OtherKeys.Add(key))
                {
                    record.Fail(RequestLogRejectionReason.DuplicateKey, $"the key '{Printable(key)}' appears more than once: the record is ambiguous");
                }

                reader.Skip();
            }
        }

        return record.Finish(now, _options);
    }

    /// <summary>The keys the parser reads, to find one given twice.</summary>
    [Flags]
    private enum KnownKeys
    {
        None = 0,
        Model = 1 << 0,
        Timestamp = 1 << 1,
        Tenant = 1 << 2,
        Pool = 1 << 3,
        Node = 1 << 4,
        Status = 1 << 5,
        PromptTokens = 1 << 6,
        CompletionTokens = 1 << 7,
        TotalTokens = 1 << 8,
        Usage = 1 << 9,
        Latency = 1 << 10,
        TimeToFirstToken = 1 << 11,
        Dataset = 1 << 12,
    }

    private static void Once(ref KnownKeys seen, KnownKeys key, string name, ref RecordFields record)
    {
        if ((seen & key) != 0)
        {
            record.Fail(RequestLogRejectionReason.DuplicateKey, $"the key '{name}' appears more than once: the record is ambiguous");
        }

        seen |= key;
    }

    private void ReadUsage(ref Utf8JsonReader reader, ref RecordFields record)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            record.Fail(RequestLogRejectionReason.InvalidFieldType, "usage must be an object");
            reader.Skip();
            return;
        }

        var seen = KnownKeys.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (HasLoneSurrogate(ref reader))
            {
                record.Fail(RequestLogRejectionReason.InvalidText, "a key in usage holds a lone surrogate escape");
                reader.Skip();
            }
            else if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                Once(ref seen, KnownKeys.PromptTokens, "usage.prompt_tokens", ref record);
                reader.Read();
                record.UsagePrompt = ReadTokens(ref reader, "usage.prompt_tokens", ref record);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                Once(ref seen, KnownKeys.CompletionTokens, "usage.completion_tokens", ref record);
                reader.Read();
                record.UsageCompletion = ReadTokens(ref reader, "usage.completion_tokens", ref record);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                Once(ref seen, KnownKeys.TotalTokens, "usage.total_tokens", ref record);
                reader.Read();
                record.UsageTotal = ReadTokens(ref reader, "usage.total_tokens", ref record);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private string? ReadString(ref Utf8JsonReader reader, string name, Utf8StringCache strings, ref RecordFields record, bool allowNumber = false)
    {
        string? value;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number when allowNumber && reader.TryGetInt32(out int code):
                return code.ToString(CultureInfo.InvariantCulture);
            case JsonTokenType.String:
                break;
            default:
                record.Fail(RequestLogRejectionReason.InvalidFieldType, $"{name} must be a string");
                reader.Skip();
                return null;
        }

        ReadOnlySpan<byte> raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            if (raw.Length > _options.MaxStringBytes)
            {
                record.Fail(RequestLogRejectionReason.StringTooLong, string.Create(CultureInfo.InvariantCulture, $"{name} is {raw.Length} bytes, limit {_options.MaxStringBytes}"));
                return null;
            }

            value = raw.IsEmpty ? null : strings.Get(raw);

            // Unescaped JSON text holds no C0 control and no backslash; DEL and C1 controls (U+0080–U+009F, C2 80–9F
            // in UTF-8) are the only ones left to look for: most values are done here.
            if (raw.IndexOfAny((byte)0x7F, (byte)0xC2) < 0)
            {
                return value;
            }
        }
        else if (raw.Length > 6 * _options.MaxStringBytes)
        {
            // An escape sequence is at most 6 bytes for one UTF-8 byte; beyond that the value is too long whatever it holds.
            record.Fail(RequestLogRejectionReason.StringTooLong, $"{name} is longer than {_options.MaxStringBytes} bytes");
            return null;
        }
        else
        {
            value = TryGetString(ref reader);
            if (value is null)
            {
                record.Fail(RequestLogRejectionReason.InvalidText, $"{name} holds a lone surrogate escape");
                return null;
            }

            int bytes = Encoding.UTF8.GetByteCount(value);
            if (bytes > _options.MaxStringBytes)
            {
                record.Fail(RequestLogRejectionReason.StringTooLong, string.Create(CultureInfo.InvariantCulture, $"{name} is {bytes} bytes, limit {_options.MaxStringBytes}"));
                return null;
            }

            value = value.Length == 0 ? null : value;
        }

        // The status is stored in its normalized form; the other strings as they are.
        if (value is not null && TagProblem(name == "status" ? RequestStatus.Normalize(value)! : value) is { } problem)
        {
            record.Fail(RequestLogRejectionReason.UnencodableTag, $"{name} {problem}");
            return null;
        }

        return value;
    }

    /// <summary>
    /// Why <paramref name="value"/> cannot be a tag value, or null. A control character is refused outright; a
    /// backslash is checked by <see cref="LineProtocolWriter"/> itself, so what it would refuse to write is refused here.
    /// </summary>
    internal static string? TagProblem(string value)
    {
        int control = value.AsSpan().IndexOfAny(ControlCharacters);
        if (control >= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"holds the control character U+{(int)value[control]:X4}, which a stored tag cannot carry");
        }

        if (!value.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        using var probe = new LineProtocolWriter(WritePrecision.Nanoseconds, 256);
        return probe.Begin("probe").Tag("probe", value).Field("probe", 1L).End(0) ? null : "cannot be stored as a tag: " + probe.LastRejection;
    }

    /// <summary>True if the current (escaped) key or string holds a lone surrogate escape.</summary>
    private static bool HasLoneSurrogate(ref Utf8JsonReader reader) => reader.ValueIsEscaped && TryGetString(ref reader) is null;

    /// <summary>The unescaped string, or null when it holds a lone surrogate (which no UTF-8 text can carry).</summary>
    private static string? TryGetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string Printable(string text) =>
        (text.Length > 64 ? text[..64] + "…" : text).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private long? ReadTokens(ref Utf8JsonReader reader, string name, ref RecordFields record)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            record.Fail(RequestLogRejectionReason.InvalidFieldType, $"{name} must be a number");
            reader.Skip();
            return null;
        }

        if (!reader.TryGetInt64(out long count))
        {
            if (reader.TryGetDouble(out double number) && Math.Abs(number) > _options.MaxTokensPerRequest && number == Math.Floor(number))
            {
                record.Fail(number < 0 ? RequestLogRejectionReason.NegativeTokens : RequestLogRejectionReason.TokensAboveLimit, $"{name} is out of range");
            }
            else
            {
                record.Fail(RequestLogRejectionReason.InvalidFieldType, $"{name} must be a whole number");
            }

            return null;
        }

        if (count < 0)
        {
            record.Fail(RequestLogRejectionReason.NegativeTokens, string.Create(CultureInfo.InvariantCulture, $"{name} is {count}"));
            return null;
        }

        if (count > _options.MaxTokensPerRequest)
        {
            record.Fail(RequestLogRejectionReason.TokensAboveLimit, string.Create(CultureInfo.InvariantCulture, $"{name} is {count}, limit {_options.MaxTokensPerRequest}"));
            return null;
        }

        return count;
    }

    private double? ReadDuration(ref Utf8JsonReader reader, string name, RequestLogRejectionReason reason, ref RecordFields record)
    {
        double value;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number:
                if (!reader.TryGetDouble(out value))
                {
                    record.Fail(reason, $"{name} is out of range");
                    return null;
                }

                break;
            case JsonTokenType.String:
                if (reader.ValueIsEscaped || reader.ValueSpan.Length > 64
                    || !double.TryParse(Encoding.UTF8.GetString(reader.ValueSpan), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                {
                    record.Fail(RequestLogRejectionReason.InvalidFieldType, $"{name} must be a number");
                    return null;
                }

                break;
            default:
                record.Fail(RequestLogRejectionReason.InvalidFieldType, $"{name} must be a number");
                reader.Skip();
                return null;
        }

        if (!double.IsFinite(value) || value < 0 || value > _options.MaxLatencyMs)
        {
            record.Fail(reason, string.Create(CultureInfo.InvariantCulture, $"{name} is {value}, expected 0 to {_options.MaxLatencyMs}"));
            return null;
        }

        return value;
    }

    private static void ReadTimestamp(ref Utf8JsonReader reader, ref RecordFields record)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return;
            case JsonTokenType.String:
                string? unescaped = reader.ValueIsEscaped ? TryGetString(ref reader) : null;
                if (reader.ValueIsEscaped && unescaped is null)
                {
                    record.Fail(RequestLogRejectionReason.InvalidText, "timestamp holds a lone surrogate escape");
                    return;
                }

                ReadOnlySpan<byte> text = unescaped is null ? reader.ValueSpan : Encoding.UTF8.GetBytes(unescaped);
                if (Rfc3339.TryParse(text, out DateTimeOffset parsed))
                {
                    record.Timestamp = parsed;
                }
                else
                {
                    record.Fail(RequestLogRejectionReason.InvalidTimestamp, "timestamp is not RFC 3339 with a zone: " + Encoding.UTF8.GetString(text[..Math.Min(text.Length, 64)]));
                }

                return;
            case JsonTokenType.Number:
                if (TryUnixTime(ref reader, out DateTimeOffset unix))
                {
                    record.Timestamp = unix;
                }
                else
                {
                    record.Fail(RequestLogRejectionReason.InvalidTimestamp, "timestamp is not a Unix time in seconds or milliseconds: " + Encoding.UTF8.GetString(reader.ValueSpan));
                }

                return;
            default:
                record.Fail(RequestLogRejectionReason.InvalidTimestamp, "timestamp must be a string or a number");
                reader.Skip();
                return;
        }
    }

    /// <summary>Unix seconds below <see cref="UnixMillisecondsThreshold"/>, milliseconds from there on.</summary>
    private static bool TryUnixTime(ref Utf8JsonReader reader, out DateTimeOffset time)
    {
        time = default;
        long ticks;
        if (reader.TryGetInt64(out long whole))
        {
            if (whole <= 0 || whole > 253_402_300_799_999)
            {
                return false;
            }

            ticks = whole < UnixMillisecondsThreshold ? whole * TimeSpan.TicksPerSecond : whole * TimeSpan.TicksPerMillisecond;
        }
        else if (reader.TryGetDouble(out double number) && number > 0 && number <= 253_402_300_799_999)
        {
            // Whole and fractional parts apart: number × ticks-per-unit alone would exceed double's exact integer range.
            long unit = number < UnixMillisecondsThreshold ? TimeSpan.TicksPerSecond : TimeSpan.TicksPerMillisecond;
            double wholeUnits = Math.Floor(number);
            ticks = ((long)wholeUnits * unit) + (long)Math.Round((number - wholeUnits) * unit);
        }
        else
        {
            return false;
        }

        if (ticks > DateTimeOffset.MaxValue.Ticks - DateTimeOffset.UnixEpoch.Ticks)
        {
            return false;
        }

        time = DateTimeOffset.UnixEpoch.AddTicks(ticks);
        return true;
    }

    private static ReadOnlySpan<byte> SkipBom(ReadOnlySpan<byte> utf8) =>
        utf8.StartsWith("\uFEFF"u8) ? utf8[3..] : utf8;

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private readonly record struct RecordOutcome(InferenceRequest? Request, RequestLogRejectionReason Reason, string? Message)
    {
        public static RecordOutcome Reject(RequestLogRejectionReason reason, string message) => new(null, reason, message);
    }

    /// <summary>What one object said; the first problem found is the one reported.</summary>
    private struct RecordFields
    {
        public string? Model;
        public string? Tenant;
        public string? Pool;
        public string? Node;
        public string? Dataset;
        public string? Status;
        public DateTimeOffset? Timestamp;
        public long? FlatPrompt;
        public long? FlatCompletion;
        public long? FlatTotal;
        public long? UsagePrompt;
        public long? UsageCompletion;
        public long? UsageTotal;
        public double? LatencyMs;
        public double? TimeToFirstTokenMs;
        public RequestLogRejectionReason? FailureReason;
        public string? FailureMessage;

        public void Fail(RequestLogRejectionReason reason, string message)
        {
            if (FailureReason is null)
            {
                FailureReason = reason;
                FailureMessage = message;
            }
        }

        public readonly RecordOutcome Finish(DateTimeOffset now, RequestLogParserOptions options)
        {
            if (FailureReason is RequestLogRejectionReason failure)
            {
                return RecordOutcome.Reject(failure, FailureMessage!);
            }

            if (Model is null)
            {
                return RecordOutcome.Reject(RequestLogRejectionReason.MissingModel, "model is missing or empty");
            }

            if (Timestamp is not DateTimeOffset timestamp)
            {
                return RecordOutcome.Reject(RequestLogRejectionReason.MissingTimestamp, "timestamp is missing");
            }

            if (timestamp > now + options.MaxFutureSkew)
            {
                return RecordOutcome.Reject(
                    RequestLogRejectionReason.FutureTimestamp,
                    string.Create(CultureInfo.InvariantCulture, $"timestamp {timestamp:O} is more than {options.MaxFutureSkew} after {now:O}"));
            }

            if (!TryMerge(FlatPrompt, UsagePrompt, out long? prompt)
                || !TryMerge(FlatCompletion, UsageCompletion, out long? completion)
                || !TryMerge(FlatTotal, UsageTotal, out long? total))
            {
                return RecordOutcome.Reject(RequestLogRejectionReason.InconsistentTokens, "flat and usage token counts differ");
            }

            if (total is long sum)
            {
                if (prompt is null && completion is null)
                {
                    return RecordOutcome.Reject(RequestLogRejectionReason.InconsistentTokens, "total_tokens without prompt_tokens or completion_tokens");
                }

                prompt ??= sum - completion;
                completion ??= sum - prompt;
                if (prompt < 0 || completion < 0 || prompt + completion != sum)
                {
                    return RecordOutcome.Reject(
                        RequestLogRejectionReason.InconsistentTokens,
                        string.Create(CultureInfo.InvariantCulture, $"total_tokens {sum} is not prompt_tokens + completion_tokens"));
                }
            }

            return new RecordOutcome(
                new InferenceRequest
                {
                    Timestamp = timestamp,
                    Model = Model,
                    Tenant = Tenant,
                    Pool = Pool,
                    Node = Node,
                    Dataset = Dataset,
                    Status = Status,
                    PromptTokens = prompt ?? 0,
                    CompletionTokens = completion ?? 0,
                    LatencyMs = LatencyMs,
                    TimeToFirstTokenMs = TimeToFirstTokenMs,
                },
                default,
                null);
        }

        private static bool TryMerge(long? flat, long? usage, out long? merged)
        {
            merged = usage ?? flat;
            return flat is null || usage is null || flat == usage;
        }
    }
}

/// <summary>RFC 3339 date-times: <c>YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|±hh:mm)</c>; the zone is required.</summary>
public static class Rfc3339
{
    /// <summary>Parses an RFC 3339 date-time to UTC. Fractions beyond 100 ns are truncated; leap seconds are rejected.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length < 20
            || text[4] != '-' || text[7] != '-' || text[10] is not ((byte)'T' or (byte)'t' or (byte)' ')
            || text[13] != ':' || text[16] != ':'
            || !TryDigits(text[..4], out int year) || !TryDigits(text.Slice(5, 2), out int month) || !TryDigits(text.Slice(8, 2), out int day)
            || !TryDigits(text.Slice(11, 2), out int hour) || !TryDigits(text.Slice(14, 2), out int minute) || !TryDigits(text.Slice(17, 2), out int second))
        {
            return false;
        }

        int i = 19;
        long fractionTicks = 0;
        if (text[i] == '.')
        {
            i++;
            int digits = 0;
            long scale = TimeSpan.TicksPerSecond;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]))
            {
                if (digits < 7)
                {
                    scale /= 10;
                    fractionTicks += (text[i] - '0') * scale;
                }

                digits++;
                i++;
            }

            if (digits == 0)
            {
                return false;
            }
        }

        TimeSpan offset;
        ReadOnlySpan<byte> zone = text[i..];
        if (zone.Length == 1 && zone[0] is (byte)'Z' or (byte)'z')
        {
            offset = TimeSpan.Zero;
        }
        else if (zone.Length == 6 && zone[0] is (byte)'+' or (byte)'-' && zone[3] == ':'
                 && TryDigits(zone.Slice(1, 2), out int offsetHours) && TryDigits(zone.Slice(4, 2), out int offsetMinutes)
                 && offsetHours <= 14 && offsetMinutes <= 59)
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (zone[0] == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        long utcTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return false;
        }

        value = new DateTimeOffset(utcTicks, TimeSpan.Zero);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> digits, out int value) =>
        Utf8Parser.TryParse(digits, out value, out int consumed) && consumed == digits.Length && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
}

/// <summary>What one parse call reuses from record to record.</summary>
internal sealed class ParseScratch
{
    public Utf8StringCache Strings { get; } = new();

    /// <summary>The keys of the current record that the parser does not read, to find one given twice.</summary>
    public HashSet<string> OtherKeys { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Reuses the string of a recently seen UTF-8 value (model, tenant, pool...), so a body with millions of records
/// allocates each distinct name about once. Direct-mapped, 64 entries: bounded memory, no eviction policy needed.
/// </summary>
internal sealed class Utf8StringCache
{
    private const int Size = 64;
    private readonly byte[]?[] _keys = new byte[Size][];
    private readonly string?[] _values = new string[Size];

    public string Get(ReadOnlySpan<byte> utf8)
    {
        uint hash = 2166136261;
        foreach (byte b in utf8)
        {
            hash = (hash ^ b) * 16777619;
        }

        int slot = (int)(hash % Size);
        if (_keys[slot] is byte[] key && utf8.SequenceEqual(key))
        {
            return _values[slot]!;
        }

        string value = Encoding.UTF8.GetString(utf8);
        _keys[slot] = utf8.ToArray();
        _values[slot] = value;
        return value;
    }
}
