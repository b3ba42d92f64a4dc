using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Forecasts;

/// <summary>
/// A forecast replaces the one before it, on the embedded store and on a real influxd: two models with three days of
/// traffic and a fleet each; the first forecast (168 h) writes all four series for both. Then one model loses its
/// fleet (its cost window is deleted) and the horizon shrinks to 24 h; the second forecast, issued at the same hour,
/// must leave exactly its own rows: no <c>gpus_needed</c> of the fleetless model, no hour past the 24th.
/// </summary>
public sealed class DemandForecastReplaceTests
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    private const string Pricing = """{ "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 2, "energyIncluded": true } }, "capacity": { "maxTokensPerSecondPerGpu": { "code-llm": 3000, "chat-llm": 3000 } } }""";

    [Fact]
    public async Task Forecast_ModelLosesFleetAndHorizonShrinks_EmbeddedStore_OnlyTheSecondForecastsRowsRemain()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-forecast-" + Guid.NewGuid().ToString("N")[..8]);
        var store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        try
        {
            await ForecastTwiceAndAssertAsync(store);
        }
        finally
        {
            await store.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Forecast_ModelLosesFleetAndHorizonShrinks_InfluxDb_OnlyTheSecondForecastsRowsRemain()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        using var http = new HttpClient();
        var store = new InfluxDbStore(http, new InfluxDbOptions { Url = influx.Url, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        await ForecastTwiceAndAssertAsync(store);
    }

    private static async Task ForecastTwiceAndAssertAsync(ITimeSeriesStore store)
    {
        using var writer = new LineProtocolWriter();
        foreach (string model in new[] { "code-llm", "chat-llm" })
        {
            // Three days of hourly traffic (more than the 48 h minimum), a daily cycle between 4M and 20M tokens.
            for (DateTimeOffset hour = IssuedAt.AddDays(-3); hour < IssuedAt; hour = hour.AddHours(1))
            {
                double tokens = 12e6 + (8e6 * Math.Cos(2 * Math.PI * (hour.Hour - 15) / 24.0));
                new InferenceWindow
                {
                    WindowStart = hour, WindowLength = TimeSpan.FromHours(1), Model = model, Tenant = "acme", Source = "request_log",
                    RequestCount = 100, PromptTokens = (long)(tokens * 0.9), CompletionTokens = (long)(tokens * 0.1),
                }.WriteTo(writer);
            }

            // The last hour's fleet: 4 GPUs at $1.12 per GPU-hour.
            new CostWindow
            {
                WindowStart = IssuedAt.AddHours(-1), WindowLength = TimeSpan.FromHours(1), Model = model, Tenant = "acme", Pool = model, Node = "n-" + model, GpuModel = "H100",
                GpuHours = 4, GpuEnergyJoules = 9e6, FacilityEnergyJoules = 1.17e7, CapexUsd = 3.08, OpexUsd = 1.4, EnergyCostUsd = 0, CostUsd = 4.48,
            }.WriteTo(writer);
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);

        // First forecast: 2 models × 4 series × 168 h = 1,344 points.
        IReadOnlyList<ForecastPoint> first = await Service(store, horizonHours: 168).ForecastAndWriteAsync(IssuedAt);
        Assert.Equal(1344, first.Count);
        Assert.Equal(1344, (await StoredAsync(store)).Count);

        // chat-llm loses its fleet; the horizon shrinks to 24 h.
        await store.DeleteAsync(Measurements.CostWindow, IssuedAt.AddHours(-1), IssuedAt, new Dictionary<string, string>(StringComparer.Ordinal) { [Tags.Model] = "chat-llm" });
        IReadOnlyList<ForecastPoint> second = await Service(store, horizonHours: 24).ForecastAndWriteAsync(IssuedAt);

        // code-llm: 4 series × 24 h = 96; chat-llm: tokens_per_hour only, 24 h: 120 points in all.
        Assert.Equal(120, second.Count);
        Assert.Equal(24, second.Count(p => p.Model == "chat-llm" && p.Series == DemandForecastService.TokensPerHour));
        Assert.DoesNotContain(second, p => p.Model == "chat-llm" && p.Series != DemandForecastService.TokensPerHour);

        // Exactly the second forecast's rows are stored: same series, model, hour and value, nothing else.
        string[] expected = [.. second.Select(Key).Order(StringComparer.Ordinal)];
        string[] stored = [.. (await StoredAsync(store)).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, stored);
    }

    private static DemandForecastService Service(ITimeSeriesStore store, int horizonHours) =>
        ForecastServices.Create(store, PricingFileReader.Parse(Pricing), new ForecastOptions { HorizonHours = horizonHours });

    private static string Key(ForecastPoint p) => FormattableString.Invariant($"{p.Series}|{p.Model}|{p.Time:o}|{p.Value:R}");

    /// <summary>Every stored forecast point from a day before the issue to the furthest a forecast can reach.</summary>
    private static async Task<List<string>> StoredAsync(ITimeSeriesStore store)
    {
        QueryResult result = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.ForecastPoint).Field(Fields.Value)
            .Between(IssuedAt.AddDays(-1), IssuedAt.AddHours(ForecastOptions.MaxHorizonHours + 24)).GroupBy(Tags.Series, Tags.Model).Build());
        return [.. result.Series.SelectMany(s => s.Rows.Select(r => FormattableString.Invariant($"{s.Tags[Tags.Series]}|{s.Tags[Tags.Model]}|{r.Time:o}|{r[0].Number:R}")))];
    }
}
