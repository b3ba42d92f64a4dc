using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Forecasts;

/// <summary>
/// The forecast job's service on a real InfluxDB: four weeks of a model's hourly tokens with a daily cycle and a
/// weekend dip, the last hour's fleet (4 GPUs) in the cost windows and a configured 3,000 tokens/s per GPU. The 7-day
/// forecast follows the cycle, and the GPUs needed, idle GPU-hours and idle dollars follow from it by the rule.
/// </summary>
public sealed class DemandForecastServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
    private InfluxDbServer? _influx;
    private HttpClient? _http;
    private InfluxDbStore? _store;

    public async Task InitializeAsync()
    {
        _influx = await InfluxDbServer.StartAsync();
        _http = new HttpClient();
        _store = new InfluxDbStore(_http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        await _influx!.DisposeAsync();
    }

    /// <summary>Tokens in an hour: 20M at the daily peak (15:00), 4M at night, 30 % less on weekends.</summary>
    private static double Truth(DateTimeOffset hour)
    {
        double daily = 12e6 + (8e6 * Math.Cos(2 * Math.PI * (hour.Hour - 15) / 24.0));
        return hour.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? daily * 0.7 : daily;
    }

    [Fact]
    public async Task Forecast_FourWeeksOfDailyAndWeeklyCycle_TokensFollowTheCycle_CapacityByTheRule_WrittenToInfluxDb()
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset hour = IssuedAt.AddDays(-28); hour < IssuedAt; hour = hour.AddHours(1))
        {
            // Each hour as six 10-minute request-log windows, as the collector's aggregates arrive.
            for (int part = 0; part < 6; part++)
            {
                new InferenceWindow
                {
                    WindowStart = hour.AddMinutes(10 * part), WindowLength = TimeSpan.FromMinutes(10), Model = "code-llm", Tenant = "acme", Source = "request_log",
                    RequestCount = 100, PromptTokens = (long)(Truth(hour) * 0.98 / 6), CompletionTokens = (long)(Truth(hour) * 0.02 / 6),
                }.WriteTo(writer);
            }
        }

        // The last hour's fleet: 4 GPUs at $1.12 per GPU-hour.
        new CostWindow
        {
            WindowStart = IssuedAt.AddHours(-1), WindowLength = TimeSpan.FromHours(1), Model = "code-llm", Tenant = "acme", Pool = "chat", Node = "n1", GpuModel = "H100",
            GpuHours = 4, GpuEnergyJoules = 9e6, FacilityEnergyJoules = 1.17e7, CapexUsd = 3.08, OpexUsd = 1.4, EnergyCostUsd = 0, CostUsd = 4.48,
        }.WriteTo(writer);
        WriteResult written = await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);

        DemandForecastService service = ForecastServices.Create(
            _store,
            PricingFileReader.Parse("""{ "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 2, "energyIncluded": true } }, "capacity": { "maxTokensPerSecondPerGpu": { "code-llm": 3000 } } }"""),
            new ForecastOptions());
        IReadOnlyList<ForecastPoint> points = await service.ForecastAndWriteAsync(IssuedAt);

        ForecastPoint[] tokens = [.. points.Where(p => p.Series == DemandForecastService.TokensPerHour).OrderBy(p => p.Time)];
        Assert.Equal(168, tokens.Length);
        Assert.Equal(IssuedAt, tokens[0].Time);
        Assert.All(tokens, p => Assert.True(p.LowerBound <= p.Value && p.Value <= p.UpperBound));
        // Four weeks of history: the combination with the weekly naive season (chosen on the last week: the weekend
        // dip is weekly), within 10 % of the cycle every hour.
        Assert.All(tokens, p => Assert.InRange(p.Value, Truth(p.Time) * 0.9, Truth(p.Time) * 1.1));
        Assert.All(tokens, p => Assert.Equal("combined(seasonal-naive m=168, log+ssa)", p.Method));

        // 3,000 tokens/s × 3,600 × 0.7 = 7.56M tokens per GPU-hour; the fleet has 4 GPUs at $1.12.
        foreach (ForecastPoint t in tokens)
        {
            int needed = (int)Math.Ceiling((t.Value / 7.56e6) - 1e-9);
            Assert.Equal(needed, points.Single(p => p.Series == DemandForecastService.GpusNeeded && p.Time == t.Time).Value);
            double idle = Math.Max(0, 4 - needed);
            Assert.Equal(idle, points.Single(p => p.Series == DemandForecastService.IdleGpuHours && p.Time == t.Time).Value);
            Assert.Equal(idle * 1.12, points.Single(p => p.Series == DemandForecastService.IdleCostUsd && p.Time == t.Time).Value, 9);
        }

        // The peak hours need 3 GPUs (20M / 7.56M), the night 1: the fleet of 4 idles between 1 and 3 GPUs an hour.
        Assert.Equal(3, points.Where(p => p.Series == DemandForecastService.GpusNeeded).Max(p => p.Value));

        // Written to InfluxDB: 168 hours for each of the four series.
        QueryResult stored = await _store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.ForecastPoint).Count(Fields.Value)
            .Between(IssuedAt, IssuedAt.AddDays(8)).GroupBy(Tags.Series, Tags.Model).Build());
        Assert.Equal(4, stored.Series.Count);
        Assert.All(stored.Series, s => Assert.Equal(168, s.Rows[0][0].Number));
    }
}
