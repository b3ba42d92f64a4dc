using ObservaCost.Analytics.Service;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>Bad scheduling or pricing configuration stops the analytics service at start-up, naming the configuration key.</summary>
public sealed class StartupValidationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-startup-" + Guid.NewGuid().ToString("N")[..8]);

    public StartupValidationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<(int ExitCode, string Errors)> StartAsync(params string[] settings)
    {
        using var errors = new StringWriter();
        int code = await AnalyticsApplication.RunAsync(
            ["--urls", "http://127.0.0.1:0", "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"), .. settings], errors);
        return (code, errors.ToString());
    }

    [Fact]
    public async Task AnalyticsService_BadCron_FailsStartNamingTheKey()
    {
        (int code, string errors) = await StartAsync("--Analytics:PricingFile", SchedulingFixtures.PricingFile, "--Analytics:Scheduler:CostCron", "every five minutes");
        Assert.Equal(2, code);
        Assert.Contains("Analytics:Scheduler:CostCron is not a valid Quartz cron expression", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("RollupCron", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnalyticsService_MissingPricingFile_FailsStartNamingTheKey()
    {
        (int code, string errors) = await StartAsync("--Analytics:PricingFile", Path.Combine(_dir, "missing.json"));
        Assert.Equal(2, code);
        Assert.Contains("Analytics:PricingFile", errors, StringComparison.Ordinal);
        Assert.Contains("missing.json", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnalyticsService_InvalidPricingFile_FailsStartListingEveryPricingError()
    {
        string path = Path.Combine(_dir, "pricing.json");
        await File.WriteAllTextAsync(path, """{ "energy": { "pue": 0.5, "tariff": { "usdPerKilowattHour": 0.1, "timeZone": "UTC" } }, "default": { "rented": { "usdPerGpuHour": -1, "energyIncluded": true } } }""");
        (int code, string errors) = await StartAsync("--Analytics:PricingFile", path);
        Assert.Equal(2, code);
        Assert.Contains("Analytics:PricingFile", errors, StringComparison.Ordinal);
        Assert.Contains("$.energy.pue", errors, StringComparison.Ordinal);
        Assert.Contains("$.default.rented.usdPerGpuHour", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnalyticsService_BadWindowLengthAndLookback_FailsStartNamingEachKey()
    {
        (int code, string errors) = await StartAsync(
            "--Analytics:PricingFile", SchedulingFixtures.PricingFile,
            "--Analytics:Windows:WindowLength", "00:07:00",
            "--Analytics:Scheduler:InitialLookback", "30.00:00:00");
        Assert.Equal(2, code);
        Assert.Contains("Analytics:Windows:WindowLength", errors, StringComparison.Ordinal);
        Assert.Contains("Analytics:Scheduler:InitialLookback", errors, StringComparison.Ordinal);
    }
}
