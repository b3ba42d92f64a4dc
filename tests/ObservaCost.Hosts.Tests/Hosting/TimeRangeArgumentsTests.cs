using System.Globalization;
using ObservaCost.Hosting;

namespace ObservaCost.Hosts.Tests.Hosting;

public sealed class TimeRangeArgumentsTests
{
    [Fact]
    public void Parse_FromAndToAmongOtherArguments_TakesThemOutAndKeepsTheRestInOrder()
    {
        TimeRangeArguments range = TimeRangeArguments.Parse("backfill", ["file.jsonl", "--from", "2026-11-21T00:00:00Z", "--Key", "v", "--to", "2026-11-22T06:30:00+02:00"]);

        Assert.Null(range.Error);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero), range.From);
        // 06:30 at +02:00 is 04:30 UTC.
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 4, 30, 0, TimeSpan.Zero), range.To);
        Assert.Equal(["file.jsonl", "--Key", "v"], range.Rest);
        Assert.True(range.IsRange);
    }

    [Fact]
    public void Parse_TimeWithoutZone_IsUtc()
    {
        TimeRangeArguments range = TimeRangeArguments.Parse("backfill", ["--from", "2026-11-21T10:00:00"]);
        Assert.Equal(TimeSpan.Zero, range.From!.Value.Offset);
        Assert.Equal(10, range.From.Value.Hour);
        Assert.False(range.IsRange);
    }

    [Fact]
    public void Parse_BadTime_NamesTheVerbTheOptionAndTheValue()
    {
        TimeRangeArguments range = TimeRangeArguments.Parse("backfill", ["--from", "yesterday"]);
        Assert.Equal("backfill: --from 'yesterday' is not an ISO 8601 time (e.g. 2026-11-21T00:00:00Z).", range.Error);
    }

    [Theory]
    [InlineData("2026-11-22T00:00:00Z", "2026-11-21T00:00:00Z")]
    [InlineData("2026-11-21T00:00:00Z", "2026-11-21T00:00:00Z")]
    public async Task ParseRangeAsync_FromNotBeforeTo_WritesTheUsageAndReturnsNull(string from, string to)
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Null(await TimeRangeArguments.ParseRangeAsync("backfill", ["--from", from, "--to", to], "usage: backfill ...", errors));
        Assert.Equal("usage: backfill ..." + Environment.NewLine, errors.ToString());
    }

    [Fact]
    public async Task ParseRangeAsync_BadTime_WritesTheErrorNotTheUsage()
    {
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Null(await TimeRangeArguments.ParseRangeAsync("backfill", ["--to", "soon"], "usage: backfill ...", errors));
        Assert.StartsWith("backfill: --to 'soon'", errors.ToString(), StringComparison.Ordinal);
    }
}
