using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Service;
using ObservaCost.Hosting;
using ObservaCost.NodeCollector;
using ObservaCost.SingleMachine;
using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Hosting;

/// <summary>The one run wrapper: start-up configuration failures become one line per problem naming the key, exit code 2, in every host.</summary>
public sealed class HostRunTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-hostrun-" + Guid.NewGuid().ToString("N")[..12]);

    public HostRunTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Each host's run entry point, as its Program.cs calls it.</summary>
    public static TheoryData<string> Hosts => ["node-collector", "analytics-service", "single-machine"];

    private static Task<int> RunHostAsync(string host, string[] args, TextWriter errors) => host switch
    {
        "node-collector" => NodeCollectorApplication.RunAsync(args, errors),
        "analytics-service" => AnalyticsApplication.RunAsync(args, errors),
        "single-machine" => SingleMachineApplication.RunAsync(args, errors),
        _ => throw new ArgumentOutOfRangeException(nameof(host)),
    };

    private static string[] Lines(StringWriter errors) => errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task RunAsync_OneValidationException_PrintsOneLinePerFailureAndExits2()
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        int code = await HostRun.RunAsync(
            () => throw new OptionsValidationException("X", typeof(object), ["A:B must be positive.", "A:C is wrong:\nsecond line"]),
            errors);

        Assert.Equal(2, code);
        // The failure that spans two lines is printed on one.
        Assert.Equal(["configuration error: A:B must be positive.", "configuration error: A:C is wrong: second line"], Lines(errors));
    }

    [Fact]
    public async Task RunAsync_AggregatedValidationExceptions_PrintsEveryFailure()
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        var aggregate = new AggregateException(
            new OptionsValidationException("X", typeof(object), ["A:B must be positive."]),
            new OptionsValidationException("Y", typeof(object), ["D:E must be set.", "D:F must be set."]));
        int code = await HostRun.RunAsync(() => throw aggregate, errors);

        Assert.Equal(2, code);
        Assert.Equal(["configuration error: A:B must be positive.", "configuration error: D:E must be set.", "configuration error: D:F must be set."], Lines(errors));
    }

    [Fact]
    public async Task RunAsync_OtherException_IsNotCaught()
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        await Assert.ThrowsAsync<InvalidOperationException>(() => HostRun.RunAsync(() => throw new InvalidOperationException("a fault"), errors));
        await Assert.ThrowsAsync<AggregateException>(() => HostRun.RunAsync(
            () => throw new AggregateException(new OptionsValidationException("X", typeof(object), ["A:B"]), new IOException("disk")), errors));
        Assert.Equal(string.Empty, errors.ToString());
    }

    [Fact]
    public async Task RunAsync_VerbExitCode_IsReturned()
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Equal(1, await HostRun.RunAsync(() => Task.FromResult(1), errors));
    }

    [Theory]
    [MemberData(nameof(Hosts))]
    public async Task Host_BadStoreUrl_PrintsOneLineNamingTheKeyAndExits2(string host)
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        int code = await RunHostAsync(host,
        [
            "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{InfluxDbServer.FreePort()}"),
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", "ftp://nope",
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
            "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
        ], errors);

        Assert.Equal(2, code);
        string[] lines = Lines(errors);
        Assert.Single(lines);
        Assert.StartsWith("configuration error: Storage:InfluxDb:Url must be an absolute http or https URL", lines[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("analytics-service")]
    [InlineData("single-machine")]
    public async Task Host_InvalidPricingFile_PrintsEachPricingErrorOnItsOwnLineAndExits2(string host)
    {
        string pricing = Path.Combine(_dir, "pricing.json");
        await File.WriteAllTextAsync(pricing, """{ "energy": { "pue": 0.5, "tariff": { "usdPerKilowattHour": 0.1, "timeZone": "UTC" } }, "default": { "rented": { "usdPerGpuHour": -1, "energyIncluded": true } } }""");
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        int code = await RunHostAsync(host,
        [
            "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{InfluxDbServer.FreePort()}"),
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
            "--Analytics:PricingFile", pricing,
        ], errors);

        Assert.Equal(2, code);
        string[] lines = Lines(errors);
        // Two problems in the file (pue below 1, a negative price): two lines, each naming the key, the file and the JSON path.
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.StartsWith("configuration error: Analytics:PricingFile: " + pricing + ": $.", line, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("$.energy.pue", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("$.default.rented.usdPerGpuHour", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NodeCollectorProcess_BadStoreUrl_WritesOnlyTheOneLineAndExits2()
    {
        string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(RepoPaths.Root, "hosts", "ObservaCost.NodeCollector", "bin", configuration, "net10.0", "ObservaCost.NodeCollector.dll");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (string arg in new[] { dll, "--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", "ftp://nope" })
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        // No start-failure log with a stack trace beside it: the host validates its options before it starts.
        Assert.Equal(string.Empty, await stdout);
        Assert.Equal("configuration error: Storage:InfluxDb:Url must be an absolute http or https URL (got 'ftp://nope/')." + Environment.NewLine, await stderr);
    }
}
