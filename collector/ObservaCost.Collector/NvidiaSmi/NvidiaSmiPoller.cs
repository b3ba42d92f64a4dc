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

    /// <summary>
    /// When a GPU's <c>mig.mode.current</c> is Enabled, also run <c>nvidia-smi -q -x</c> (one extra process per poll,
    /// only then) and write one <see cref="GpuSample"/> per MIG GPU instance (<see cref="NvidiaSmiMigParser"/>).
    /// </summary>
    public bool ReadMigInstances { get; set; } = true;

    /// <summary>
    /// Also run <c>nvidia-smi pmon -c 1 -s u</c> each poll and write one <c>gpu_workload</c> per GPU and process name
    /// with its SM utilization (<see cref="NvidiaSmiPmonParser"/>). Off by default: pmon samples for about a second.
    /// </summary>
    public bool PollProcessUtilization { get; set; }

    /// <summary>Most pmon workloads (process names) written per GPU per poll; the rest are counted and dropped.</summary>
    public int MaxWorkloadsPerGpu { get; set; } = 64;
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

        if (options.PollProcessUtilization && options.MaxWorkloadsPerGpu is < 1 or > 4096)
        {
            failures.Add("Collector:NvidiaSmi:MaxWorkloadsPerGpu must be between 1 and 4096 when Collector:NvidiaSmi:PollProcessUtilization is on.");
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

    /// <summary>One sample per GPU, then one per MIG GPU instance of the MIG GPUs (when read).</summary>
    public IReadOnlyList<GpuSample> Samples { get; init; } = [];

    /// <summary>Per-process workloads from <c>pmon</c>, when <see cref="NvidiaSmiPollerOptions.PollProcessUtilization"/> is on.</summary>
    public IReadOnlyList<GpuWorkloadSample> Workloads { get; init; } = [];

    /// <summary>pmon workloads beyond <see cref="NvidiaSmiPollerOptions.MaxWorkloadsPerGpu"/>; dropped.</summary>
    public int WorkloadsOverLimit { get; init; }

    /// <summary>Lines of the output that could not be parsed (query-gpu, and the MIG and pmon outputs when read).</summary>
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

        if (result.Status == NvidiaSmiPollStatus.Succeeded)
        {
            result = await AddMigAndProcessesAsync(result, cancellationToken);
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
        CommandOutcome run = await RunCommandAsync(NvidiaSmiQuery.Arguments(fields), cancellationToken);
        if (run.Failure is NvidiaSmiPollStatus failure)
        {
            return new NvidiaSmiPollResult
            {
                Status = failure,
                SampleTime = sampleTime,
                Fields = fields,
                ExitCode = run.ExitCode,
                StandardError = run.StandardError,
                FailureMessage = run.FailureMessage,
            };
        }

        NvidiaSmiParseResult parsed = NvidiaSmiCsvParser.Parse(
            run.Output,
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
            StandardError = run.StandardError,
        };
    }

    /// <summary>
    /// Reads the MIG instances (<c>-q -x</c>, only when a GPU is in MIG mode) and the processes (<c>pmon</c>, when
    /// configured). A failure of either is an error line of the poll; the query-gpu samples are kept.
    /// </summary>
    private async Task<NvidiaSmiPollResult> AddMigAndProcessesAsync(NvidiaSmiPollResult result, CancellationToken cancellationToken)
    {
        List<GpuSample> samples = [.. result.Samples];
        List<NvidiaSmiParseError> errors = [.. result.Errors];
        IReadOnlyList<GpuWorkloadSample> workloads = [];
        int overLimit = 0;
        if (_options.ReadMigInstances && result.Rows.Any(r => r.MigModeEnabled == true))
        {
            CommandOutcome run = await RunCommandAsync(NvidiaSmiQuery.MigArguments, cancellationToken);
            if (run.Failure is not null)
            {
                errors.Add(new NvidiaSmiParseError(0, "nvidia-smi -q -x: " + run.FailureMessage));
            }
            else
            {
                Dictionary<string, GpuSample> migGpus = result.Rows
                    .Where(r => r.MigModeEnabled == true && r.Sample.GpuUuid is not null)
                    .ToDictionary(r => r.Sample.GpuUuid!, r => r.Sample, StringComparer.Ordinal);
                (IReadOnlyList<GpuSample> instances, IReadOnlyList<NvidiaSmiParseError> migErrors) = NvidiaSmiMigParser.Parse(run.Output, migGpus);
                samples.AddRange(instances);
                errors.AddRange(migErrors);
            }
        }

        if (_options.PollProcessUtilization)
        {
            CommandOutcome run = await RunCommandAsync(NvidiaSmiQuery.PmonArguments, cancellationToken);
            if (run.Failure is not null)
            {
                errors.Add(new NvidiaSmiParseError(0, "nvidia-smi pmon: " + run.FailureMessage));
            }
            else
            {
                Dictionary<int, GpuSample> byIndex = result.Samples.GroupBy(s => s.GpuIndex).ToDictionary(g => g.Key, g => g.First());
                (workloads, IReadOnlyList<NvidiaSmiParseError> pmonErrors, overLimit) = NvidiaSmiPmonParser.Parse(run.Output, byIndex, _options.MaxWorkloadsPerGpu);
                errors.AddRange(pmonErrors);
                if (overLimit > 0)
                {
                    LogWorkloadLimit(_logger, overLimit, _options.MaxWorkloadsPerGpu);
                }
            }
        }

        return result with { Samples = samples, Errors = errors, Workloads = workloads, WorkloadsOverLimit = overLimit };
    }

    /// <summary>How one run of the command ended: its output, or the failure (status and message).</summary>
    private sealed record CommandOutcome(NvidiaSmiPollStatus? Failure, string Output, string StandardError, int? ExitCode, string? FailureMessage);

    /// <summary>Runs the command with <paramref name="arguments"/> under the timeout and output limit; the one way a child process is run.</summary>
    private async Task<CommandOutcome> RunCommandAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
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

        foreach (string argument in arguments)
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
            return new CommandOutcome(NvidiaSmiPollStatus.StartFailed, string.Empty, string.Empty, null, $"could not start {_options.CommandPath}: {ex.Message}");
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
            return new CommandOutcome(failure, string.Empty, stderr, null, $"{_options.CommandPath} did not finish within {_options.Timeout.TotalSeconds:0.###} s and was killed");
        }

        if (failure == NvidiaSmiPollStatus.OutputTooLarge)
        {
            return new CommandOutcome(failure, string.Empty, stderr, null, $"{_options.CommandPath} wrote more than {_options.MaxOutputBytes} bytes and was killed");
        }

        string output = Encoding.UTF8.GetString(stdout.Bytes);
        if (process.ExitCode != 0)
        {
            string detail = LineContaining(output, NvidiaSmiQuery.InvalidFieldMessage)
                ?? LineContaining(stderr, NvidiaSmiQuery.InvalidFieldMessage)
                ?? FirstLine(stderr) ?? FirstLine(output) ?? "no output";
            return new CommandOutcome(NvidiaSmiPollStatus.NonZeroExit, output, stderr, process.ExitCode, $"{_options.CommandPath} exited with code {process.ExitCode}: {detail}");
        }

        return new CommandOutcome(null, output, stderr, 0, null);
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

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "nvidia-smi pmon showed {Dropped} processes beyond {Limit} on one GPU (Collector:NvidiaSmi:MaxWorkloadsPerGpu); they were dropped")]
    private static partial void LogWorkloadLimit(ILogger logger, int dropped, int limit);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "nvidia-smi process {ProcessId} did not exit after being killed")]
    private static partial void LogKillSlow(ILogger logger, int processId);
}
