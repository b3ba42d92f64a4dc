using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.NvidiaSmi;

/// <summary>
/// The poller running real child processes: small shell scripts written to a temp folder stand in for nvidia-smi
/// (one cats a real capture, others fail, hang, flood or print garbage).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NvidiaSmiPollerTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly DateTimeOffset Start = new(2026, 7, 14, 8, 12, 53, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-smi-" + Guid.NewGuid().ToString("N")[..12]);

    public NvidiaSmiPollerTests()
    {
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string Capture(string name) =>
        RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "query-gpu-csv", name);

    private string Script(string name, string body)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static NvidiaSmiPoller Poller(string command, Action<NvidiaSmiPollerOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new NvidiaSmiPollerOptions { CommandPath = command, Node = "gpu-node-7", Cluster = "lab", Pool = "h100" };
        configure?.Invoke(options);
        return new NvidiaSmiPoller(Options.Create(options), time ?? new FakeTimeProvider(Start), NullLogger<NvidiaSmiPoller>.Instance);
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Fact]
    public async Task Poll_ScriptCattingARealCapture_ParsesItAndPassesTheQueryArguments()
    {
        string argsFile = Path.Combine(_dir, "args.txt");
        string command = Script(
            "smi-capture.sh",
            $"printf '%s\\n' \"$@\" > {Quote(argsFile)}\ncat {Quote(Capture("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv"))}");

        NvidiaSmiPollResult result = await Poller(command).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Errors);
        Assert.Equal(Start, result.SampleTime);
        GpuSample sample = Assert.Single(result.Samples);
        Assert.Equal(Start, sample.Time);
        Assert.Equal("gpu-node-7", sample.Node);
        Assert.Equal("lab", sample.Cluster);
        Assert.Equal("h100", sample.Pool);
        Assert.Equal("NVIDIA H100 80GB HBM3", sample.GpuModel);
        Assert.Equal(631.95, sample.PowerWatts);
        Assert.Equal(100, sample.UtilizationPercent);
        Assert.Equal(19818 * MiB, sample.MemoryUsedBytes);
        Assert.Equal(
            ["--query-gpu=" + NvidiaSmiQuery.Fields, "--format=csv,noheader,nounits"],
            File.ReadAllLines(argsFile));
    }

    /// <summary>
    /// A MIG A100 (query-gpu row with <c>[N/A]</c> utilization and MIG Enabled; its UUID is the one of netdata's
    /// <c>a100-sxm4-mig.xml</c>, which the script cats for <c>-q -x</c>) and pmon on: the poll adds one sample per GPU
    /// instance and one workload per process, each command run with its own arguments.
    /// </summary>
    [Fact]
    public async Task Poll_MigGpuWithPmon_AddsInstanceSamplesAndProcessWorkloads()
    {
        string xml = RepoPaths.Data("nvidia-smi", "xml-csv-netdata", "a100-sxm4-mig.xml");
        string argsFile = Path.Combine(_dir, "args.txt");
        string command = Script(
            "smi-mig.sh",
            $$"""
            echo "$*" >> {{Quote(argsFile)}}
            case "$1" in
              --query-gpu=*) echo '2026/03/01 12:00:00.000, 0, GPU-27b94a00-ed54-5c24-b1fd-1054085de32a, NVIDIA A100-SXM4-40GB, 00000000:00:04.0, [N/A], 38, 40960, 61.20, 61.00, 62.00, 400.00, 33, Enabled' ;;
              -q) cat {{Quote(xml)}} ;;
              pmon) printf '# gpu         pid   type     sm    mem    enc    dec    jpg    ofa    command\n    0       4242     C     37      5      -      -      -      -    vllm\n' ;;
              *) exit 3 ;;
            esac
            """);

        NvidiaSmiPollResult result = await Poller(command, o => o.PollProcessUtilization = true).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, result.Status);
        Assert.Empty(result.Errors);
        Assert.Equal([null, "1", "2"], result.Samples.Select(s => s.MigInstance));
        Assert.Equal([null, "3g.20gb", "3g.20gb"], result.Samples.Select(s => s.MigProfile));
        Assert.NotNull(result.Samples[0].PowerWatts);
        Assert.Null(result.Samples[0].UtilizationPercent); // [N/A] under MIG
        Assert.Equal([null, null], result.Samples.Skip(1).Select(s => s.PowerWatts));
        Assert.Equal(38 * MiB, result.Samples[0].MemoryUsedBytes);
        Assert.Equal([19 * MiB, 19 * MiB], result.Samples.Skip(1).Select(s => s.MemoryUsedBytes));
        GpuWorkloadSample vllm = Assert.Single(result.Workloads);
        Assert.Equal("vllm", vllm.Workload);
        Assert.Equal(37, vllm.UtilizationPercent);
        Assert.Equal("GPU-27b94a00-ed54-5c24-b1fd-1054085de32a", vllm.GpuUuid);
        string[] runs = await File.ReadAllLinesAsync(argsFile);
        Assert.Equal(3, runs.Length);
        Assert.Equal("-q -x", runs[1]);
        Assert.Equal("pmon -c 1 -s u", runs[2]);
    }

    [Fact]
    public async Task Poll_MigReadFails_KeepsTheGpuSampleAndReportsAnErrorLine()
    {
        string command = Script(
            "smi-mig-fails.sh",
            """
            case "$1" in
              --query-gpu=*) echo '2026/03/01 12:00:00.000, 0, GPU-27b94a00-ed54-5c24-b1fd-1054085de32a, NVIDIA A100-SXM4-40GB, 00000000:00:04.0, [N/A], 38, 40960, 61.20, 61.00, 62.00, 400.00, 33, Enabled' ;;
              *) echo 'Failed to initialize NVML' >&2; exit 9 ;;
            esac
            """);

        NvidiaSmiPollResult result = await Poller(command).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, result.Status);
        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.MigInstance);
        NvidiaSmiParseError error = Assert.Single(result.Errors);
        Assert.Contains("nvidia-smi -q -x", error.Reason, StringComparison.Ordinal);
        Assert.Contains("Failed to initialize NVML", error.Reason, StringComparison.Ordinal);
        Assert.Empty(result.Workloads);
    }

    [Fact]
    public async Task Poll_PrefixArguments_ComeBeforeTheQuery()
    {
        string argsFile = Path.Combine(_dir, "args.txt");
        string command = Script("wrapper.sh", $"printf '%s\\n' \"$@\" > {Quote(argsFile)}\necho '0, GPU-a, 5, 10, 20, 30'");

        NvidiaSmiPollResult result = await Poller(command, o =>
        {
            o.PrefixArguments.Add("--id=0");
        }).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, result.Status);
        Assert.Equal("--id=0", File.ReadAllLines(argsFile)[0]);
        Assert.Equal(3, File.ReadAllLines(argsFile).Length);
    }

    [Fact]
    public async Task Poll_NonZeroExit_IsReportedWithCodeAndStandardError()
    {
        string command = Script(
            "smi-fail.sh",
            "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\" >&2\nexit 9");

        NvidiaSmiPollResult result = await Poller(command).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.NonZeroExit, result.Status);
        Assert.Equal(9, result.ExitCode);
        Assert.Contains("couldn't communicate with the NVIDIA driver", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("exited with code 9", result.FailureMessage, StringComparison.Ordinal);
        Assert.Empty(result.Samples);
        Assert.Equal(NvidiaSmiQuery.Fields, result.Fields);
    }

    [Fact]
    public async Task Poll_CommandHangingPastTheTimeout_IsKilledAndReported()
    {
        string pidFile = Path.Combine(_dir, "child.pid");
        string command = Script("smi-hang.sh", $"sleep 60 &\necho $! > {Quote(pidFile)}\nwait");
        var stopwatch = Stopwatch.StartNew();

        NvidiaSmiPollResult result = await Poller(command, o => o.Timeout = TimeSpan.FromMilliseconds(500), TimeProvider.System).PollAsync();

        stopwatch.Stop();
        Assert.Equal(NvidiaSmiPollStatus.TimedOut, result.Status);
        Assert.Contains("did not finish within 0.5 s", result.FailureMessage, StringComparison.Ordinal);
        Assert.Empty(result.Samples);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");

        // The whole tree is killed: the script's sleeping child is gone too.
        int childPid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(IsRunning(childPid), $"child {childPid} still runs");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Poll_Garbage_SucceedsWithLineErrorsAndNoSamples()
    {
        string command = Script("smi-garbage.sh", "echo 'Unable to determine the device handle for GPU0000:00:09.0: Unknown Error'\necho '%%%, ###'\nprintf '\\001\\002\\003\\n'");

        NvidiaSmiPollResult result = await Poller(command).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, result.Status);
        Assert.Empty(result.Samples);
        Assert.Equal([1, 2, 3], result.Errors.Select(e => e.LineNumber));
    }

    [Fact]
    public async Task Poll_GarbageBesideGoodLines_KeepsTheGoodLines()
    {
        string command = Script(
            "smi-mixed.sh",
            "echo '2025/03/01 12:00:00.125, 0, GPU-a, NVIDIA H200, 00000000:83:00.0, 100 %, 32362 MiB, 143771 MiB, 627.40 W, 627.40 W, 626.26 W, 700.00 W, 52, Disabled'\n" +
            "echo 'this is not csv'\n" +
            "echo '2025/03/01 12:00:00.126, 1, GPU-b, NVIDIA H200, 00000000:84:00.0, [N/A], 55 MiB, 143771 MiB, 78.28 W, 78.28 W, 78.21 W, 700.00 W, 28, Enabled'");

        // The script prints the same for every command; GPU 1 is in MIG mode, so the MIG read (-q -x) is turned off here.
        NvidiaSmiPollResult result = await Poller(command, o => o.ReadMigInstances = false).PollAsync();

        Assert.Equal([0, 1], result.Samples.Select(s => s.GpuIndex));
        Assert.Null(result.Samples[1].UtilizationPercent);
        Assert.True(result.Rows[1].MigModeEnabled);
        NvidiaSmiParseError error = Assert.Single(result.Errors);
        Assert.Equal(2, error.LineNumber);
    }

    [Fact]
    public async Task Poll_OutputBeyondTheLimit_KillsTheCommand()
    {
        string command = Script("smi-flood.sh", "yes '0, GPU-a, NVIDIA H100, 1, 2, 3'");

        NvidiaSmiPollResult result = await Poller(command, o => o.MaxOutputBytes = 4096, TimeProvider.System).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.OutputTooLarge, result.Status);
        Assert.Contains("more than 4096 bytes", result.FailureMessage, StringComparison.Ordinal);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task Poll_DriverRejectsPowerFields_FallsBackToTheLegacyListAndKeepsIt()
    {
        string countFile = Path.Combine(_dir, "runs.txt");
        string command = Script(
            "smi-old-driver.sh",
            $"echo run >> {Quote(countFile)}\n" +
            "case \"$1\" in *power.draw.instant*) echo 'Field \"power.draw.instant\" is not a valid field to query.'; echo; echo 'Run nvidia-smi --help-query-gpu'; exit 2;; esac\n" +
            "echo '2025/03/01 12:00:00.125, 0, GPU-p100, Tesla P100-PCIE-16GB, 00000000:04:00.0, 0, 0, 16280, 28.16, 250.00, 37, [N/A]'");
        NvidiaSmiPoller poller = Poller(command);

        NvidiaSmiPollResult first = await poller.PollAsync();
        NvidiaSmiPollResult second = await poller.PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.Succeeded, first.Status);
        Assert.Equal(NvidiaSmiQuery.LegacyFields, first.Fields);
        NvidiaSmiGpuRow row = Assert.Single(first.Rows);
        Assert.Equal(28.16, row.Sample.PowerWatts);
        Assert.Equal(NvidiaSmiPowerSource.Draw, row.PowerSource);
        Assert.Equal(250.00, row.PowerLimitWatts);
        Assert.Equal(16280 * MiB, row.Sample.MemoryTotalBytes);
        Assert.Equal(NvidiaSmiQuery.LegacyFields, poller.Fields);
        Assert.Equal(NvidiaSmiPollStatus.Succeeded, second.Status);
        Assert.Equal(3, File.ReadAllLines(countFile).Length);
    }

    [Fact]
    public async Task Poll_MissingCommand_IsStartFailed()
    {
        NvidiaSmiPollResult result = await Poller(Path.Combine(_dir, "no-such-nvidia-smi")).PollAsync();

        Assert.Equal(NvidiaSmiPollStatus.StartFailed, result.Status);
        Assert.Contains("could not start", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_CallerCancels_KillsTheCommandAndThrows()
    {
        string command = Script("smi-hang2.sh", "exec sleep 60");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Poller(command, o => o.Timeout = TimeSpan.FromSeconds(30), TimeProvider.System).PollAsync(cancel.Token));
    }

    [Fact]
    public async Task Poll_RepeatedFailure_WarnsOnceThenLogsAtDebug()
    {
        string command = Script("smi-fail-again.sh", "echo 'No devices were found' >&2\nexit 6");
        var logger = new ListLogger();
        var poller = new NvidiaSmiPoller(
            Options.Create(new NvidiaSmiPollerOptions { CommandPath = command, Node = "n" }), new FakeTimeProvider(Start), logger);

        await poller.PollAsync();
        await poller.PollAsync();
        await poller.PollAsync();

        Assert.Equal([LogLevel.Warning, LogLevel.Debug, LogLevel.Debug], logger.Levels);
    }

    private sealed class ListLogger : ILogger<NvidiaSmiPoller>
    {
        public List<LogLevel> Levels { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Levels.Add(logLevel);
    }

    [Fact]
    public void Options_InvalidValues_AreAllReportedWithTheirKeys()
    {
        var options = new NvidiaSmiPollerOptions
        {
            CommandPath = " ", Node = "", Timeout = TimeSpan.Zero, MaxOutputBytes = 0, MaxErrorBytes = -1, PollProcessUtilization = true, MaxWorkloadsPerGpu = 0,
        };

        ValidateOptionsResult result = new NvidiaSmiPollerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(6, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.StartsWith("Collector:NvidiaSmi:MaxWorkloadsPerGpu", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Collector:NvidiaSmi:Node", StringComparison.Ordinal));
        Assert.Throws<OptionsValidationException>(() => Poller(" "));
    }
}
