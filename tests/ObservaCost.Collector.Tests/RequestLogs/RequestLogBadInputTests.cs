using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObservaCost.Collector.Tests.Support;
using static ObservaCost.Collector.Tests.Support.RequestLogPosts;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>
/// Hostile and careless request logs through the real host (HTTP → journal → windows → store) and through a followed
/// JSONL file: each bad record is refused with its line and reason, its good neighbours are stored exactly, nothing
/// answers 500, and /healthz stays green.
/// </summary>
public sealed class RequestLogBadInputTests
{
    /// <summary>One-second windows, ten seconds of lateness: every body below is on time.</summary>
    private static readonly string[] Fast = ["--Collector:RequestLogs:Aggregation:WindowLength", "00:00:01", "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:10"];

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    /// <summary>Each case: a bad line (UTF-8 bytes, possibly invalid), the reason expected, and text the message must hold.</summary>
    private static IEnumerable<(string Name, byte[] Line, string Reason, string Detail)> Cases(long ms)
    {
        string ts = ms.ToString(CultureInfo.InvariantCulture);
        byte[] Text(string json) => Encoding.UTF8.GetBytes(json);
        yield return ("model with a line break", Text($$"""{"timestamp":{{ts}},"model":"llama\n70b","prompt_tokens":1000}"""), "UnencodableTag", "model holds the control character U+000A");
        yield return ("tenant with a carriage return", Text($$"""{"timestamp":{{ts}},"model":"m","tenant":"acme\r","prompt_tokens":1000}"""), "UnencodableTag", "tenant holds the control character U+000D");
        yield return ("pool with NUL", Text($$"""{"timestamp":{{ts}},"model":"m","pool":"a\u0000b","prompt_tokens":1000}"""), "UnencodableTag", "pool holds the control character U+0000");
        yield return ("node with a tab", Text($$"""{"timestamp":{{ts}},"model":"m","node":"gpu\t7","prompt_tokens":1000}"""), "UnencodableTag", "node holds the control character U+0009");
        yield return ("status ending in a backslash", Text($$"""{"timestamp":{{ts}},"model":"m","status":"fail\\","prompt_tokens":1000}"""), "UnencodableTag", "status cannot be stored as a tag");
        yield return ("model with a backslash before a space", Text($$"""{"timestamp":{{ts}},"model":"a\\ b","prompt_tokens":1000}"""), "UnencodableTag", "model cannot be stored as a tag");
        yield return ("model given twice", Text($$"""{"timestamp":{{ts}},"model":"m","model":"n","prompt_tokens":1000}"""), "DuplicateKey", "the key 'model' appears more than once");
        yield return ("tokens given twice", Text($$"""{"timestamp":{{ts}},"model":"m","prompt_tokens":1000,"prompt_tokens":1}"""), "DuplicateKey", "the key 'prompt_tokens'");
        yield return ("an ignored key given twice", Text($$"""{"timestamp":{{ts}},"model":"m","id":"a","id":"b","prompt_tokens":1000}"""), "DuplicateKey", "the key 'id'");
        yield return ("usage key given twice", Text($$$"""{"timestamp":{{{ts}}},"model":"m","usage":{"prompt_tokens":1000,"prompt_tokens":1000}}"""), "DuplicateKey", "usage.prompt_tokens");
        yield return ("invalid UTF-8 in the model", [.. Text($$"""{"timestamp":{{ts}},"model":"m"""), 0xFF, 0xFE, .. Text("\",\"prompt_tokens\":1000}")], "InvalidText", "not valid UTF-8");
        yield return ("overlong UTF-8 in an ignored key", [.. Text($$"""{"timestamp":{{ts}},"model":"m","note":"""), 0xC0, 0xAF, .. Text("\",\"prompt_tokens\":1000}")], "InvalidText", "not valid UTF-8");
        yield return ("lone surrogate in the model", Text($$"""{"timestamp":{{ts}},"model":"m\ud800","prompt_tokens":1000}"""), "InvalidText", "model holds a lone surrogate");
        yield return ("lone surrogate in a key", Text($$"""{"timestamp":{{ts}},"model":"m","\udfff":1,"prompt_tokens":1000}"""), "InvalidText", "lone surrogate");
        yield return ("lone surrogate in the timestamp", Text("""{"timestamp":"2026-01-01T00:00:00Z\ud800","model":"m","prompt_tokens":1000}"""), "InvalidText", "timestamp holds a lone surrogate");
        yield return ("raw NUL byte in a string", [.. Text($$"""{"timestamp":{{ts}},"model":"m"""), 0x00, .. Text("\",\"prompt_tokens\":1000}")], "MalformedJson", string.Empty);
        yield return ("tokens overflowing a double", Text($$"""{"timestamp":{{ts}},"model":"m","prompt_tokens":1e400}"""), "TokensAboveLimit", "prompt_tokens is out of range");
        yield return ("tokens overflowing a long", Text($$"""{"timestamp":{{ts}},"model":"m","prompt_tokens":123456789012345678901234567890}"""), "TokensAboveLimit", "prompt_tokens");
        yield return ("latency overflowing a double", Text($$"""{"timestamp":{{ts}},"model":"m","prompt_tokens":1000,"latency_ms":-1e999}"""), "InvalidLatency", "latency_ms");
        yield return ("timestamp overflowing", Text("""{"timestamp":1e400,"model":"m","prompt_tokens":1000}"""), "InvalidTimestamp", string.Empty);
        yield return ("deeply nested JSON", Text($$"""{"timestamp":{{ts}},"model":"m","prompt_tokens":1000,"x":{{new string('[', 5000)}}{{new string(']', 5000)}}}"""), "MalformedJson", string.Empty);
        yield return ("a 100 KB string", Text($$"""{"timestamp":{{ts}},"model":"{{new string('m', 100_000)}}","prompt_tokens":1000}"""), "RecordTooLarge", "limit 65536");
        yield return ("a 300-byte model", Text($$"""{"timestamp":{{ts}},"model":"{{new string('m', 300)}}","prompt_tokens":1000}"""), "StringTooLong", "model is 300 bytes, limit 256");
    }

    /// <summary>Good line: one request of model "good" with <paramref name="prompt"/> prompt tokens.</summary>
    private static byte[] Good(long ms, int prompt) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"timestamp\":{ms},\"model\":\"good\",\"prompt_tokens\":{prompt},\"completion_tokens\":1}}"));

    private static TimeSeriesQuery Totals(DateTimeOffset from, DateTimeOffset to) =>
        TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion")
            .Between(from, to).GroupBy(Tags.Model).Build();

    [Fact]
    public async Task EachBadRecord_IsRefusedWithItsLineAndReason_ItsNeighboursStoredExactly()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Fast);
        DateTimeOffset from = Now.AddMinutes(-1);
        int cases = 0;
        foreach ((string name, byte[] bad, string reason, string detail) in Cases(Now.ToUnixTimeMilliseconds()))
        {
            // Line 1 good (1 prompt token), line 2 bad (1000), line 3 good (10): the bad one is never counted.
            long ms = Now.ToUnixTimeMilliseconds();
            byte[] body = [.. Good(ms, 1), (byte)'\n', .. bad, (byte)'\n', .. Good(ms, 10), (byte)'\n'];
            HttpResponseMessage response = await host.Client.SendAsync(Post(body));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {(int)response.StatusCode} {text}");
            using JsonDocument json = JsonDocument.Parse(text);
            Assert.True(json.RootElement.GetProperty("accepted").GetInt32() == 2, $"{name}: {text}");
            JsonElement error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
            Assert.Equal(2, error.GetProperty("line").GetInt32());
            string message = error.GetProperty("reason").GetString()!;
            Assert.True(message.StartsWith(reason + ": ", StringComparison.Ordinal) && message.Contains(detail, StringComparison.Ordinal), $"{name}: {message}");
            Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
            cases++;
        }

        // A JSON array: a lone surrogate in element 1 is named by its index; elements 0 and 2 are kept.
        long arrayMs = Now.ToUnixTimeMilliseconds();
        byte[] array = [(byte)'[', .. Good(arrayMs, 1), .. ",{\"timestamp\":1,\"model\":\"\\udc00\"},"u8, .. Good(arrayMs, 10), (byte)']'];
        HttpResponseMessage arrayResponse = await host.Client.SendAsync(Post(array, "application/json"));
        Assert.Equal(HttpStatusCode.OK, arrayResponse.StatusCode);
        using (JsonDocument json = JsonDocument.Parse(await arrayResponse.Content.ReadAsStringAsync()))
        {
            JsonElement error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
            Assert.Equal(1, error.GetProperty("index").GetInt32());
            Assert.StartsWith("InvalidText: model holds a lone surrogate", error.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        cases++;

        // Every case kept 2 requests, 1 + 10 = 11 prompt tokens and 2 completion tokens; no other model was stored.
        // 23 line cases + 1 array case = 24 → 48 requests, 264 prompt tokens, 48 completion tokens.
        Assert.Equal(24, cases);
        QueryResult r = await host.WaitForAsync(Totals(from, Now.AddMinutes(1)),
            x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Number >= 48, TimeSpan.FromSeconds(60));
        ResultSeries good = Assert.Single(r.Series);
        Assert.Equal("good", good.Tags[Tags.Model]);
        Assert.Equal([48.0, 264, 48], good.Rows[0].Values.Select(v => v.Number));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task JsonlFile_BadLinesRefusedAndCounted_GoodLinesStoredExactly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-badjsonl-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        DateTimeOffset from = Now.AddMinutes(-1);
        try
        {
            await using CollectorHost host = await CollectorHost.StartAsync(
            [
                .. Fast,
                "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
                "--Storage:Embedded:Path", Path.Combine(dir, "store.db"),
                "--Collector:RequestLogs:Files:Paths:0", Path.Combine(dir, "logs", "*.jsonl"),
                "--Collector:RequestLogs:Files:PollInterval", "00:00:00.100",
            ]);
            using var logs = new CapturedLogs();
            host.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
            long ms = Now.ToUnixTimeMilliseconds();
            string log = Path.Combine(dir, "logs", "gateway.jsonl");
            using (FileStream file = File.Create(log))
            {
                file.Write([.. Good(ms, 1), (byte)'\n']);
                foreach ((_, byte[] bad, _, _) in Cases(ms).Where(c => c.Reason != "RecordTooLarge"))
                {
                    file.Write([.. bad, (byte)'\n', .. Good(ms, 10), (byte)'\n']);
                }
            }

            // 22 cases (the 100 KB line is left to the HTTP test: it is within the file limit but over the record limit,
            // refused the same way): 1 + 22 good lines → 23 requests, 1 + 22 × 10 = 221 prompt tokens, 23 completion.
            QueryResult r = await host.WaitForAsync(Totals(from, Now.AddMinutes(1)),
                x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Number >= 23, TimeSpan.FromSeconds(60));
            ResultSeries good = Assert.Single(r.Series);
            Assert.Equal([23.0, 221, 23], good.Rows[0].Values.Select(v => v.Number));
            Assert.Contains(logs.Messages, m => m.StartsWith($"Request log {log}: refused 22 records; first: line 2: UnencodableTag: model holds", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The decision for printable delimiters in tag strings (space, comma, equals sign, quote, a backslash not before a
    /// delimiter, non-ASCII): they are escaped, not refused, because both stores give them back unchanged.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PrintableDelimitersInTags_RoundTrip_OnBothStores(bool influx)
    {
        InfluxDbServer? server = influx ? await InfluxDbServer.StartAsync() : null;
        try
        {
            if (server is not null)
            {
                await server.QueryAsync("CREATE DATABASE observacost"); // queried before the first write creates it
            }

            string[] backend = server is null ? [] : ["--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", server.Url.ToString()];
            await using CollectorHost host = await CollectorHost.StartAsync([.. Fast, .. backend]);
            const string Model = "llama 3,v=2 \"q\" a\\x 模型";
            const string Tenant = "team=a, b";
            long ms = Now.ToUnixTimeMilliseconds();
            string body = JsonSerializer.Serialize(new { timestamp = ms, model = Model, tenant = Tenant, prompt_tokens = 7, completion_tokens = 3 });
            HttpResponseMessage response = await host.Client.SendAsync(Post(Encoding.UTF8.GetBytes(body + "\n")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
                .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt")
                .Between(Now.AddMinutes(-1), Now.AddMinutes(1)).GroupBy(Tags.Model, Tags.Tenant).Build();
            QueryResult r = await host.WaitForAsync(query, x => x.Series.Count == 1, TimeSpan.FromSeconds(60));
            ResultSeries series = Assert.Single(r.Series);
            Assert.Equal(Model, series.Tags[Tags.Model]);
            Assert.Equal(Tenant, series.Tags[Tags.Tenant]);
            Assert.Equal([1.0, 7], series.Rows[0].Values.Select(v => v.Number));
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }
}
