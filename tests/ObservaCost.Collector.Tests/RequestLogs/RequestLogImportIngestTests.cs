using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>
/// <c>POST /api/v1/requests/import</c>: the <c>import-requests</c> verb over HTTP, on the in-process collector and its
/// embedded store. History older than the live close watermark goes in; posting it again leaves the same windows.
/// </summary>
public sealed class RequestLogImportIngestTests
{
    /// <summary>
    /// An hour that closed a day ago, [H, H+1h), and four NDJSON lines:
    /// 1. H+5 s  llama/acme 100 + 20 tokens → imported
    /// 2. H+40 s llama/acme 50 + 5 tokens   → imported (another 10 s window: 2 windows, 2 requests, 150 + 25 tokens)
    /// 3. negative prompt tokens            → refused at line 3, NegativeTokens
    /// 4. H+1 h  (to is exclusive)          → refused at line 4, OutsideImportRange
    /// </summary>
    private static (DateTimeOffset From, DateTimeOffset To, string Body) History()
    {
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddDays(-1);
        string At(TimeSpan offset) => (from + offset).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string body =
            $"{{\"timestamp\":\"{At(TimeSpan.FromSeconds(5))}\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":100,\"completion_tokens\":20}}\n" +
            $"{{\"timestamp\":\"{At(TimeSpan.FromSeconds(40))}\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":50,\"completion_tokens\":5}}\n" +
            $"{{\"timestamp\":\"{At(TimeSpan.FromSeconds(50))}\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":-1}}\n" +
            $"{{\"timestamp\":\"{At(TimeSpan.FromHours(1))}\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":1,\"completion_tokens\":1}}\n";
        return (from, from.AddHours(1), body);
    }

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(CollectorHost host, string query, string body, string contentType = "application/x-ndjson", string? token = CollectorHost.AdminToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/requests/import?" + query) { Content = new StringContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using HttpResponseMessage response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Range(DateTimeOffset from, DateTimeOffset to) =>
        string.Create(CultureInfo.InvariantCulture, $"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={to:yyyy-MM-ddTHH:mm:ssZ}");

    [Fact]
    public async Task Import_HistoryPostedTwice_WritesTheWindowsOnceAndNamesEachRefusal()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        (DateTimeOffset from, DateTimeOffset to, string body) = History();

        (HttpStatusCode first, string answer) = await PostAsync(host, Range(from, to), body);
        (HttpStatusCode second, string again) = await PostAsync(host, Range(from, to), body);

        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal(answer, again);
        using JsonDocument json = JsonDocument.Parse(answer);
        Assert.Equal(2, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(2, json.RootElement.GetProperty("rejected").GetInt32());
        JsonElement[] errors = [.. json.RootElement.GetProperty("errors").EnumerateArray()];
        Assert.Equal([3, 4], errors.Select(e => e.GetProperty("line").GetInt32()));
        Assert.StartsWith("NegativeTokens", errors[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("OutsideImportRange", errors[1].GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Once, not twice: 2 requests, 150 prompt and 25 completion tokens in 2 windows tagged source=request_log_import.
        QueryResult stored = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Count(Fields.RequestCount, "windows")
            .Between(from, to).GroupBy(Tags.Model, Tags.Tenant, Tags.Source).Build());
        ResultSeries series = Assert.Single(stored.Series);
        Assert.Equal(("llama", "acme", "request_log_import"), (series.Tags[Tags.Model], series.Tags[Tags.Tenant], series.Tags[Tags.Source]));
        Assert.Equal([2.0, 150, 25, 2], series.Rows.Single().Values.Select(v => v.Number));
    }

    [Fact]
    public async Task Import_TenantToken_SetsTheTenantOfEveryRecord()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        (DateTimeOffset from, DateTimeOffset to, string body) = History();

        (HttpStatusCode status, _) = await PostAsync(host, Range(from, to), body.Replace("\"acme\"", "\"globex\"", StringComparison.Ordinal), token: CollectorHost.TenantToken);

        Assert.Equal(HttpStatusCode.OK, status);
        QueryResult stored = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.RequestCount).Between(from, to).GroupBy(Tags.Tenant).Build());
        Assert.Equal("acme", Assert.Single(stored.Series).Tags[Tags.Tenant]);
    }

    [Fact]
    public async Task Import_BadRangeMediaOrToken_IsRefusedWholeWithItsStatus()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        (DateTimeOffset from, DateTimeOffset to, string body) = History();

        // from 3 s past a 10 s window boundary; to in the open window; no range; text/plain; no token.
        (HttpStatusCode unaligned, string why) = await PostAsync(host, Range(from.AddSeconds(3), to), body);
        (HttpStatusCode open, _) = await PostAsync(host, Range(from, TimeProvider.System.GetUtcNow().AddHours(1)), body);
        (HttpStatusCode missing, _) = await PostAsync(host, "from=yesterday", body);
        (HttpStatusCode media, _) = await PostAsync(host, Range(from, to), body, contentType: "text/plain");
        (HttpStatusCode anonymous, _) = await PostAsync(host, Range(from, to), body, token: null);

        Assert.Equal(HttpStatusCode.BadRequest, unaligned);
        Assert.Contains("must be window boundaries", why, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, open);
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, media);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Empty((await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Count(Fields.RequestCount).Between(from, to).Build())).Series);
    }
}
