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
/// The journal's read position only passes records whose windows are closed and spooled, and the close watermark is
/// saved after each emission, so after a crash the journal is replayed into the open windows and records of windows
/// already emitted are skipped: no window is lost, none is emitted twice with different content. The late check at
/// ingest and the consumer's drain-then-close hold the same gate, so a record acknowledged as on time is never found
/// late afterwards.
/// </remarks>
public sealed partial class RequestLogPipeline : BackgroundService
{
    public const string Source = "request_log";
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
        _journalParser = new RequestLogParser(new RequestLogParserOptions { MaxFutureSkew = TimeSpan.FromDays(36_500), MaxRecordBytes = 1 << 20 });
        string watermark = Path.Combine(_directory, WatermarkFile);
        if (File.Exists(watermark))
        {
            long ticks = long.Parse(File.ReadAllText(watermark).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            _aggregator.RestoreClosedBefore(new DateTimeOffset(ticks, TimeSpan.Zero));
            _closedBeforeTicks = ticks;
        }
    }

    /// <summary>Windows that are closed: records for them are refused as late.</summary>
    public DateTimeOffset? ClosedBefore => _closedBeforeTicks == long.MinValue ? null : new DateTimeOffset(Interlocked.Read(ref _closedBeforeTicks), TimeSpan.Zero);

    /// <summary>
    /// Checks lateness and appends the on-time records to the journal. Returns the late ones, or null when the journal
    /// is full (nothing was taken; answer 429).
    /// </summary>
    public Task<List<InferenceRequest>?> AppendAsync(IReadOnlyList<InferenceRequest> records, CancellationToken cancellationToken) =>
        AppendAsync(records, checkpoint: null, afterAppend: null, cancellationToken);

    /// <summary>
    /// Appends records together with a source checkpoint (a file tailer's position), in one journal record, and runs
    /// <paramref name="afterAppend"/> before the journal can move past it: after a crash the checkpoint is either in
    /// the caller's own state or still in the journal (<see cref="ReadJournalCheckpoints"/>).
    /// </summary>
    public async Task<List<InferenceRequest>?> AppendAsync(
        IReadOnlyList<InferenceRequest> records,
        (string Key, long Position)? checkpoint,
        Action? afterAppend,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var late = new List<InferenceRequest>();
            var onTime = new List<InferenceRequest>(records.Count);
            foreach (InferenceRequest r in records)
            {
                (_aggregator.WindowStartOf(r.Timestamp).UtcTicks < _closedBeforeTicks ? late : onTime).Add(r);
            }

            if (onTime.Count > 0 || checkpoint is not null)
            {
                byte[] ndjson = Serialize(onTime, checkpoint);
                if (!await _journal.AppendAsync(ndjson, Math.Max(1, onTime.Count), cancellationToken))
                {
                    return null;
                }
            }

            afterAppend?.Invoke();
            return late;
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

                    _aggregator.Add(request);
                    if (_options.StoreRawRequests)
                    {
                        _raw ??= new LineProtocolWriter(WritePrecision.Nanoseconds, 256 * 1024);
                        request.WriteTo(_raw);
                    }
                }

                _consumed.Enqueue((batch, maxStart));
                _lastConsumed = batch;
            }

            closed = _aggregator.Advance(_time.GetUtcNow());
            if (_aggregator.ClosedBefore is { } watermark)
            {
                Interlocked.Exchange(ref _closedBeforeTicks, watermark.UtcTicks);
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

    /// <summary>The latest checkpoint per key in the journal records not yet passed.</summary>
    public Dictionary<string, long> ReadJournalCheckpoints()
    {
        var checkpoints = new Dictionary<string, long>(StringComparer.Ordinal);
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
                checkpoints[c.GetProperty("key").GetString()!] = c.GetProperty("position").GetInt64();
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

    private static byte[] Serialize(List<InferenceRequest> records, (string Key, long Position)? checkpoint)
    {
        var buffer = new ArrayBufferWriter<byte>(records.Count * 160);
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
