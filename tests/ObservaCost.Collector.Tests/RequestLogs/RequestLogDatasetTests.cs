using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>
/// The <c>dataset</c> mark of request records on the in-process single-machine host: <c>"dataset":"simulated"</c>
/// becomes the <c>dataset=simulated</c> tag of its windows (beside <c>source</c>, unchanged), a record without it
/// stays unmarked, and any other value is refused with its line and <c>UnknownDataset</c> while the others are kept.
/// Three NDJSON lines, in both <c>/api/v1/requests</c> and <c>/api/v1/requests/import</c>:
/// 1. llama 100 + 20 tokens, dataset simulated → a window tagged dataset=simulated
/// 2. llama 50 + 5 tokens, no dataset          → a window without the tag
/// 3. llama 7 + 3 tokens, dataset "demo"       → refused at line 3, UnknownDataset
/// </summary>
public sealed class RequestLogDatasetTests
{
    private static readonly string[] Fast = ["--Collector:RequestLogs:Aggregation:WindowLength", "00:00:01", "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:02"];

    private static string Body(DateTimeOffset t)
    {
        string at = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return
            $"{{\"timestamp\":\"{at}\",\"model\":\"llama\",\"prompt_tokens\":100,\"completion_tokens\":20,\"dataset\":\"simulated\"}}\n" +
            $"{{\"timestamp\":\"{at}\",\"model\":\"llama\",\"prompt_tokens\":50,\"completion_tokens\":5}}\n" +
            $"{{\"timestamp\":\"{at}\",\"model\":\"llama\",\"prompt_tokens\":7,\"completion_tokens\":3,\"dataset\":\"demo\"}}\n";
    }

    private static TimeSeriesQuery ByDataset(DateTimeOffset from, DateTimeOffset to) =>
        TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion")
            .Between(from, to).GroupBy(Tags.Dataset, Tags.Source).Build();

    private static void AssertAnswer(string answer)
    {
        using JsonDocument json = JsonDocument.Parse(answer);
        Assert.Equal(2, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("rejected").GetInt32());
        JsonElement error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(3, error.GetProperty("line").GetInt32());
        Assert.StartsWith("UnknownDataset", error.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Two series: dataset=simulated with 100 + 20 tokens, and one without the tag with 50 + 5; both of <paramref name="source"/>.</summary>
    private static void AssertStored(QueryResult stored, string source)
    {
        Assert.Equal(2, stored.Series.Count);
        Assert.All(stored.Series, s => Assert.Equal(source, s.Tags[Tags.Source]));
        ResultSeries simulated = stored.Find((Tags.Dataset, Datasets.Simulated))!;
        Assert.NotNull(simulated);
        Assert.Equal([100.0, 20], simulated.Rows.Single().Values.Select(v => v.Number));
        ResultSeries real = Assert.Single(stored.Series, s => !s.Tags.TryGetValue(Tags.Dataset, out string? d) || string.IsNullOrEmpty(d));
        Assert.Equal([50.0, 5], real.Rows.Single().Values.Select(v => v.Number));
    }

    [Fact]
    public async Task Requests_DatasetSimulatedAbsentAndUnknown_TaggedUntaggedAndRefusedByLine()
    {
        await using CollectorHost host = await CollectorHost.StartSingleMachineAsync(Fast);
        DateTimeOffset t = TimeProvider.System.GetUtcNow().AddSeconds(-1);

        using HttpResponseMessage response = await host.Client.SendAsync(RequestLogPosts.Post(Body(t)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertAnswer(await response.Content.ReadAsStringAsync());
        QueryResult stored = await host.WaitForAsync(ByDataset(t.AddMinutes(-1), t.AddMinutes(1)), x => x.Series.Count == 2);
        AssertStored(stored, InferenceWindowSources.RequestLog);
    }

    [Fact]
    public async Task Import_DatasetSimulatedAbsentAndUnknown_TaggedUntaggedAndRefusedByLine()
    {
        await using CollectorHost host = await CollectorHost.StartSingleMachineAsync(Fast);
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddDays(-1);
        string range = string.Create(CultureInfo.InvariantCulture, $"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={from.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/requests/import?" + range) { Content = new StringContent(Body(from.AddSeconds(5))) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-ndjson");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);

        using HttpResponseMessage response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertAnswer(await response.Content.ReadAsStringAsync());
        AssertStored(await host.Store.QueryAsync(ByDataset(from, from.AddHours(1))), InferenceWindowSources.RequestLogImport);
    }
}
