using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Collector.Tests.Support;
using static ObservaCost.Collector.Tests.Support.RequestLogPosts;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>
/// What is acknowledged is stored: the open-group limit refuses records in the answer (never after), and raw requests
/// sharing an instant are distinct points that a journal replay overwrites instead of duplicating.
/// </summary>
public sealed class RequestLogAcknowledgementTests
{
    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private static TimeSeriesQuery Totals(DateTimeOffset from, DateTimeOffset to) =>
        TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt").Count(Fields.RequestCount, "windows")
            .Between(from, to).Build();

    /// <summary>One request of <paramref name="tenant"/> at <paramref name="ms"/> with <paramref name="prompt"/> prompt tokens.</summary>
    private static string Line(long ms, string tenant, int prompt = 1) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"timestamp\":{ms},\"model\":\"m\",\"tenant\":\"{tenant}\",\"prompt_tokens\":{prompt}}}\n");

    [Fact]
    public async Task FifteenThousandGroups_AgainstTheDefaultLimit_TheLast5000AreRefusedInTheAnswer_TheRestCountedExactly()
    {
        // Default MaxOpenGroups (10,000); one 10 s window still open for 30 s after its end.
        await using CollectorHost host = await CollectorHost.StartAsync(
            "--Collector:RequestLogs:Aggregation:WindowLength", "00:00:10", "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:30");
        DateTimeOffset windowStart = DateTimeOffset.FromUnixTimeSeconds(Now.ToUnixTimeSeconds() / 10 * 10);
        long ms = windowStart.ToUnixTimeMilliseconds() + 1;
        var body = new StringBuilder();
        for (int tenant = 0; tenant < 15_000; tenant++)
        {
            body.Append(Line(ms, "t" + tenant.ToString(CultureInfo.InvariantCulture)));
        }

        HttpResponseMessage response = await host.Client.SendAsync(Post(body.ToString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal(10_000, json.RootElement.GetProperty("accepted").GetInt32());
            Assert.Equal(5_000, json.RootElement.GetProperty("rejected").GetInt32());
            JsonElement[] errors = [.. json.RootElement.GetProperty("errors").EnumerateArray()];
            Assert.Equal(100, errors.Length); // MaxErrorsReported
            Assert.Equal(10_001, errors[0].GetProperty("line").GetInt32());
            Assert.StartsWith("TooManyOpenGroups: 10000 (window, model, tenant, pool, node, status) groups are open", errors[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Contains("Collector:RequestLogs:Aggregation:MaxOpenGroups", errors[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        // At the limit, a record for an open group is still taken (prompt 5 for t0), one for a new group is not.
        HttpResponseMessage more = await host.Client.SendAsync(Post(Line(ms, "t0", 5) + Line(ms, "t-new")));
        using (JsonDocument json = JsonDocument.Parse(await more.Content.ReadAsStringAsync()))
        {
            Assert.Equal(1, json.RootElement.GetProperty("accepted").GetInt32());
            Assert.Equal(2, Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray()).GetProperty("line").GetInt32());
        }

        // Stored: 10,000 windows (t0 … t9999), 10,001 requests, 10,000 × 1 + 5 = 10,005 prompt tokens.
        QueryResult r = await host.WaitForAsync(Totals(windowStart.AddMinutes(-1), windowStart.AddMinutes(1)),
            x => x.Series.Count == 1 && x.Series[0].Rows[0][2].Number >= 10_000, TimeSpan.FromSeconds(90));
        Assert.Equal([10_001.0, 10_005, 10_000], r.Series[0].Rows[0].Values.Select(v => v.Number));

        // Once that window closed its groups are free again: a new group in a new window is taken.
        HttpResponseMessage after = await host.Client.SendAsync(Post(Line(Now.ToUnixTimeMilliseconds(), "t-new")));
        Assert.Equal(1, JsonDocument.Parse(await after.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task JsonlFile_BeyondTheGroupLimit_LinesAreRefusedAndCounted_NotLostAfterwards()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-groups-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        try
        {
            await using CollectorHost host = await CollectorHost.StartAsync(
                "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
                "--Storage:Embedded:Path", Path.Combine(dir, "store.db"),
                "--Collector:RequestLogs:Files:Paths:0", Path.Combine(dir, "logs", "*.jsonl"),
                "--Collector:RequestLogs:Files:PollInterval", "00:00:00.100",
                "--Collector:RequestLogs:Aggregation:WindowLength", "00:00:10",
                "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:05",
                "--Collector:RequestLogs:Aggregation:MaxOpenGroups", "10");
            using var logs = new CapturedLogs();
            host.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
            DateTimeOffset windowStart = DateTimeOffset.FromUnixTimeSeconds(Now.ToUnixTimeSeconds() / 10 * 10);
            long ms = windowStart.ToUnixTimeMilliseconds() + 1;

            // 15 tenants, prompt tokens 1..15: tenants t1..t10 are taken (1 + … + 10 = 55), t11..t15 refused. The
            // first ten lines are read first, so the refused ones come in a second read and are still named by their
            // line in the file (11), not in the read.
            string log = Path.Combine(dir, "logs", "a.jsonl");
            string Lines(int first, int last) => string.Concat(Enumerable.Range(first, last - first + 1).Select(i => Line(ms, "t" + i.ToString(CultureInfo.InvariantCulture), i)));
            await File.WriteAllTextAsync(log, Lines(1, 10));
            string state = Path.Combine(dir, "spool", "requests", "files.state");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!(File.Exists(state) && (await File.ReadAllTextAsync(state)).Contains("\"Lines\":10", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            await File.AppendAllTextAsync(log, Lines(11, 15));

            QueryResult r = await host.WaitForAsync(Totals(windowStart.AddMinutes(-1), windowStart.AddMinutes(1)),
                x => x.Series.Count == 1 && x.Series[0].Rows[0][2].Number >= 10, TimeSpan.FromSeconds(60));
            Assert.Equal([10.0, 55, 10], r.Series[0].Rows[0].Values.Select(v => v.Number));
            Assert.True(
                logs.Messages.Any(m => m.StartsWith($"Request log {log}: refused 5 records; first: line 11: TooManyOpenGroups: 10 (window", StringComparison.Ordinal)),
                string.Join('\n', logs.Messages));
            Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task RawRequests_555InOneInstant_AreEachStored_AndAReplayOverwritesThem()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-raw-" + Guid.NewGuid().ToString("N")[..8]);
        string[] shared =
        [
            "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
            "--Storage:Embedded:Path", Path.Combine(dir, "store.db"),
            "--Collector:RequestLogs:StoreRawRequests", "true",
        ];
        DateTimeOffset t = Now.AddMinutes(-3);
        long ms = t.ToUnixTimeMilliseconds();
        TimeSeriesQuery raw = TimeSeriesQueryBuilder.From(Measurements.InferenceRequest).Field(Fields.PromptTokens)
            .Between(t.AddMinutes(-1), t.AddMinutes(1)).GroupBy(Tags.Model).Build();

        // The same record 555 times: same timestamp, same numbers. They take the nanoseconds of their 100 ns tick in
        // journal order, then spill into the following ticks: exactly t + 0 ns … t + 554 ns.
        long tNs = ms * 1_000_000;
        long[] expectedTimes = [.. Enumerable.Range(0, 555).Select(k => tNs + k)];
        string body = string.Concat(Enumerable.Repeat(Line(ms, "acme", 42), 555));
        try
        {
            await using (CollectorHost first = await CollectorHost.StartAsync([.. shared, "--Collector:RequestLogs:Aggregation:AllowedLateness", "01:00:00"]))
            {
                Assert.Equal(HttpStatusCode.OK, (await first.Client.SendAsync(Post(body))).StatusCode);
                QueryResult stored = await first.WaitForAsync(raw, x => x.Series.Count == 1 && x.Series[0].Rows.Count >= 555);
                Assert.Equal(expectedTimes, stored.Series[0].Rows.Select(row => row.TimeNanoseconds).Order());
            }

            // The window was still open: the journal was not passed, and a restart replays all 555 (as after kill -9).
            await using CollectorHost second = await CollectorHost.StartAsync([.. shared, "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:00"]);
            QueryResult windows = await second.WaitForAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1)), x => x.Series.Count == 1);
            Assert.Equal([555.0, 555 * 42, 1], windows.Series[0].Rows[0].Values.Select(v => v.Number));
            QueryResult replayed = await second.Store.QueryAsync(raw);
            Assert.Equal(expectedTimes, replayed.Series[0].Rows.Select(row => row.TimeNanoseconds).Order());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RawRequestTimes_SameTickTakesItsNanosecondsThenTheNextTicks_WithinTheWindow()
    {
        var times = new RawRequestTimes();
        long windowStart = DateTimeOffset.UnixEpoch.UtcTicks + (10 * TimeSpan.TicksPerSecond);
        long windowEnd = windowStart + (10 * TimeSpan.TicksPerSecond);
        long lastTick = windowEnd - 1;
        long lastNs = (lastTick - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

        // 100 requests fill the window's last tick (ns +0 … +99); the 101st cannot go forward, so it takes the
        // tick before (lastNs − 100), and so does the next one (lastNs − 99).
        long[] assigned = [.. Enumerable.Range(0, 102).Select(_ => times.Assign(lastTick, windowStart, windowEnd))];

        Assert.Equal(Enumerable.Range(0, 100).Select(k => lastNs + k), assigned[..100]);
        Assert.Equal([lastNs - 100, lastNs - 99], assigned[100..]);
        Assert.Equal(2, times.TrackedTicks);
        times.Forget(windowEnd);
        Assert.Equal(0, times.TrackedTicks);
        Assert.Equal(UnixTime.ToNanoseconds(new DateTimeOffset(lastTick, TimeSpan.Zero)), times.Assign(lastTick, windowStart, windowEnd));
    }
}
