using ObservaCost.SingleMachine.Cli;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary><c>run</c> without <c>--demo</c> switches the nvidia-smi poller on when nvidia-smi is on the PATH.</summary>
public sealed class LocalGpusTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-localgpus-" + Guid.NewGuid().ToString("N")[..12]);

    public LocalGpusTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Configure_NvidiaSmiOnThePath_SwitchesThePollerOnForThisNode()
    {
        string smi = Path.Combine(_dir, LocalGpus.ExecutableName);
        File.WriteAllText(smi, "#!/bin/sh\n");

        (string[] pairs, string message) = LocalGpus.Configure([], "/nonexistent" + Path.PathSeparator + _dir);

        Assert.Equal(["--Collector:NvidiaSmi:Enabled=true", "--Collector:NvidiaSmi:CommandPath=" + smi, "--Collector:NvidiaSmi:Node=" + Environment.MachineName], pairs);
        Assert.Contains("collecting with " + smi, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_NoNvidiaSmi_AddsNothingAndSaysSo()
    {
        (string[] pairs, string message) = LocalGpus.Configure([], _dir);

        Assert.Empty(pairs);
        Assert.StartsWith("Local GPUs: no nvidia-smi on the PATH", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_ConfigurationDecides_AddsNothing()
    {
        File.WriteAllText(Path.Combine(_dir, LocalGpus.ExecutableName), "#!/bin/sh\n");

        (string[] pairs, string message) = LocalGpus.Configure(["--Collector:NvidiaSmi:Enabled", "false"], _dir);

        Assert.Empty(pairs);
        Assert.Equal("Local GPUs: Collector:NvidiaSmi:Enabled is set to false by the configuration.", message);
    }

    [Fact]
    public async Task Simulate_CollectorNotListening_IsOneLineAndExitCode1()
    {
        int port = ObservaCost.Testing.InfluxDbServer.FreePort();

        CliRun run = await CliRun.RunAsync("simulate", "--collector", $"http://127.0.0.1:{port}", "--history", "1h");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"simulate: http://127.0.0.1:{port}/: ", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }
}
