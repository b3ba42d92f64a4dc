using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Service;
using ObservaCost.Storage.Embedded;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>The <c>backfill</c> verb of the analytics service, run in-process on the embedded store.</summary>
public sealed class BackfillCommandTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-backfill-" + Guid.NewGuid().ToString("N")[..8]);

    public BackfillCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string StorePath => Path.Combine(_dir, "store.db");

    private SqliteStore OpenStore() =>
        new(new SqliteStoreOptions { Path = StorePath, Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);

    private async Task<(int ExitCode, string Errors)> BackfillAsync(string from, string to)
    {
        using var errors = new StringWriter();
        int code = await AnalyticsApplication.RunAsync(
            ["backfill", "--from", from, "--to", to, "--Storage:Embedded:Path", StorePath, "--Storage:Embedded:Retention", "00:00:00", "--Analytics:PricingFile", SchedulingFixtures.PricingFile],
            errors);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return (code, errors.ToString());
    }

    [Fact]
    public async Task Backfill_SmallRangeOnEmbeddedStore_WritesEveryWindowShowsProgressAndRecomputesIdentically()
    {
        await using (SqliteStore store = OpenStore())
        {
            await SchedulingFixtures.WriteFleetAsync(store, T0.AddMinutes(-30), T0.AddHours(4), TimeSpan.FromSeconds(20));
        }

        // 10:15 to 12:45 touches the windows of 10:00, 11:00 and 12:00, the rollup minutes under them and the 15-minute
        // look-around each side (the longest idle minimum duration; 09:45–13:15: 4 ranges of ≤ 1 h) and one day.
        (int code, string progress) = await BackfillAsync("2026-11-21T10:15:00Z", "2026-11-21T12:45:00Z");
        Assert.True(code == 0, progress);
        Assert.Contains("8/8 day 2026-11-21T00:00:00Z", progress, StringComparison.Ordinal);
        Assert.Matches(@"\] \d/8 \w+ .* elapsed \d\d:\d\d:\d\d ETA \d\d:\d\d:\d\d", progress);
        Assert.Contains("backfill done: 4 rollup ranges, 3 windows, 1 days", progress, StringComparison.Ordinal);

        string first;
        await using (SqliteStore store = OpenStore())
        {
            Dictionary<DateTimeOffset, double> hours = await SchedulingFixtures.GpuHoursPerWindowAsync(store, T0.AddHours(-1), T0.AddHours(5), "1h");
            Assert.Equal([T0, T0.AddHours(1), T0.AddHours(2)], hours.Keys.Order());
            Assert.All(hours.Values, h => Assert.InRange(h, 2 - 1e-9, 2 + 1e-9));
            first = await SchedulingFixtures.DumpAsync(store, T0.AddDays(-1), T0.AddDays(1));
        }

        Assert.Contains("gpu_minute", first, StringComparison.Ordinal);
        Assert.Contains("window=1d", first, StringComparison.Ordinal);

        (code, progress) = await BackfillAsync("2026-11-21T10:15:00Z", "2026-11-21T12:45:00Z");
        Assert.True(code == 0, progress);
        await using (SqliteStore store = OpenStore())
        {
            Assert.Equal(first, await SchedulingFixtures.DumpAsync(store, T0.AddDays(-1), T0.AddDays(1)));
        }
    }

    [Theory]
    [InlineData("backfill", "--from", "2026-11-21T12:00:00Z", "--to", "2026-11-21T10:00:00Z")]
    [InlineData("backfill", "--from", "yesterday", "--to", "2026-11-21T10:00:00Z")]
    [InlineData("backfill", "--to", "2026-11-21T10:00:00Z")]
    public async Task Backfill_BadRange_ExitsWithUsage(params string[] args)
    {
        using var errors = new StringWriter();
        Assert.Equal(2, await AnalyticsApplication.RunAsync(args, errors));
        Assert.Contains("backfill", errors.ToString(), StringComparison.Ordinal);
    }
}
