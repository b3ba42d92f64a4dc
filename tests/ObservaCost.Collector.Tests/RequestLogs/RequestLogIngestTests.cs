using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Collector.Tests.Support;
using static ObservaCost.Collector.Tests.Support.RequestLogPosts;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>Request logs through the real host: HTTP → journal → aggregation → spool → store.</summary>
public sealed class RequestLogIngestTests
{
    /// <summary>One-second windows closed two seconds after their end: records a few seconds old are on time.</summary>
    private static readonly string[] Fast = ["--Collector:RequestLogs:Aggregation:WindowLength", "00:00:01", "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:02"];

    /// <summary>Windows close as soon as they end: for a restarted host replaying its journal.</summary>
    private static readonly string[] Immediate = ["--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:00"];

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private static TimeSeriesQuery Totals(DateTimeOffset from, DateTimeOffset to, params string[] groupBy) =>
        TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Max(Fields.LatencyMaxMs, "max_latency")
            .Between(from, to).GroupBy(groupBy).Build();

    private static string Rfc3339(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Ndjson_BothTokenShapes_BecomeWindows_WithTheTokensTenant()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Fast);
        DateTimeOffset t = Now.AddSeconds(-1);
        string body =
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"llama\",\"tenant\":\"evil\",\"prompt_tokens\":100,\"completion_tokens\":20,\"latency_ms\":850,\"ttft_ms\":120}}\n" +
            $"{{\"timestamp\":{t.AddSeconds(1).ToUnixTimeMilliseconds()},\"model\":\"llama\",\"usage\":{{\"prompt_tokens\":50,\"completion_tokens\":5,\"total_tokens\":55}},\"latency_ms\":400}}\r\n" +
            "\n" +
            $"{{\"timestamp\":{t.AddSeconds(2).ToUnixTimeSeconds()},\"model\":\"mistral\",\"prompt_tokens\":7,\"completion_tokens\":3,\"status\":\"500\",\"latency_ms\":10}}\n";
        HttpResponseMessage response = await host.Client.SendAsync(Post(body, token: CollectorHost.TenantToken));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());

        QueryResult r = await host.WaitForAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1), Tags.Model, Tags.Tenant, Tags.Source, Tags.Status),
            x => x.Series.Count == 2);
        ResultSeries llama = r.Find((Tags.Model, "llama"))!;
        Assert.Equal("acme", llama.Tags[Tags.Tenant]);
        Assert.Equal("request_log", llama.Tags[Tags.Source]);
        Assert.Equal([2.0, 150, 25, 850], llama.Rows[0].Values.Select(v => v.Number));
        ResultSeries mistral = r.Find((Tags.Model, "mistral"))!;
        Assert.Equal("5xx", mistral.Tags[Tags.Status]);
    }

    [Fact]
    public async Task JsonArray_BadRecords_AreNamedByIndex_GoodOnesKept()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Fast);
        DateTimeOffset t = Now.AddSeconds(-1);
        string body = "[" +
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"m\",\"prompt_tokens\":10,\"completion_tokens\":1}}," +
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"prompt_tokens\":10,\"completion_tokens\":1}}," +
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"m\",\"prompt_tokens\":-5,\"completion_tokens\":1}}," +
            $"{{\"timestamp\":\"{Rfc3339(Now.AddDays(2))}\",\"model\":\"m\",\"prompt_tokens\":1,\"completion_tokens\":1}}," +
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"m\",\"prompt_tokens\":5,\"completion_tokens\":2}}" +
            "]";
        HttpResponseMessage response = await host.Client.SendAsync(Post(body, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(3, json.RootElement.GetProperty("rejected").GetInt32());
        Assert.Equal([1, 2, 3], json.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));

        QueryResult r = await host.WaitForAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1)), x => x.Series.Count == 1);
        Assert.Equal(15, r.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task LateRecord_AfterItsWindowClosed_IsRefusedWithAReason()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Fast);
        DateTimeOffset t = Now.AddSeconds(-1);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Post($"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"m\",\"prompt_tokens\":1,\"completion_tokens\":1}}\n"))).StatusCode);
        await host.WaitForAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1)), x => x.Series.Count == 1);
        HttpResponseMessage late = await host.Client.SendAsync(Post($"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"m\",\"prompt_tokens\":1,\"completion_tokens\":1}}\n"));
        Assert.Equal(HttpStatusCode.BadRequest, late.StatusCode);
        string answer = await late.Content.ReadAsStringAsync();
        Assert.Contains("LateRecord", answer, StringComparison.Ordinal);

        // The reason says what to do: import the history with the verb, from the record's window to the watermark.
        Assert.Contains("import-requests FILE --from " + t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_415_401_413()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Limits:MaxBodyBytes", "2048");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.Client.SendAsync(Post("{}", "text/csv"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Post("{}", token: "nope"))).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await host.Client.SendAsync(Post(new string(' ', 5000)))).StatusCode);
    }

    [Fact]
    public async Task AzureCodeTrace_ThroughHttp_TotalsEqualTheCsv()
    {
        string path = RepoPaths.Data("llm-traces", "azure-llm-inference-2023", "AzureLLMInferenceTrace_code.csv");
        AzureTraceConversion trace;
        using (var reader = new StreamReader(path))
        {
            trace = AzureTraceConverter.Convert(reader, new AzureTraceAttribution { Model = "azure-code", Pool = "a100" });
        }

        // Sums straight from the CSV, independent of the converter.
        long csvRequests = 0, csvPrompt = 0, csvCompletion = 0;
        foreach (string line in File.ReadLines(path).Skip(1).Where(l => l.Length > 0))
        {
            string[] cells = line.Split(',');
            csvRequests++;
            csvPrompt += long.Parse(cells[1], CultureInfo.InvariantCulture);
            csvCompletion += long.Parse(cells[2], CultureInfo.InvariantCulture);
        }

        Assert.Equal(csvRequests, trace.Requests.Count);

        // Replay the hour of traffic as if it ended ten minutes ago.
        DateTimeOffset first = trace.Requests.Min(r => r.Timestamp);
        DateTimeOffset last = trace.Requests.Max(r => r.Timestamp);
        TimeSpan shift = Now.AddMinutes(-10) - last;
        string dir = Path.Combine(Path.GetTempPath(), "observacost-azure-" + Guid.NewGuid().ToString("N")[..8]);
        string[] shared = ["--Collector:Spool:Directory", Path.Combine(dir, "spool"), "--Storage:Embedded:Path", Path.Combine(dir, "store.db")];

        // A log shipper sends the hour late: the first host accepts it (3 h lateness), a second closes the windows.
        await using (CollectorHost shipper = await CollectorHost.StartAsync([.. shared, "--Collector:RequestLogs:Aggregation:AllowedLateness", "03:00:00"]))
        {
            await PostTraceAsync(shipper, trace, shift);
        }

        await using CollectorHost host = await CollectorHost.StartAsync([.. shared, .. Immediate]);
        QueryResult r2 = await host.WaitForAsync(Totals(first + shift - TimeSpan.FromMinutes(1), last + shift + TimeSpan.FromMinutes(1)),
            x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Number >= csvRequests, TimeSpan.FromSeconds(60));
        Assert.Equal(csvRequests, r2.Series[0].Rows[0][0].Number);
        Assert.Equal(csvPrompt, r2.Series[0].Rows[0][1].Number);
        Assert.Equal(csvCompletion, r2.Series[0].Rows[0][2].Number);
        QueryResult windows = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Count(Fields.RequestCount, "n")
            .Between(first + shift - TimeSpan.FromMinutes(1), last + shift + TimeSpan.FromMinutes(1)).Build());
        long tenSecondWindows = trace.Requests.Select(r => (r.Timestamp + shift).ToUnixTimeSeconds() / 10).Distinct().LongCount();
        Assert.Equal(tenSecondWindows, windows.Series[0].Rows[0][0].Integer);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }

    private static async Task PostTraceAsync(CollectorHost host, AzureTraceConversion trace, TimeSpan shift)
    {
        foreach (InferenceRequest[] chunk in trace.Requests.Chunk(2000))
        {
            var ndjson = new StringBuilder();
            foreach (InferenceRequest r in chunk)
            {
                ndjson.Append(CultureInfo.InvariantCulture,
                    $"{{\"timestamp\":{(r.Timestamp + shift).ToUnixTimeMilliseconds()},\"model\":\"{r.Model}\",\"pool\":\"{r.Pool}\",\"usage\":{{\"prompt_tokens\":{r.PromptTokens},\"completion_tokens\":{r.CompletionTokens}}}}}\n");
            }

            HttpResponseMessage response = await host.Client.SendAsync(Post(ndjson.ToString()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Restart_ReplaysTheJournal_IntoWindowsThatWereStillOpen()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-replay-" + Guid.NewGuid().ToString("N")[..8]);
        DateTimeOffset t = Now.AddMinutes(-3);
        string[] shared = ["--Collector:Spool:Directory", Path.Combine(dir, "spool"), "--Storage:Embedded:Path", Path.Combine(dir, "store.db")];
        try
        {
            await using (CollectorHost first = await CollectorHost.StartAsync([.. shared, "--Collector:RequestLogs:Aggregation:AllowedLateness", "01:00:00"]))
            {
                for (int i = 0; i < 5; i++)
                {
                    string body = string.Concat(Enumerable.Range(0, 100).Select(k =>
                        $"{{\"timestamp\":\"{Rfc3339(t.AddMilliseconds((i * 100) + k))}\",\"model\":\"replay\",\"prompt_tokens\":{k},\"completion_tokens\":1}}\n"));
                    Assert.Equal(HttpStatusCode.OK, (await first.Client.SendAsync(Post(body))).StatusCode);
                }

                await Task.Delay(500);
                QueryResult none = await first.Store.QueryAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1)));
                Assert.Empty(none.Series);
            }

            await using CollectorHost second = await CollectorHost.StartAsync([.. shared, .. Immediate]);
            QueryResult r = await second.WaitForAsync(Totals(t.AddMinutes(-1), t.AddMinutes(1)), x => x.Series.Count == 1);
            Assert.Equal(500, r.Series[0].Rows[0][0].Number);
            Assert.Equal(5 * Enumerable.Range(0, 100).Sum(), r.Series[0].Rows[0][1].Number);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task StoreRawRequests_KeepsEachRequest_EvenTwoInTheSameMillisecond()
    {
        await using CollectorHost host = await CollectorHost.StartAsync([.. Fast, "--Collector:RequestLogs:StoreRawRequests", "true"]);
        DateTimeOffset t = Now.AddSeconds(-1);
        string body =
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"raw\",\"prompt_tokens\":10,\"completion_tokens\":1,\"latency_ms\":100}}\n" +
            $"{{\"timestamp\":\"{Rfc3339(t)}\",\"model\":\"raw\",\"prompt_tokens\":20,\"completion_tokens\":2,\"latency_ms\":200}}\n" +
            $"{{\"timestamp\":\"{Rfc3339(t.AddMilliseconds(5))}\",\"model\":\"raw\",\"prompt_tokens\":30,\"completion_tokens\":3,\"ttft_ms\":7}}\n";
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Post(body))).StatusCode);
        TimeSeriesQuery raw = TimeSeriesQueryBuilder.From(Measurements.InferenceRequest).Field(Fields.PromptTokens).Field(Fields.LatencyMs)
            .Between(t.AddMinutes(-1), t.AddMinutes(1)).GroupBy(Tags.Model).Build();
        QueryResult r = await host.WaitForAsync(raw, x => x.Series.Count == 1 && x.Series[0].Rows.Count == 3);
        Assert.Equal([10.0, 20, 30], r.Series[0].Rows.Select(row => row[0].Number).Order());
        Assert.All(r.Series[0].Rows, row => Assert.InRange(row.TimeNanoseconds - (t.ToUnixTimeMilliseconds() * 1_000_000), 0, 5_000_099));
    }
}
