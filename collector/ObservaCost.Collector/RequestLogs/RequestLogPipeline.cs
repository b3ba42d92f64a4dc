using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>Request-log settings. Configuration section <c>Collector:RequestLogs</c>.</summary>
public sealed class RequestLogOptions
{
    public const string SectionName = "Collector:RequestLogs";

    public InferenceWindowAggregatorOptions Aggregation { get; set; } = new();

    public RequestLogParserOptions Parser { get; set; } = new();

    /// <summary>Also store every request as an <c>inference_request</c> point; off: only windows are stored.</summary>
    public bool StoreRawRequests { get; set; }

    /// <summary>Largest request journal on disk; beyond it ingest answers 429.</summary>
    public long JournalMaxBytes { get; set; } = 256L << 20;
}

public sealed class RequestLogOptionsValidator : IValidateOptions<RequestLogOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        ValidateOptionsResult aggregation = new InferenceWindowAggregatorOptionsValidator().Validate(name, options.Aggregation);
        ValidateOptionsResult parser = new RequestLogParserOptionsValidator().Validate(name, options.Parser);
        if (aggregation.Failed)
        {
            failures.AddRange(aggregation.Failures);
        }

        if (parser.Failed)
        {
            failures.AddRange(parser.Failures);
        }

        if (options.JournalMaxBytes < 1 << 20)
        {
            failures.Add($"{RequestLogOptions.SectionName}:JournalMaxBytes must be at least 1 MiB.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Durable aggregation of request logs into <see cref="InferenceWindow"/>s. Accepted records go to an on-disk journal
/// before they are acknowledged; one consumer aggregates the journal and, as windows close, puts them in the spool.
/// </summary>
/// <remarks>
/// <para>
/// Nothing acknowledged is dropped later: a record is refused in the answer (with the others kept) when its window is
/// closed (late) or when it would open a group beyond <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/>;
/// groups are admitted under the same gate as the journal append, so the consumer never meets a record it cannot count.
/// </para>
/// <para>
/// With <see cref="RequestLogOptions.StoreRawRequests"/>, each raw request is stored at its own nanosecond (see
/// <see cref="RawRequestTimes"/>): N distinct requests in one instant are N points, and a replay of the journal after a
/// crash gives each the same time again, so it overwrites instead of duplicating.
/// </para>
/// The journal's read position only passes records whose windows are closed and spooled, and the close watermark is
/// saved after each emission, so after a crash the journal is replayed into the open windows and records of windows
/// already emitted are skipped: no window is lost, none is emitted twice with different content. The late check at
/// ingest and the consumer's drain-then-close hold the same gate, so a record acknowledged as on time is never found
/// late afterwards.
/// </remarks>
public sealed partial class RequestLogPipeline : BackgroundService
{
    public const string Source = InferenceWindowSources.RequestLog;
    private const string RawSource = "request_log_raw";
    private const string WatermarkFile = "closed.watermark";

    private readonly RequestLogOptions _options;
    private readonly IngestPipeline _spool;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestLogPipeline> _logger;
    private readonly DiskSpool _journal;
    private readonly string _directory;
    private readonly InferenceWindowAggregator _aggregator;
    private readonly RequestLogParser _journalParser;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Queue<(SpoolBatch Batch, long MaxWindowStartTicks)> _consumed = new();
    private readonly List<InferenceWindow> _unspooled = [];
    private SpoolBatch? _lastConsumed;
    private readonly RawRequestTimes _rawTimes = new();
    private LineProtocolWriter? _raw;
    private long _closedBeforeTicks = long.MinValue;

    public RequestLogPipeline(IOptions<RequestLogOptions> options, IOptions<SpoolOptions> spoolOptions, IngestPipeline spool, TimeProvider time, ILogger<RequestLogPipeline> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(spoolOptions);
        _options = options.Value;
        _spool = spool;
        _time = time;
        _logger = logger;
        _directory = Path.Combine(spoolOptions.Value.Directory, "requests");
        _journal = new DiskSpool(new SpoolOptions
        {
            Directory = _directory,
            MaxBytes = _options.JournalMaxBytes,
            SegmentBytes = Math.Min(16L << 20, _options.JournalMaxBytes),
            FlushToDisk = spoolOptions.Value.FlushToDisk,
        });
        _aggregator = new InferenceWindowAggregator(_options.Aggregation);
        MaxOpenGroups = _options.Aggregation.MaxOpenGroups;
        _journalParser = new RequestLogParser(new RequestLogParserOptions { MaxFutureSkew = TimeSpan.FromDays(36_500), MaxRecordBytes = 1 << 20 });
        string watermark = Path.Combine(_directory, WatermarkFile);
        if (File.Exists(watermark))
        {
            long ticks = long.Parse(File.ReadAllText(watermark).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            _aggregator.RestoreClosedBefore(new DateTimeOffset(ticks, TimeSpan.Zero));
            _closedBeforeTicks = ticks;
        }

        // After a restart the journal's records hold open groups: count them before any new record is admitted.
        DrainJournalLocked();
    }

    /// <summary>Windows that are closed: records for them are refused as late.</summary>
    public DateTimeOffset? ClosedBefore => _closedBeforeTicks == long.MinValue ? null : new DateTimeOffset(Interlocked.Read(ref _closedBeforeTicks), TimeSpan.Zero);

    /// <summary>The limit of open groups (from <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/>).</summary>
    public int MaxOpenGroups { get; }

    /// <summary>
    /// Checks lateness and the open-group limit and appends the admitted records to the journal. Returns the refused
    /// ones, or null when the journal is full (nothing was taken; answer 429).
    /// </summary>
    public Task<RequestLogRefusals?> AppendAsync(IReadOnlyList<InferenceRequest> records, CancellationToken cancellationToken) =>
        AppendAsync(records, checkpoint: null, afterAppend: null, cancellationToken);

    /// <summary>The reason given for a record refused because its group would exceed <see cref="MaxOpenGroups"/>.</summary>
    public string TooManyOpenGroupsMessage(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return string.Create(CultureInfo.InvariantCulture,
            $"{MaxOpenGroups} (window, model, tenant, pool, node, status) groups are open, and the record of {request.Timestamp:O} ({request.Model}) would open another; raise Collector:RequestLogs:Aggregation:MaxOpenGroups to count it");
    }

    /// <summary>The reason given for a record refused because its window is closed: what to do instead (import it).</summary>
    public string LateRecordMessage(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        DateTimeOffset start = _aggregator.WindowStartOf(request.Timestamp);
        return string.Create(CultureInfo.InvariantCulture,
            $"the window of {request.Timestamp:O} ({request.Model}) closed before {ClosedBefore:O} and live ingest never reopens it; import history with `ObservaCost.Collector {RequestLogImportCommand.Verb} FILE --from {start:yyyy-MM-ddTHH:mm:ssZ} --to {ClosedBefore:yyyy-MM-ddTHH:mm:ssZ}` (docs/collector.md)");
    }

    /// <summary>
    /// Appends records together with a source checkpoint (a file tailer's position), in one journal record, and runs
    /// <paramref name="afterAppend"/> before the journal can move past it: after a crash the checkpoint is either in
    /// the caller's own state or still in the journal (<see cref="ReadJournalCheckpoints"/>).
    /// </summary>
    public async Task<RequestLogRefusals?> AppendAsync(
        IReadOnlyList<InferenceRequest> records,
        (string Key, long Position, long Lines)? checkpoint,
        Action? afterAppend,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var refusals = new RequestLogRefusals();
            var admitted = new List<InferenceRequest>(records.Count);
            InferenceWindowAggregator.Admission admission = _aggregator.BeginAdmission();
            for (int i = 0; i < records.Count; i++)
            {
                InferenceRequest r = records[i];
                if (_aggregator.WindowStartOf(r.Timestamp).UtcTicks < _closedBeforeTicks)
                {
                    refusals.Late.Add(i);
                }
                else if (!admission.TryAdmit(r))
                {
                    refusals.TooManyOpenGroups.Add(i);
                }
                else
                {
                    admitted.Add(r);
                }
            }

            if (admitted.Count > 0 || checkpoint is not null)
            {
                byte[] ndjson = Serialize(admitted, checkpoint);
                if (!await _journal.AppendAsync(ndjson, Math.Max(1, admitted.Count), cancellationToken))
                {
                    return null;
                }
            }

            admission.Commit();
            afterAppend?.Invoke();
            return refusals;
        }
        finally
        {
            _gate.Release();
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _raw?.Dispose();
        _journal.Dispose();
        _gate.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StepAsync(stoppingToken);
                await _journal.WaitForDataAsync(TimeSpan.FromSeconds(1), stoppingToken);
                await Task.Delay(TimeSpan.FromMilliseconds(200), _time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Drains the journal into the aggregator, closes due windows, spools them, and moves the journal on.</summary>
    internal async Task StepAsync(CancellationToken cancellationToken)
    {
        if (_unspooled.Count > 0 && !await SpoolWindowsAsync(_unspooled, cancellationToken))
        {
            return;
        }

        if (_raw is { PointCount: > 0 } && !await _spool.AcceptAsync(_raw, RawSource, cancellationToken))
        {
            return; // the spool is full: read no more of the journal until the raw requests are in
        }

        _raw?.Reset();

        IReadOnlyList<InferenceWindow> closed;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            DrainJournalLocked();
            closed = _aggregator.Advance(_time.GetUtcNow());
            if (_aggregator.ClosedBefore is { } watermark && watermark.UtcTicks != _closedBeforeTicks)
            {
                Interlocked.Exchange(ref _closedBeforeTicks, watermark.UtcTicks);
                _rawTimes.Forget(watermark.UtcTicks);
            }
        }
        finally
        {
            _gate.Release();
        }

        _unspooled.AddRange(closed.Select(w => w with { Source = Source }));

        // Both the raw requests and the closed windows must be in the spool before the journal moves past them.
        if (_raw is { PointCount: > 0 })
        {
            if (!await _spool.AcceptAsync(_raw, RawSource, cancellationToken))
            {
                return;
            }

            _raw.Reset();
        }

        if (_unspooled.Count > 0 && !await SpoolWindowsAsync(_unspooled, cancellationToken))
        {
            return;
        }

        await CommitJournalAsync(cancellationToken);
    }

    /// <summary>Reads the journal records not read yet into the aggregator (and the raw writer). Under the gate.</summary>
    private void DrainJournalLocked()
    {
        while (_journal.ReadBatch(10_000, 8 << 20, _lastConsumed) is { } batch)
        {
            RequestLogParseResult parsed = _journalParser.ParseNdjson(batch.Lines, _time.GetUtcNow());
            long maxStart = long.MinValue;
            foreach (InferenceRequest request in parsed.Requests)
            {
                long start = _aggregator.WindowStartOf(request.Timestamp).UtcTicks;
                maxStart = Math.Max(maxStart, start);
                if (start < _closedBeforeTicks)
                {
                    continue; // replayed after a restart: its window was emitted already
                }

                _aggregator.AddAdmitted(request);
                if (_options.StoreRawRequests)
                {
                    _raw ??= new LineProtocolWriter(WritePrecision.Nanoseconds, 256 * 1024);
                    long windowStart = start;
                    long time = _rawTimes.Assign(request.Timestamp.UtcTicks, windowStart, windowStart + _options.Aggregation.WindowLength.Ticks);
                    request.WriteTo(_raw, time);
                }
            }

            _consumed.Enqueue((batch, maxStart));
            _lastConsumed = batch;
        }
    }

    private async Task<bool> SpoolWindowsAsync(List<InferenceWindow> windows, CancellationToken cancellationToken)
    {
        using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 64 * 1024);
        foreach (InferenceWindow window in windows)
        {
            if (!window.WriteTo(writer))
            {
                LogUnencodable(_logger, window.Model, writer.LastRejection ?? "unknown");
            }
        }

        if (!await _spool.AcceptAsync(writer, Source, cancellationToken))
        {
            LogSpoolFull(_logger, windows.Count);
            return false;
        }

        windows.Clear();
        return true;
    }

    /// <summary>The latest checkpoint (byte position, lines before it) per key in the journal records not yet passed.</summary>
    public Dictionary<string, (long Position, long Lines)> ReadJournalCheckpoints()
    {
        var checkpoints = new Dictionary<string, (long Position, long Lines)>(StringComparer.Ordinal);
        SpoolBatch? after = null;
        while (_journal.ReadBatch(10_000, 8 << 20, after) is { } batch)
        {
            ReadOnlySpan<byte> rest = batch.Lines;
            while (!rest.IsEmpty)
            {
                int end = rest.IndexOf((byte)'\n');
                ReadOnlySpan<byte> line = end < 0 ? rest : rest[..end];
                rest = end < 0 ? [] : rest[(end + 1)..];
                if (!line.StartsWith(CheckpointPrefix))
                {
                    continue;
                }

                using JsonDocument doc = JsonDocument.Parse(line.ToArray());
                JsonElement c = doc.RootElement.GetProperty("@checkpoint");
                checkpoints[c.GetProperty("key").GetString()!] =
                    (c.GetProperty("position").GetInt64(), c.TryGetProperty("lines", out JsonElement lines) ? lines.GetInt64() : -1);
            }

            after = batch;
        }

        return checkpoints;
    }

    private static ReadOnlySpan<byte> CheckpointPrefix => "{\"@checkpoint\""u8;

    private async Task CommitJournalAsync(CancellationToken cancellationToken)
    {
        long watermark = Interlocked.Read(ref _closedBeforeTicks);
        if (watermark == long.MinValue)
        {
            return;
        }

        // Under the gate: a checkpoint appended with its caller's state save is never passed in between.
        await _gate.WaitAsync(cancellationToken);
        try
        {
            CommitJournalLocked(watermark);
        }
        finally
        {
            _gate.Release();
        }
    }

    private void CommitJournalLocked(long watermark)
    {
        string path = Path.Combine(_directory, WatermarkFile);
        File.WriteAllText(path + ".tmp", watermark.ToString(CultureInfo.InvariantCulture));
        File.Move(path + ".tmp", path, overwrite: true);
        while (_consumed.TryPeek(out (SpoolBatch Batch, long MaxWindowStartTicks) head) && head.MaxWindowStartTicks < watermark)
        {
            _journal.Commit(_consumed.Dequeue().Batch);
        }
    }

    private static byte[] Serialize(List<InferenceRequest> records, (string Key, long Position, long Lines)? checkpoint)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, records.Count * 160)); // a checkpoint alone (every line refused) too
        using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        foreach (InferenceRequest r in records)
        {
            json.WriteStartObject();
            json.WriteString("timestamp", r.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("model", r.Model);
            WriteOptional(json, "tenant", r.Tenant);
            WriteOptional(json, "pool", r.Pool);
            WriteOptional(json, "node", r.Node);
            WriteOptional(json, "status", r.Status);
            WriteOptional(json, "dataset", r.Dataset);
            json.WriteNumber("prompt_tokens", r.PromptTokens);
            json.WriteNumber("completion_tokens", r.CompletionTokens);
            if (r.LatencyMs is { } latency)
            {
                json.WriteNumber("latency_ms", latency);
            }

            if (r.TimeToFirstTokenMs is { } ttft)
            {
                json.WriteNumber("ttft_ms", ttft);
            }

            json.WriteEndObject();
            json.Flush();
            buffer.Write("\n"u8);
            json.Reset();
        }

        if (checkpoint is { } c)
        {
            json.WriteStartObject();
            json.WriteStartObject("@checkpoint");
            json.WriteString("key", c.Key);
            json.WriteNumber("position", c.Position);
            json.WriteNumber("lines", c.Lines);
            json.WriteEndObject();
            json.WriteEndObject();
            json.Flush();
            buffer.Write("\n"u8);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "The spool is full; {Windows} closed inference windows wait in memory")]
    private static partial void LogSpoolFull(ILogger logger, int windows);

    [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "An inference window of model {Model} cannot be encoded: {Reason}")]
    private static partial void LogUnencodable(ILogger logger, string model, string reason);
}

/// <summary>The records <see cref="RequestLogPipeline.AppendAsync(IReadOnlyList{InferenceRequest}, CancellationToken)"/> refused, by their index in the list given.</summary>
public sealed class RequestLogRefusals
{
    /// <summary>Records whose window was already closed.</summary>
    public List<int> Late { get; } = [];

    /// <summary>Records that would open a group beyond <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/>.</summary>
    public List<int> TooManyOpenGroups { get; } = [];

    public int Count => Late.Count + TooManyOpenGroups.Count;
}
