using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// Anomaly events and forecast points as the jobs write them (through the schema), and what /anomalies and /forecast
/// must serve of them: eight events around [<see cref="From"/>, <see cref="To"/>), and forecasts of two models, one
/// series issued twice (an hour apart), another issued twice with the older issue reaching further.
/// </summary>
internal static class AnomalyForecastData
{
    public static readonly DateTimeOffset From = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset To = From.AddHours(3);

    /// <summary>The API's clock: between the issues and the end of the forecasts.</summary>
    public static readonly DateTimeOffset Now = From.AddHours(3).AddMinutes(30);

    public static readonly DateTimeOffset LlamaFirstIssue = From;

    public static readonly DateTimeOffset LlamaLatestIssue = From.AddHours(1);

    public static readonly DateTimeOffset MistralOldIssue = From.AddHours(-1);

    public static readonly DateTimeOffset MistralLatestIssue = From.AddMinutes(30);

    public static readonly AnomalyEvent[] Events =
    [
        Event(-1, "gpu", "GPU-a1", "power_watts", "sr", AnomalySeverity.Critical, 8.0, 700, 300, 250, 350, 350), // before 'from'
        Event(10, "gpu", "GPU-a1", "power_watts", "sr", AnomalySeverity.Critical, 9.1, 690, 310, 250, 370, 320),
        Event(10, "gpu", "GPU-a2", "power_watts", "sr", AnomalySeverity.Warning, 4.2, 420, 300, 240, 360, 60),
        Event(25, "gpu", "GPU-a1", "utilization_percent", "spike", AnomalySeverity.Info, 2.5, 3, 70, null, null, null),
        Event(60, "model", "llama", "cost_per_million_tokens_usd", "cost_drift", AnomalySeverity.Critical, 7.0, 0.9, 0.4, 0.3, 0.5, 0.4),
        Event(90, "model", "mistral", "request_rate_per_minute", "changepoint", AnomalySeverity.Warning, 5.5, 120, 60, 40, 80, 40),
        Event(120, "model", "llama", "tokens_per_joule", "sr", AnomalySeverity.Info, 3.3, 0.8, 1.6, 1.2, 2.0, -0.4),
        Event(165, "gpu", "GPU-b1", "power_watts", "spike", AnomalySeverity.Warning, 6.1, 610, 280, 220, 340, 270),
        Event(180, "gpu", "GPU-a1", "power_watts", "sr", AnomalySeverity.Critical, 9.9, 710, 300, 250, 350, 360), // at 'to': excluded
    ];

    public static readonly ForecastPoint[] Forecasts =
    [
        .. Issue("llama", "tokens_per_hour", null, "ssa", LlamaFirstIssue, 1, 24, h => 1_000_000 + (h * 1_000), 0.1),
        .. Issue("llama", "tokens_per_hour", null, "holt_winters", LlamaLatestIssue, 2, 24, h => 1_100_000 + (h * 900), 0.08),
        .. Issue("llama", "gpus_needed", "chat", "ssa", LlamaLatestIssue, 2, 24, h => 2 + (h % 5), null),
        .. Issue("mistral", "tokens_per_hour", null, "ssa", MistralOldIssue, 0, 30, h => 400_000 + (h * 500), 0.2),
        .. Issue("mistral", "tokens_per_hour", null, "ssa", MistralLatestIssue, 1, 12, h => 420_000 + (h * 700), 0.15),
        .. Issue("mistral", "idle_cost_usd", "batch", "seasonal_naive", MistralLatestIssue, 1, 12, h => 3.5 + (h * 0.25), 0.3),
    ];

    /// <summary>The in-range events in the order the API must serve them: newest first, then kind, entity, series, detector.</summary>
    public static AnomalyEvent[] Served(Func<AnomalyEvent, bool> filter) => [.. Events
        .Where(e => e.Time >= From && e.Time < To && filter(e))
        .OrderByDescending(e => e.Time)
        .ThenBy(e => e.EntityKind, StringComparer.Ordinal).ThenBy(e => e.Entity, StringComparer.Ordinal)
        .ThenBy(e => e.Series, StringComparer.Ordinal).ThenBy(e => e.Detector, StringComparer.Ordinal)];

    /// <summary>The points of one issue of one (model, series), in time order.</summary>
    public static ForecastPoint[] IssueOf(string model, string series, DateTimeOffset issuedAt) =>
        [.. Forecasts.Where(p => p.Model == model && p.Series == series && p.IssuedAt == issuedAt).OrderBy(p => p.Time)];

    public static async Task WriteAsync(ITimeSeriesStore store)
    {
        using var writer = new LineProtocolWriter();
        foreach (ILineProtocolPoint point in Events.Cast<ILineProtocolPoint>().Concat(Forecasts))
        {
            Assert.True(point.WriteTo(writer));
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(Events.Length + Forecasts.Length, written.PointsWritten);
        Assert.Equal(0, written.PointsRejected);
    }

    private static AnomalyEvent Event(int minute, string kind, string entity, string series, string detector, AnomalySeverity severity, double score, double value, double? expected, double? lower, double? upper, double? magnitude) => new()
    {
        Time = From.AddMinutes(minute),
        EntityKind = kind,
        Entity = entity,
        Series = series,
        Detector = detector,
        Severity = severity,
        Score = score,
        Value = value,
        ExpectedValue = expected,
        LowerBound = lower,
        UpperBound = upper,
        Magnitude = magnitude,
    };

    /// <summary>One issued forecast: hours <paramref name="firstHour"/> to <paramref name="firstHour"/> + count − 1 after <see cref="From"/>.</summary>
    private static IEnumerable<ForecastPoint> Issue(string model, string series, string? pool, string method, DateTimeOffset issuedAt, int firstHour, int count, Func<int, double> value, double? band) =>
        Enumerable.Range(firstHour, count).Select(h => new ForecastPoint
        {
            Time = From.AddHours(h),
            Model = model,
            Series = series,
            Pool = pool,
            Method = method,
            IssuedAt = issuedAt,
            Value = value(h),
            LowerBound = band is double b ? value(h) * (1 - b) : null,
            UpperBound = band is double u ? value(h) * (1 + u) : null,
        });
}

/// <summary>The anomaly and forecast points in an embedded store, and the API over it with its clock at <see cref="AnomalyForecastData.Now"/>.</summary>
public sealed class AnomalyForecastFixture : EmbeddedApiFixture
{
    protected override TimeProvider Time { get; } = new FakeTimeProvider(AnomalyForecastData.Now);

    protected override Task PopulateAsync(SqliteStore store) => AnomalyForecastData.WriteAsync(store);
}

/// <summary>/api/v1/anomalies and /api/v1/forecast over stored anomaly events and forecast points.</summary>
public sealed class AnomalyForecastApiTests(AnomalyForecastFixture fixture) : IClassFixture<AnomalyForecastFixture>
{
    private static readonly string Range = ApiFixture.Range(AnomalyForecastData.From, AnomalyForecastData.To);

    [Fact]
    public async Task Anomalies_WholeRange_EveryEventInRangeNewestFirstAsWritten()
    {
        await AssertAnomaliesInRangeAsync(fixture.Host);
    }

    [Theory]
    [InlineData("info", AnomalySeverity.Info, 7)]
    [InlineData("warning", AnomalySeverity.Warning, 5)]
    [InlineData("critical", AnomalySeverity.Critical, 2)]
    public async Task Anomalies_SeverityMinimum_OnlyEventsAtOrAbove(string severity, AnomalySeverity minimum, int expected)
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/anomalies?{Range}&severity={severity}", ApiHost.AdminToken);

        Assert.Equal(severity, body.GetProperty("severity").GetString());
        EventsEqual(AnomalyForecastData.Served(e => e.Severity >= minimum), body, expected);
    }

    [Theory]
    [InlineData("entityKind=gpu", "gpu", null, null, null, 4)]
    [InlineData("entityKind=model", "model", null, null, null, 3)]
    [InlineData("entity=GPU-a1", null, "GPU-a1", null, null, 2)]
    [InlineData("detector=sr", null, null, "sr", null, 3)]
    [InlineData("series=power_watts", null, null, null, "power_watts", 3)]
    [InlineData("entityKind=gpu&detector=sr&series=power_watts&severity=critical", "gpu", null, "sr", "power_watts", 1)]
    [InlineData("entityKind=model&entity=GPU-a1", "model", "GPU-a1", null, null, 0)]
    public async Task Anomalies_Filters_OnlyMatchingEventsAndEchoed(string filters, string? kind, string? entity, string? detector, string? series, int expected)
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/anomalies?{Range}&{filters}", ApiHost.AdminToken);

        AnomalySeverity minimum = filters.Contains("critical", StringComparison.Ordinal) ? AnomalySeverity.Critical : AnomalySeverity.Info;
        EventsEqual(
            AnomalyForecastData.Served(e => (kind is null || e.EntityKind == kind) && (entity is null || e.Entity == entity)
                && (detector is null || e.Detector == detector) && (series is null || e.Series == series) && e.Severity >= minimum),
            body,
            expected);
        Assert.Equal(kind, ApiAssert.Text(body, "entityKind"));
        Assert.Equal(entity, ApiAssert.Text(body, "entity"));
        Assert.Equal(detector, ApiAssert.Text(body, "detector"));
        Assert.Equal(series, ApiAssert.Text(body, "series"));
    }

    [Fact]
    public async Task Forecast_ExplicitRange_LatestIssueWinsPerModelAndSeries()
    {
        await AssertLatestForecastsAsync(fixture.Host);
    }

    [Fact]
    public async Task Forecast_NoRange_FromNowToTheEndOfTheStoredForecast()
    {
        await AssertForecastFromNowAsync(fixture.Host);
    }

    [Theory]
    [InlineData("model=mistral", new[] { "mistral/idle_cost_usd", "mistral/tokens_per_hour" })]
    [InlineData("series=tokens_per_hour", new[] { "llama/tokens_per_hour", "mistral/tokens_per_hour" })]
    [InlineData("model=llama&series=gpus_needed", new[] { "llama/gpus_needed" })]
    [InlineData("model=qwen", new string[0])]
    public async Task Forecast_ModelAndSeriesFilters_OnlyMatchingForecasts(string filters, string[] expected)
    {
        JsonElement body = await fixture.Host.GetOkAsync("/api/v1/forecast?" + filters, ApiHost.AdminToken);

        JsonElement[] forecasts = [.. body.GetProperty("forecasts").EnumerateArray()];
        Assert.Equal(expected, forecasts.Select(f => ApiAssert.Text(f, "model") + "/" + ApiAssert.Text(f, "series")));
        Assert.Equal(forecasts.Sum(f => f.GetProperty("points").GetArrayLength()), body.GetProperty("count").GetInt32());
        if (filters == "model=llama&series=gpus_needed")
        {
            JsonElement gpus = forecasts[0];
            Assert.Equal("chat", ApiAssert.Text(gpus, "pool"));
            Assert.Equal("llama", ApiAssert.Text(body, "model"));
            Assert.Equal("gpus_needed", ApiAssert.Text(body, "series"));
            PointsEqual(AnomalyForecastData.IssueOf("llama", "gpus_needed", AnomalyForecastData.LlamaLatestIssue).Where(p => p.Time >= AnomalyForecastData.Now), gpus);
            Assert.All(gpus.GetProperty("points").EnumerateArray(), p => Assert.Equal(JsonValueKind.Null, p.GetProperty("lowerBound").ValueKind));
        }
    }

    [Fact]
    public async Task Forecast_OnlyTo_FromNowToThatTime()
    {
        DateTimeOffset to = AnomalyForecastData.From.AddHours(6);
        JsonElement body = await fixture.Host.GetOkAsync("/api/v1/forecast?model=llama&series=tokens_per_hour&to=" + to.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ApiHost.AdminToken);

        Assert.Equal(AnomalyForecastData.Now, body.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(to, body.GetProperty("to").GetDateTimeOffset());
        JsonElement forecast = Assert.Single(body.GetProperty("forecasts").EnumerateArray());
        PointsEqual(AnomalyForecastData.IssueOf("llama", "tokens_per_hour", AnomalyForecastData.LlamaLatestIssue).Where(p => p.Time >= AnomalyForecastData.Now && p.Time < to), forecast);
        Assert.Equal(2, body.GetProperty("count").GetInt32()); // hours 4 and 5
    }

    [Theory]
    [InlineData("/api/v1/anomalies", ApiHost.AcmeToken, "Anomaly events describe shared GPUs")]
    [InlineData("/api/v1/anomalies", ApiHost.BetaToken, "Anomaly events describe shared GPUs")]
    [InlineData("/api/v1/forecast", ApiHost.AcmeToken, "Forecasts of demand, GPUs needed and idle capacity describe shared models")]
    public async Task AnomaliesAndForecast_TenantToken_403Problem(string path, string token, string reason)
    {
        JsonElement body = await fixture.Host.GetProblemAsync($"{path}?{Range}", token, HttpStatusCode.Forbidden, reason);

        Assert.Contains("Use an admin token", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/anomalies")]
    [InlineData("/api/v1/forecast")]
    public async Task AnomaliesAndForecast_NoToken_401Problem(string path)
    {
        await fixture.Host.GetProblemAsync($"{path}?{Range}", token: null, HttpStatusCode.Unauthorized, "authorization required");
    }

    [Theory]
    [InlineData("/api/v1/anomalies?to=2026-03-02T03:00:00Z", "'from' is required")]
    [InlineData("/api/v1/anomalies?from=2026-03-02T00:00:00Z", "'to' is required")]
    [InlineData("/api/v1/anomalies?from=2026-03-02T00:00:00Z&to=2026-03-02T03:00:00Z&severity=fatal", "severity 'fatal' is not one of: info, warning, critical")]
    [InlineData("/api/v1/anomalies?from=2026-03-02T00:00:00Z&to=2026-03-02T03:00:00Z&severity=Critical", "severity 'Critical' is not one of")]
    [InlineData("/api/v1/anomalies?from=2026-03-02T00:00:00Z&to=2026-03-02T03:00:00Z&entityKind=node", "entityKind 'node' is not one of: gpu, model, pool")]
    [InlineData("/api/v1/anomalies?from=2026-03-02T03:00:00Z&to=2026-03-02T00:00:00Z", "must be after 'from'")]
    [InlineData("/api/v1/anomalies?from=2024-01-01T00:00:00Z&to=2026-03-02T00:00:00Z", "the limit is 366 days (Analytics:Api:MaxRange)")]
    [InlineData("/api/v1/forecast?from=tomorrow", "got 'tomorrow'")]
    [InlineData("/api/v1/forecast?from=2026-03-02T05:00:00Z&to=2026-03-02T02:00:00Z", "must be after 'from'")]
    [InlineData("/api/v1/forecast?to=2026-03-02T03:00:00Z", "'to' (2026-03-02T03:00:00Z) must be after 'from' (2026-03-02T03:30:00Z)")]
    [InlineData("/api/v1/forecast?from=2024-01-01T00:00:00Z&to=2026-03-02T00:00:00Z", "the limit is 366 days (Analytics:Api:MaxRange)")]
    public async Task Parameters_Invalid_400ProblemNamingTheReason(string pathAndQuery, string reason)
    {
        await fixture.Host.GetProblemAsync(pathAndQuery, ApiHost.AdminToken, HttpStatusCode.BadRequest, reason);
    }

    [Theory]
    [InlineData("/api/v1/anomalies?{0}", "/api/v1/anomalies?{0}&severity=critical", "a higher severity")]
    [InlineData("/api/v1/forecast", "/api/v1/forecast?model=mistral&series=idle_cost_usd&to=2026-03-02T07:00:00Z", "one model or one series")]
    public async Task MaxRows_Exceeded_413ProblemAndAnswersWithin(string refused, string accepted, string advice)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store, new Dictionary<string, string?> { ["Analytics:Api:MaxRows"] = "3" }, new FakeTimeProvider(AnomalyForecastData.Now));

        JsonElement body = await host.GetProblemAsync(string.Format(CultureInfo.InvariantCulture, refused, Range), ApiHost.AdminToken, HttpStatusCode.RequestEntityTooLarge, "more than 3 rows (Analytics:Api:MaxRows)");
        Assert.Contains(advice, body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        JsonElement within = await host.GetOkAsync(string.Format(CultureInfo.InvariantCulture, accepted, Range), ApiHost.AdminToken);
        Assert.InRange(within.GetProperty("count").GetInt32(), 1, 3);
    }

    /// <summary>The in-range events, newest first, each as written; the events at 'to' and before 'from' left out.</summary>
    internal static async Task AssertAnomaliesInRangeAsync(ApiHost host)
    {
        JsonElement body = await host.GetOkAsync("/api/v1/anomalies?" + Range, ApiHost.AdminToken);

        Assert.Equal(AnomalyForecastData.From, body.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(AnomalyForecastData.To, body.GetProperty("to").GetDateTimeOffset());
        Assert.Equal("info", body.GetProperty("severity").GetString());
        EventsEqual(AnomalyForecastData.Served(_ => true), body, 7);
    }

    /// <summary>Over [from, from + 30 h): each (model, series) served from its latest issue only, in model then series order.</summary>
    internal static async Task AssertLatestForecastsAsync(ApiHost host)
    {
        DateTimeOffset from = AnomalyForecastData.From;
        DateTimeOffset to = from.AddHours(30);
        JsonElement body = await host.GetOkAsync("/api/v1/forecast?" + ApiFixture.Range(from, to), ApiHost.AdminToken);

        Assert.Equal(from, body.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(to, body.GetProperty("to").GetDateTimeOffset());
        JsonElement[] forecasts = [.. body.GetProperty("forecasts").EnumerateArray()];
        Assert.Equal(
            ["llama/gpus_needed", "llama/tokens_per_hour", "mistral/idle_cost_usd", "mistral/tokens_per_hour"],
            forecasts.Select(f => ApiAssert.Text(f, "model") + "/" + ApiAssert.Text(f, "series")));

        // llama tokens_per_hour: issued at 00:00 (ssa, hours 1–24) and at 01:00 (holt_winters, hours 2–25): the later wins,
        // so hour 1, which only the first issue has, is not served either.
        JsonElement llama = forecasts[1];
        Assert.Equal(AnomalyForecastData.LlamaLatestIssue, llama.GetProperty("issuedAt").GetDateTimeOffset());
        Assert.Equal("holt_winters", ApiAssert.Text(llama, "method"));
        Assert.Equal(JsonValueKind.Null, llama.GetProperty("pool").ValueKind);
        PointsEqual(AnomalyForecastData.IssueOf("llama", "tokens_per_hour", AnomalyForecastData.LlamaLatestIssue), llama);
        Assert.Equal(from.AddHours(2), llama.GetProperty("points")[0].GetProperty("time").GetDateTimeOffset());

        // mistral tokens_per_hour: the older issue reaches hour 29, the latest only hour 12; nothing of the older is served.
        JsonElement mistral = forecasts[3];
        Assert.Equal(AnomalyForecastData.MistralLatestIssue, mistral.GetProperty("issuedAt").GetDateTimeOffset());
        PointsEqual(AnomalyForecastData.IssueOf("mistral", "tokens_per_hour", AnomalyForecastData.MistralLatestIssue), mistral);

        JsonElement gpus = forecasts[0];
        Assert.Equal("chat", ApiAssert.Text(gpus, "pool"));
        PointsEqual(AnomalyForecastData.IssueOf("llama", "gpus_needed", AnomalyForecastData.LlamaLatestIssue), gpus);
        JsonElement idle = forecasts[2];
        Assert.Equal(("batch", "seasonal_naive"), (ApiAssert.Text(idle, "pool"), ApiAssert.Text(idle, "method")));
        PointsEqual(AnomalyForecastData.IssueOf("mistral", "idle_cost_usd", AnomalyForecastData.MistralLatestIssue), idle);
        Assert.Equal(24 + 24 + 12 + 12, body.GetProperty("count").GetInt32());
    }

    /// <summary>Without from and to: from the host's clock, open-ended (to null), to the last stored hour of each latest issue.</summary>
    internal static async Task AssertForecastFromNowAsync(ApiHost host)
    {
        JsonElement body = await host.GetOkAsync("/api/v1/forecast", ApiHost.AdminToken);

        DateTimeOffset now = AnomalyForecastData.Now;
        Assert.Equal(now, body.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("to").ValueKind);
        JsonElement[] forecasts = [.. body.GetProperty("forecasts").EnumerateArray()];
        Assert.Equal(4, forecasts.Length);
        PointsEqual(AnomalyForecastData.IssueOf("llama", "tokens_per_hour", AnomalyForecastData.LlamaLatestIssue).Where(p => p.Time >= now), forecasts[1]);
        Assert.Equal(AnomalyForecastData.From.AddHours(4), forecasts[1].GetProperty("points")[0].GetProperty("time").GetDateTimeOffset());
        Assert.Equal(AnomalyForecastData.From.AddHours(25), forecasts[1].GetProperty("points")[21].GetProperty("time").GetDateTimeOffset());
        PointsEqual(AnomalyForecastData.IssueOf("mistral", "tokens_per_hour", AnomalyForecastData.MistralLatestIssue).Where(p => p.Time >= now), forecasts[3]);
        Assert.Equal(22 + 22 + 9 + 9, body.GetProperty("count").GetInt32());
    }

    private static void EventsEqual(IReadOnlyList<AnomalyEvent> expected, JsonElement body, int count)
    {
        JsonElement[] rows = [.. body.GetProperty("events").EnumerateArray()];
        Assert.Equal(count, expected.Count); // the data holds what the case is about
        Assert.Equal(count, body.GetProperty("count").GetInt32());
        Assert.Equal(expected.Count, rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            AnomalyEvent e = expected[i];
            JsonElement row = rows[i];
            Assert.Equal(e.Time, row.GetProperty("time").GetDateTimeOffset());
            Assert.Equal(e.Severity.ToString().ToLowerInvariant(), ApiAssert.Text(row, "severity"));
            Assert.Equal(e.Detector, ApiAssert.Text(row, "detector"));
            Assert.Equal(e.EntityKind, ApiAssert.Text(row, "entityKind"));
            Assert.Equal(e.Entity, ApiAssert.Text(row, "entity"));
            Assert.Equal(e.Series, ApiAssert.Text(row, "series"));
            Assert.Equal(e.Value, row.GetProperty("value").GetDouble());
            Assert.Equal(e.Score, row.GetProperty("score").GetDouble());
            ApiAssert.Nullable(e.ExpectedValue, row.GetProperty("expectedValue"));
            ApiAssert.Nullable(e.LowerBound, row.GetProperty("lowerBound"));
            ApiAssert.Nullable(e.UpperBound, row.GetProperty("upperBound"));
            ApiAssert.Nullable(e.Magnitude, row.GetProperty("magnitude"));
        }
    }

    private static void PointsEqual(IEnumerable<ForecastPoint> expected, JsonElement forecast)
    {
        ForecastPoint[] points = [.. expected];
        JsonElement[] rows = [.. forecast.GetProperty("points").EnumerateArray()];
        Assert.NotEmpty(points);
        Assert.Equal(points.Length, rows.Length);
        Assert.Equal(points[0].IssuedAt, forecast.GetProperty("issuedAt").GetDateTimeOffset());
        Assert.Equal(points[0].Method, ApiAssert.Text(forecast, "method"));
        for (int i = 0; i < points.Length; i++)
        {
            Assert.Equal(points[i].Time, rows[i].GetProperty("time").GetDateTimeOffset());
            Assert.Equal(points[i].Value, rows[i].GetProperty("value").GetDouble());
            ApiAssert.Nullable(points[i].LowerBound, rows[i].GetProperty("lowerBound"));
            ApiAssert.Nullable(points[i].UpperBound, rows[i].GetProperty("upperBound"));
        }
    }

}

/// <summary>The same anomaly events and forecasts written to a real InfluxDB: the same answers as the embedded store.</summary>
public sealed class AnomalyForecastInfluxTests : IAsyncLifetime
{
    private InfluxDbServer? _influx;

    public async Task InitializeAsync() => _influx = await InfluxDbServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnomaliesAndForecast_OnInfluxDb_ServeWhatWasWritten()
    {
        await _influx!.QueryAsync("CREATE DATABASE observacost");
        using var http = new HttpClient();
        var store = new InfluxDbStore(http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost", CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        await AnomalyForecastData.WriteAsync(store);
        await using ApiHost host = await ApiHost.StartAsync(store, time: new FakeTimeProvider(AnomalyForecastData.Now));

        await AnomalyForecastApiTests.AssertAnomaliesInRangeAsync(host);
        await AnomalyForecastApiTests.AssertLatestForecastsAsync(host);
        await AnomalyForecastApiTests.AssertForecastFromNowAsync(host);
        JsonElement warnings = await host.GetOkAsync($"/api/v1/anomalies?{ApiFixture.Range(AnomalyForecastData.From, AnomalyForecastData.To)}&severity=warning&entityKind=gpu", ApiHost.AdminToken);
        Assert.Equal(["GPU-b1", "GPU-a1", "GPU-a2"], warnings.GetProperty("events").EnumerateArray().Select(e => ApiAssert.Text(e, "entity")));
    }
}
