using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>Request-log files to follow. Configuration section <c>Collector:RequestLogs:Files</c>.</summary>
public sealed class JsonlTailOptions
{
    public const string SectionName = "Collector:RequestLogs:Files";

    /// <summary>Globs of JSONL files: a folder and a file-name pattern with <c>*</c> and <c>?</c>, e.g. <c>/var/log/llm/*.jsonl</c>.</summary>
    public List<string> Paths { get; set; } = [];

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most bytes read from one file per poll.</summary>
    public int MaxReadBytes { get; set; } = 8 << 20;

    /// <summary>Longest line; a longer one is skipped with an error.</summary>
    public int MaxLineBytes { get; set; } = 1 << 20;

    /// <summary>The tenant stamped on every record from these files; empty keeps each record's own.</summary>
    public string? Tenant { get; set; }

    /// <summary>Forget a file not seen for this long.</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromDays(7);
}

public sealed class JsonlTailOptionsValidator : IValidateOptions<JsonlTailOptions>
{
    public ValidateOptionsResult Validate(string? name, JsonlTailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = JsonlTailOptions.SectionName + ":";
        for (int i = 0; i < options.Paths.Count; i++)
        {
            string path = options.Paths[i] ?? string.Empty;
            string? folder = Path.GetDirectoryName(path);
            if (path.Length == 0 || string.IsNullOrEmpty(folder) || folder.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}Paths:{i} must be a folder without wildcards and a file pattern (got '{path}')."));
            }
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(50))
        {
            failures.Add($"{p}PollInterval must be at least 50 ms.");
        }

        if (options.MaxReadBytes < 4096 || options.MaxLineBytes < 1024 || options.MaxLineBytes > options.MaxReadBytes)
        {
            failures.Add($"{p}MaxReadBytes must be at least 4096 and {p}MaxLineBytes between 1024 and {p}MaxReadBytes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Follows JSONL request-log files by glob. A file is known by a fingerprint of its first line, not by its name, so a
/// rotated file (renamed, a new one created) keeps its position and the new one starts at 0; a file cut shorter than
/// its position (copy-truncate) starts again at 0. Only complete lines are read. Positions are saved in a state file
/// and, atomically with the records, in the request journal, so a restart neither skips nor repeats lines.
/// </summary>
public sealed partial class JsonlTailService : BackgroundService
{
    public const string Source = "request_log_file";
    private const int FingerprintBytes = 4096;

    private readonly JsonlTailOptions _options;
    private readonly RequestLogPipeline _pipeline;
    private readonly CollectorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<JsonlTailService> _logger;
    private readonly LogThrottle _throttle;
    private readonly string _statePath;
    private readonly RequestLogParser _parser;
    private Dictionary<string, FileState> _state = new(StringComparer.Ordinal);

    public JsonlTailService(
        IOptions<JsonlTailOptions> options,
        IOptions<SpoolOptions> spool,
        IOptions<RequestLogOptions> requestLogs,
        RequestLogPipeline pipeline,
        CollectorMetrics metrics,
        TimeProvider time,
        ILogger<JsonlTailService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(requestLogs);
        _options = options.Value;
        _pipeline = pipeline;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _throttle = new LogThrottle(time, TimeSpan.FromMinutes(1));
        _statePath = Path.Combine(spool.Value.Directory, "requests", "files.state");
        _parser = new RequestLogParser(requestLogs.Value.Parser);
    }

    /// <summary>A followed file's position.</summary>
    public sealed class FileState
    {
        public string Path { get; set; } = string.Empty;

        public long Offset { get; set; }

        /// <summary>Lines before <see cref="Offset"/>, to name a refused line by its number in the file.</summary>
        public long Lines { get; set; }

        public long LastSeenUnixSeconds { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.Paths.Count == 0)
        {
            return;
        }

        LoadState();
        using var timer = new PeriodicTimer(_options.PollInterval, _time);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (IOException ex)
            {
                if (_throttle.ShouldLog("io", out long suppressed))
                {
                    LogIoError(_logger, ex.Message, suppressed);
                }
            }
        }
        while (await timer.TryWaitForNextTickAsync(stoppingToken));
    }

    internal async Task PollAsync(CancellationToken cancellationToken)
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        foreach (string file in ExpandGlobs())
        {
            string? fingerprint = Fingerprint(file);
            if (fingerprint is null)
            {
                continue; // no complete first line yet
            }

            if (!_state.TryGetValue(fingerprint, out FileState? state))
            {
                state = new FileState { Path = file };
                _state[fingerprint] = state;
            }

            state.Path = file;
            state.LastSeenUnixSeconds = now;
            while (await ReadMoreAsync(file, fingerprint, state, cancellationToken))
            {
                // Keep reading while whole chunks come back.
            }
        }

        foreach (string stale in _state.Where(kv => now - kv.Value.LastSeenUnixSeconds > _options.ForgetAfter.TotalSeconds).Select(kv => kv.Key).ToList())
        {
            _state.Remove(stale);
        }
    }

    /// <summary>Reads up to <see cref="JsonlTailOptions.MaxReadBytes"/> of complete lines; true if it may have more.</summary>
    private async Task<bool> ReadMoreAsync(string file, string fingerprint, FileState state, CancellationToken cancellationToken)
    {
        byte[] chunk;
        int usable;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (stream.Length < state.Offset)
            {
                state.Offset = 0; // truncated and written again
                state.Lines = 0;
            }

            if (stream.Length == state.Offset)
            {
                return false;
            }

            stream.Position = state.Offset;
            chunk = new byte[(int)Math.Min(stream.Length - state.Offset, _options.MaxReadBytes)];
            await stream.ReadExactlyAsync(chunk, cancellationToken);
            usable = chunk.AsSpan().LastIndexOf((byte)'\n') + 1;
        }

        if (usable == 0)
        {
            if (chunk.Length < _options.MaxLineBytes)
            {
                return false; // the last line is not complete yet
            }

            // A line longer than the limit: skip to its end on a later read.
            usable = chunk.Length;
            _metrics.Rejected(Source, 1);
            if (_throttle.ShouldLog(file + ":long", out long held))
            {
                LogLongLine(_logger, file, state.Offset, _options.MaxLineBytes, held);
            }
        }

        RequestLogParseResult parsed = _parser.ParseNdjson(chunk.AsSpan(0, usable), _time.GetUtcNow(), state.Lines + 1);
        IReadOnlyList<InferenceRequest> records = string.IsNullOrEmpty(_options.Tenant)
            ? parsed.Requests
            : parsed.Requests.Select(r => r with { Tenant = _options.Tenant }).ToList();
        long newOffset = state.Offset + usable;
        long newLines = state.Lines + chunk.AsSpan(0, usable).Count((byte)'\n');
        RequestLogRefusals? refused = await _pipeline.AppendAsync(records, (fingerprint, newOffset, newLines), () =>
        {
            state.Offset = newOffset;
            state.Lines = newLines;
            SaveState();
        }, cancellationToken);
        if (refused is null)
        {
            return false; // journal full: try again on the next poll
        }

        int rejected = parsed.Rejections.Count + refused.Count;
        _metrics.Received(Source, records.Count - refused.Count);
        _metrics.Rejected(Source, rejected);
        if (rejected > 0 && _throttle.ShouldLog(file, out long suppressed))
        {
            RequestLogRejection first = FirstRejection(parsed, refused, records);
            LogRejected(_logger, file, rejected, first.ToString(), suppressed);
        }

        return usable == chunk.Length && chunk.Length == _options.MaxReadBytes;
    }

    /// <summary>The refused line that comes first in the file.</summary>
    private RequestLogRejection FirstRejection(RequestLogParseResult parsed, RequestLogRefusals refused, IReadOnlyList<InferenceRequest> records)
    {
        IEnumerable<RequestLogRejection> all = parsed.Rejections
            .Concat(refused.Late.Select(i => parsed.Reject(i, RequestLogRejectionReason.LateRecord, _pipeline.LateRecordMessage(records[i]))))
            .Concat(refused.TooManyOpenGroups.Select(i => parsed.Reject(i, RequestLogRejectionReason.TooManyOpenGroups, _pipeline.TooManyOpenGroupsMessage(records[i]))));
        return all.MinBy(r => r.LineNumber)!;
    }

    private IEnumerable<string> ExpandGlobs()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string glob in _options.Paths)
        {
            string folder = Path.GetDirectoryName(glob)!;
            string pattern = Path.GetFileName(glob);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(folder, pattern).Order(StringComparer.Ordinal))
            {
                if (seen.Add(file))
                {
                    yield return file;
                }
            }
        }
    }

    private static string? Fingerprint(string file)
    {
        byte[] head = new byte[FingerprintBytes];
        int read;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        int newline = head.AsSpan(0, read).IndexOf((byte)'\n');
        if (newline < 0 && read < FingerprintBytes)
        {
            return null;
        }

        int length = newline < 0 ? read : newline + 1;
        return Convert.ToHexStringLower(SHA256.HashData(head.AsSpan(0, length)))[..32];
    }

    private void LoadState()
    {
        if (File.Exists(_statePath))
        {
            _state = JsonSerializer.Deserialize(File.ReadAllText(_statePath), TailStateContext.Default.DictionaryStringFileState)
                ?? new Dictionary<string, FileState>(StringComparer.Ordinal);
            _state = new Dictionary<string, FileState>(_state, StringComparer.Ordinal);
        }

        // Positions journaled with their records but not yet saved here (a crash in between) win.
        foreach ((string key, (long position, long lines)) in _pipeline.ReadJournalCheckpoints())
        {
            if (_state.TryGetValue(key, out FileState? state))
            {
                if (position > state.Offset)
                {
                    state.Offset = position;
                    state.Lines = Math.Max(lines, 0);
                }
            }
            else
            {
                _state[key] = new FileState { Offset = position, Lines = Math.Max(lines, 0), LastSeenUnixSeconds = _time.GetUtcNow().ToUnixTimeSeconds() };
            }
        }
    }

    private void SaveState()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_statePath)!);
        string temp = _statePath + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_state, TailStateContext.Default.DictionaryStringFileState));
        File.Move(temp, _statePath, overwrite: true);
    }

    [LoggerMessage(EventId = 520, Level = LogLevel.Warning, Message = "Request log {File}: refused {Rejected} records; first: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogRejected(ILogger logger, string file, int rejected, string reason, long suppressed);

    [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "Request log {File}: a line at byte {Offset} is longer than {Limit} bytes and was skipped ({Suppressed} similar warnings suppressed)")]
    private static partial void LogLongLine(ILogger logger, string file, long offset, int limit, long suppressed);

    [LoggerMessage(EventId = 522, Level = LogLevel.Warning, Message = "Request log files could not be read: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogIoError(ILogger logger, string reason, long suppressed);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, JsonlTailService.FileState>))]
internal sealed partial class TailStateContext : System.Text.Json.Serialization.JsonSerializerContext;
