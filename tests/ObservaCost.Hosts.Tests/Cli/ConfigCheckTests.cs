using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary><c>config check</c>: the whole configuration validated without starting anything.</summary>
public sealed class ConfigCheckTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-config-" + Guid.NewGuid().ToString("N")[..12]);

    public ConfigCheckTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>What the host needs that this test project's mixed output folder cannot give it: the prices, a store and a spool of its own.</summary>
    private string[] Settings =>
    [
        "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
        "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
        "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
    ];

    [Fact]
    public async Task Check_ValidConfiguration_PrintsOkStartsNothingAndExits0()
    {
        CliRun run = await CliRun.RunAsync(["config", "check", .. Settings]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("configuration OK", run.Output.TrimEnd());
        Assert.Equal(string.Empty, run.Errors);
        // Nothing started: no store file and no spool were created.
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public async Task Check_BadValue_IsOneLineNamingTheKeyAndExitCode2()
    {
        CliRun run = await CliRun.RunAsync(["config", "check", .. Settings, "--Storage:Embedded:Retention", "-1.00:00:00"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["configuration error: Storage:Embedded:Retention must not be negative (0 keeps data forever)."], run.ErrorLines);
        Assert.Equal(string.Empty, run.Output);
    }

    [Fact]
    public async Task Check_BadPricingFile_IsReportedByItsValidatorNamingTheKey()
    {
        string pricing = Path.Combine(_dir, "pricing.json");
        await File.WriteAllTextAsync(pricing, "{ \"energy\": { \"pue\": 0.5 } }");

        CliRun run = await CliRun.RunAsync(["config", "check", .. Settings, "--Analytics:PricingFile", pricing]);

        Assert.Equal(2, run.ExitCode);
        Assert.NotEmpty(run.ErrorLines);
        Assert.All(run.ErrorLines, l => Assert.StartsWith("configuration error: ", l, StringComparison.Ordinal));
        Assert.Contains(run.ErrorLines, l => l.Contains("Analytics:PricingFile", StringComparison.Ordinal) || l.Contains("$.energy.pue", StringComparison.Ordinal));
    }
}
