using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>Settings of <see cref="NvidiaSmiPoller"/> (configuration section <c>Collector:NvidiaSmi</c>).</summary>
public sealed class NvidiaSmiPollerOptions
{
    /// <summary>The executable: <c>nvidia-smi</c> on the PATH, or a full path.</summary>
    public string CommandPath { get; set; } = "nvidia-smi";

    /// <summary>Arguments placed before the query arguments, e.g. to run nvidia-smi through a wrapper.</summary>
    public IList<string> PrefixArguments { get; } = [];

    /// <summary>The command is killed (with its children) when it runs longer than this.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Standard output beyond this many bytes kills the command and fails the poll.</summary>
    public int MaxOutputBytes { get; set; } = 1024 * 1024;

    /// <summary>Standard error is kept up to this many bytes; the rest is read and dropped.</summary>
    public int MaxErrorBytes { get; set; } = 16 * 1024;

    /// <summary>The node the GPUs belong to (<see cref="GpuSample.Node"/>).</summary>
    public string Node { get; set; } = string.Empty;

    public string? Cluster { get; set; }

    public string? Pool { get; set; }
}

/// <summary>Checks <see cref="NvidiaSmiPollerOptions"/> and reports every failure, naming its key.</summary>
public sealed class NvidiaSmiPollerOptionsValidator : IValidateOptions<NvidiaSmiPollerOptions>
{
    public ValidateOptionsResult Validate(string? name, NvidiaSmiPollerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.CommandPath))
        {
            failures.Add("Collector:NvidiaSmi:CommandPath must name an executable.");
        }

        if (string.IsNullOrWhiteSpace(options.Node))
        {
            failures.Add("Collector:NvidiaSmi:Node must be set.");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add("Collector:NvidiaSmi:Timeout must be positive.");
        }

        if (options.MaxOutputBytes <= 0)
        {
            failures.Add("Collector:NvidiaSmi:MaxOutputBytes must be positive.");
        }

        if (options.MaxErrorBytes < 0)
        {
            failures.Add("Collector:NvidiaSmi:MaxErrorBytes must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>How a poll ended.</summary>
public enum NvidiaSmiPollStatus
{
    /// <summary>The command exited 0 and its output was parsed (see <see cref="NvidiaSmiPollResult.Errors"/> for bad lines).</summary>
    Succeeded,

    /// <summary>The command could not be started (not found, not executable).</summary>
    StartFailed,

    /// <summary>The command ran longer than the timeout and was killed.</summary>
    TimedOut,

    /// <summary>The command exited with a non-zero code; its output is not parsed.</summary>
    NonZeroExit,

    /// <summary>The command wrote more than the output limit and was killed.</summary>
    OutputTooLarge,
}

/// <summary>The outcome of one poll.</summary>
public sealed record NvidiaSmiPollResult
{
    public required NvidiaSmiPollStatus Status { get; init; }

    /// <summary>The time the poll started; every sample carries it.</summary>
    public required DateTimeOffset SampleTime { get; init; }

    /// <summary>The field list the command was run with (<see cref="NvidiaSmiQuery.Fields"/> or the legacy list).</summary>
    public required string Fields { get; init; }

    public IReadOnlyList<NvidiaSmiGpuRow> Rows { get; init; } = [];

    public IReadOnlyList<GpuSample> Samples { get; init; } = [];

    /// <summary>Lines of the output that could not be parsed.</summary>
    public IReadOnlyList<NvidiaSmiParseError> Errors { get; init; } = [];

    public int? ExitCode { get; init; }

    /// <summary>Standard error, cut at the configured limit.</summary>
    public string StandardError { get; init; } = string.Empty;

    /// <summary>Why the poll failed, for logs; null on success.</summary>
    public string? FailureMessage { get; init; }
}

/// <summary>
/// Runs <c>nvidia-smi --query-gpu=... --format=csv,noheader,nounits</c> as a child process and parses its output.
/// The command has a timeout and an output limit; on either it is killed with its children. If the driver rejects a
/// field of <see cref="NvidiaSmiQuery.Fields"/>, the poller retries once with <see cref="NvidiaSmiQuery.LegacyFields"/>
/// and keeps that list for later polls. One poll at a time per instance.
/// </summary>
public sealed partial class NvidiaSmiPoller
{
    private static readonly TimeSpan DrainAfterKill = TimeSpan.FromSeconds(5);

    private readonly NvidiaSmiPollerOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<NvidiaSmiPoller> _logger;
    private volatile string _fields = NvidiaSmiQuery.Fields;
    private string? _lastProblem;

    public NvidiaSmiPoller(IOptions<NvidiaSmiPollerOptions> options, TimeProvider timeProvider, ILogger<NvidiaSmiPoller> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ValidateOptionsResult validation = new NvidiaSmiPollerOptionsValidator().Validate(null, options.Value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(NvidiaSmiPollerOptions), typeof(NvidiaSmiPollerOptions), validation.Failures);
        }

        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The field list the next poll will use.</summary>
    public string Fields => _fields;

    /// <summary>Runs the command once. Throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> fires.</summary>
    public async Task<NvidiaSmiPollResult> PollAsync(CancellationToken cancellationToken = default)
    {
        string fields = _fields;
        NvidiaSmiPollResult result = await RunOnceAsync(fields, cancellationToken);
        if (result.Status == NvidiaSmiPollStatus.NonZeroExit
            && fields == NvidiaSmiQuery.Fields
            && result.FailureMessage is not null
            && result.FailureMessage.Contains(NvidiaSmiQuery.InvalidFieldMessage, StringComparison.Ordinal))
        {
            LogLegacyFields(_logger, result.FailureMessage);
            _fields = NvidiaSmiQuery.LegacyFields;
            result = await RunOnceAsync(NvidiaSmiQuery.LegacyFields, cancellationToken);
        }

        // The same failure every few seconds is logged once at Warning, then at Debug until it changes.
        string? problem = result.Status != NvidiaSmiPollStatus.Succeeded
            ? result.Status + ": " + result.FailureMessage
            : result.Errors.Count > 0 ? "bad lines: " + result.Errors[0].Reason : null;
        bool repeated = problem is not null && problem == _lastProblem;
        _lastProblem = problem;
        if (result.Status != NvidiaSmiPollStatus.Succeeded)
        {
            if (repeated)
            {
                LogPollFailedAgain(_logger, result.Status, result.FailureMessage ?? string.Empty);
            }
            else
            {
                LogPollFailed(_logger, result.Status, result.FailureMessage ?? string.Empty);
            }
        }
        else if (result.Errors.Count > 0)
        {
            if (repeated)
            {
                LogBadLinesAgain(_logger, result.Errors.Count, result.Errors[0].LineNumber, result.Errors[0].Reason);
            }
            else
            {
                LogBadLines(_logger, result.Errors.Count, result.Errors[0].LineNumber, result.Errors[0].Reason);
            }
        }

        return result;
    }

    private async Task<NvidiaSmiPollResult> RunOnceAsync(string fields, CancellationToken cancellationToken)
    {
        DateTimeOffset sampleTime = _timeProvider.GetUtcNow();
        var startInfo = new ProcessStartInfo(_options.CommandPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string argument in _options.PrefixArguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (string argument in NvidiaSmiQuery.Arguments(fields))
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            return new NvidiaSmiPollResult
            {
                Status = NvidiaSmiPollStatus.StartFailed,
                SampleTime = sampleTime,
                Fields = fields,
                FailureMessage = $"could not start {_options.CommandPath}: {ex.Message}",
            };
        }

        Task<BoundedOutput> stdoutTask = ReadBoundedAsync(process.StandardOutput.BaseStream, _options.MaxOutputBytes, stopAtLimit: true);
        Task<BoundedOutput> stderrTask = ReadBoundedAsync(process.StandardError.BaseStream, _options.MaxErrorBytes, stopAtLimit: false);
        using var timeout = new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);

        NvidiaSmiPollStatus? failure = null;
        BoundedOutput stdout = BoundedOutput.Empty;
        try
        {
            stdout = await stdoutTask.WaitAsync(linked.Token);
            if (stdout.Exceeded)
            {
                failure = NvidiaSmiPollStatus.OutputTooLarge;
            }
            else
            {
                await process.WaitForExitAsync(linked.Token);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failure = NvidiaSmiPollStatus.TimedOut;
        }
        finally
        {
            if (failure is not null || cancellationToken.IsCancellationRequested)
            {
                await KillAsync(process);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        string stderr = await DrainAsync(stderrTask);
        if (failure == NvidiaSmiPollStatus.TimedOut)
        {
            await DrainAsync(stdoutTask);
            return new NvidiaSmiPollResult
            {
                Status = NvidiaSmiPollStatus.TimedOut,
                SampleTime = sampleTime,
                Fields = fields,
                StandardError = stderr,
                FailureMessage = $"{_options.CommandPath} did not finish within {_options.Timeout.TotalSeconds:0.###} s and was killed",
            };
        }

        if (failure == NvidiaSmiPollStatus.OutputTooLarge)
        {
            return new NvidiaSmiPollResult
            {
                Status = NvidiaSmiPollStatus.OutputTooLarge,
                SampleTime = sampleTime,
                Fields = fields,
                StandardError = stderr,
                FailureMessage = $"{_options.CommandPath} wrote more than {_options.MaxOutputBytes} bytes and was killed",
            };
        }

        string output = Encoding.UTF8.GetString(stdout.Bytes);
        if (process.ExitCode != 0)
        {
            string detail = LineContaining(output, NvidiaSmiQuery.InvalidFieldMessage)
                ?? LineContaining(stderr, NvidiaSmiQuery.InvalidFieldMessage)
                ?? FirstLine(stderr) ?? FirstLine(output) ?? "no output";
            return new NvidiaSmiPollResult
            {
                Status = NvidiaSmiPollStatus.NonZeroExit,
                SampleTime = sampleTime,
                Fields = fields,
                ExitCode = process.ExitCode,
                StandardError = stderr,
                FailureMessage = $"{_options.CommandPath} exited with code {process.ExitCode}: {detail}",
            };
        }

        NvidiaSmiParseResult parsed = NvidiaSmiCsvParser.Parse(
            output,
            new NvidiaSmiSampleContext { SampleTime = sampleTime, Node = _options.Node, Cluster = _options.Cluster, Pool = _options.Pool },
            fields);
        return new NvidiaSmiPollResult
        {
            Status = NvidiaSmiPollStatus.Succeeded,
            SampleTime = sampleTime,
            Fields = fields,
            Rows = parsed.Rows,
            Samples = parsed.Samples,
            Errors = parsed.Errors,
            ExitCode = 0,
            StandardError = stderr,
        };
    }

    private static string? LineContaining(string text, string value)
    {
        foreach (ReadOnlySpan<char> line in text.AsSpan().EnumerateLines())
        {
            if (line.Contains(value, StringComparison.Ordinal))
            {
                return line.Trim().ToString();
            }
        }

        return null;
    }

    private static string? FirstLine(string text)
    {
        foreach (ReadOnlySpan<char> line in text.AsSpan().EnumerateLines())
        {
            if (!line.IsWhiteSpace())
            {
                return line.Trim().ToString();
            }
        }

        return null;
    }

    private async Task KillAsync(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // The process had already exited: nothing to kill.
            return;
        }

        using var drain = new CancellationTokenSource(DrainAfterKill, _timeProvider);
        try
        {
            await process.WaitForExitAsync(drain.Token);
        }
        catch (OperationCanceledException)
        {
            LogKillSlow(_logger, process.Id);
        }
    }

    private async Task<string> DrainAsync(Task<BoundedOutput> task)
    {
        try
        {
            BoundedOutput output = await task.WaitAsync(DrainAfterKill, _timeProvider);
            return Encoding.UTF8.GetString(output.Bytes);
        }
        catch (TimeoutException)
        {
            return string.Empty;
        }
    }

    /// <summary>Reads a stream to its end, keeping at most <paramref name="limit"/> bytes.</summary>
    private static async Task<BoundedOutput> ReadBoundedAsync(Stream stream, int limit, bool stopAtLimit)
    {
        var kept = new ArrayBufferWriter<byte>(Math.Min(limit + 1, 64 * 1024) + 1);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        bool exceeded = false;
        try
        {
            while (true)
            {
                int read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                int room = limit - kept.WrittenCount;
                if (read > room)
                {
                    exceeded = true;
                    kept.Write(buffer.AsSpan(0, Math.Max(room, 0)));
                    if (stopAtLimit)
                    {
                        break;
                    }
                }
                else
                {
                    kept.Write(buffer.AsSpan(0, read));
                }
            }
        }
        catch (IOException)
        {
            // The pipe broke because the process was killed: keep what was read.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new BoundedOutput(kept.WrittenSpan.ToArray(), exceeded);
    }

    private readonly record struct BoundedOutput(byte[] Bytes, bool Exceeded)
    {
        public static BoundedOutput Empty { get; } = new([], false);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "nvidia-smi poll failed ({Status}): {Reason}")]
    private static partial void LogPollFailed(ILogger logger, NvidiaSmiPollStatus status, string reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "nvidia-smi output had {Count} bad lines; first at line {LineNumber}: {Reason}")]
    private static partial void LogBadLines(ILogger logger, int count, int lineNumber, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "nvidia-smi rejected a power field, falling back to the legacy field list: {Reason}")]
    private static partial void LogLegacyFields(ILogger logger, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Debug, Message = "nvidia-smi poll failed again ({Status}): {Reason}")]
    private static partial void LogPollFailedAgain(ILogger logger, NvidiaSmiPollStatus status, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "nvidia-smi output again had {Count} bad lines; first at line {LineNumber}: {Reason}")]
    private static partial void LogBadLinesAgain(ILogger logger, int count, int lineNumber, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "nvidia-smi process {ProcessId} did not exit after being killed")]
    private static partial void LogKillSlow(ILogger logger, int processId);
}
