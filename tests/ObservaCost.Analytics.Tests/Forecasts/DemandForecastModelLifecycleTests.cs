using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Tests.Scheduling;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Forecasts;

/// <summary>
/// The global forecast model's life on the embedded store and a fake clock: two models with 49 days of hourly tokens
/// (a daily cycle growing 0.2 % a day); forecasts of 24 hours, 35 days of history (840 h, more than the 337 + 2 × 24 = 385 training
/// needs), retrain interval 7 days. Train → reuse → a restart reuses the stored model → retrain after the interval →
/// failing training serves the previous model → failing training without a model serves seasonal naive.
/// </summary>
public sealed class DemandForecastModelLifecycleTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-forecast-model-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    private const string Pricing = """{ "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 2, "energyIncluded": true } } }""";

    /// <summary>
    /// Tokens in an hour: code-llm 12M ± 8M with its peak at 15:00, chat-llm 6M ± 3M with its peak at 20:00, both
    /// growing by 0.2 % a day from T0 (so two training windows a week apart differ).
    /// </summary>
    private static long Truth(string model, DateTimeOffset hour)
    {
        double growth = 1 + (0.002 * (hour - T0).TotalDays);
        return model == "code-llm"
            ? (long)((12e6 + (8e6 * Math.Cos(2 * Math.PI * (hour.Hour - 15) / 24.0))) * growth)
            : (long)((6e6 + (3e6 * Math.Cos(2 * Math.PI * (hour.Hour - 20) / 24.0))) * growth);
    }

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        using var writer = new LineProtocolWriter();
        foreach (string model in new[] { "code-llm", "chat-llm" })
        {
            for (DateTimeOffset hour = T0.AddDays(-35); hour < T0.AddDays(14); hour = hour.AddHours(1))
            {
                new InferenceWindow
                {
                    WindowStart = hour, WindowLength = TimeSpan.FromHours(1), Model = model, Tenant = "acme", Source = "request_log",
                    RequestCount = 100, PromptTokens = Truth(model, hour), CompletionTokens = 0,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await _store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }

    public async Task DisposeAsync()
    {
        await _store!.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task ForecastModel_TrainReuseRestartRetrainFail_ServedModelInMethodAndManifest()
    {
        var clock = new FakeTimeProvider(T0);
        var captured = new CapturedLog();
        using var logs = new LoggerFactory([captured]);
        ForecastOptions options = Options(Path.Combine(_dir, "model"));
        var trainer = new CountingTrainer();
        GlobalForecastModels models = ForecastServices.Models(options, trainer, logs);
        DemandForecastService service = ForecastServices.Create(_store!, PricingFileReader.Parse(Pricing), options, models, logs);

        // 1. First forecast: no stored model, so it trains on both models' 840 hours [T0 − 35 d, T0).
        ForecastPoint[] first = Tokens(await service.ForecastAndWriteAsync(clock.GetUtcNow()));
        Assert.Equal(1, trainer.Calls);
        Assert.Equal(48, first.Length);
        Assert.All(first, p => Assert.Equal(GlobalEnsemble.Name, p.Method));
        // A daily cycle with slow growth: every member is close to it, so is the ensemble (10 % either way).
        Assert.All(first, p => Assert.InRange(p.Value, Truth(p.Model!, p.Time) * 0.9, Truth(p.Model!, p.Time) * 1.1));
        ForecastModelManifest trained = Manifest(options);
        Assert.Equal(T0, trained.TrainingTo);
        Assert.Equal(T0.AddHours(-840), trained.TrainingFrom);
        Assert.Equal(["chat-llm", "code-llm"], trained.Series);
        Assert.Equal(24, trained.HorizonHours);
        Assert.Matches("^[0-9a-f]{64}$", trained.InputHash);
        Assert.True(File.Exists(Path.Combine(options.ModelDirectory, ForecastModelStore.ModelFile)));

        // 2. A day later: younger than the 7-day interval, reused (no training), the manifest unchanged.
        clock.Advance(TimeSpan.FromDays(1));
        ForecastPoint[] reused = Tokens(await service.ForecastAndWriteAsync(clock.GetUtcNow()));
        Assert.Equal(1, trainer.Calls);
        Assert.All(reused, p => Assert.Equal(GlobalEnsemble.Name, p.Method));
        Assert.Equal(trained.InputHash, Manifest(options).InputHash);

        // 3. A restart (a new holder on the same directory) loads the stored model: no training, the same forecast.
        var restartTrainer = new CountingTrainer();
        DemandForecastService restarted = ForecastServices.Create(_store!, PricingFileReader.Parse(Pricing), options, ForecastServices.Models(options, restartTrainer));
        ForecastPoint[] fromDisk = Tokens(await restarted.ForecastAndWriteAsync(clock.GetUtcNow()));
        Assert.Equal(0, restartTrainer.Calls);
        Assert.Equal(reused.Select(p => (p.Model, p.Time)), fromDisk.Select(p => (p.Model, p.Time)));
        for (int i = 0; i < reused.Length; i++)
        {
            Assert.Equal(reused[i].Value, fromDisk[i].Value, reused[i].Value * 1e-9);
            Assert.Equal(GlobalEnsemble.Name, fromDisk[i].Method);
        }

        // 4. Seven days after the training end: retrained on [T0 − 28 d, T0 + 7 d), a new input hash.
        clock.Advance(TimeSpan.FromDays(6));
        Assert.All(Tokens(await service.ForecastAndWriteAsync(clock.GetUtcNow())), p => Assert.Equal(GlobalEnsemble.Name, p.Method));
        Assert.Equal(2, trainer.Calls);
        ForecastModelManifest retrained = Manifest(options);
        Assert.Equal(T0.AddDays(7), retrained.TrainingTo);
        Assert.Equal(T0.AddDays(7).AddHours(-840), retrained.TrainingFrom);
        Assert.NotEqual(trained.InputHash, retrained.InputHash);

        // 5. Another seven days and the training fails: the previous model serves, says so, and stays stored.
        clock.Advance(TimeSpan.FromDays(7));
        trainer.Fail = true;
        ForecastPoint[] previous = Tokens(await service.ForecastAndWriteAsync(clock.GetUtcNow()));
        Assert.Equal(3, trainer.Calls);
        Assert.All(previous, p => Assert.Equal(DemandForecastService.PreviousModelMethod, p.Method));
        Assert.Equal("ensemble(global trees, locals), previous model", DemandForecastService.PreviousModelMethod);
        Assert.All(previous, p => Assert.InRange(p.Value, Truth(p.Model!, p.Time) * 0.9, Truth(p.Model!, p.Time) * 1.1));
        Assert.Equal(retrained.InputHash, Manifest(options).InputHash);
        // The previous model's period: [T0 + 7 d − 840 h, T0 + 7 d) = [2026-10-05, 2026-11-09).
        Assert.Contains("Forecast model training failed; serving the previous model (trained on [2026-10-05T00:00:00.0000000+00:00, 2026-11-09T00:00:00.0000000+00:00)) instead", captured.Lines);
    }

    [Fact]
    public async Task ForecastModel_TrainingFailsWithoutPreviousModel_SeasonalNaiveServes()
    {
        var captured = new CapturedLog();
        using var logs = new LoggerFactory([captured]);
        ForecastOptions options = Options(Path.Combine(_dir, "empty"));
        var trainer = new CountingTrainer { Fail = true };
        DemandForecastService service = ForecastServices.Create(_store!, PricingFileReader.Parse(Pricing), options, ForecastServices.Models(options, trainer, logs), logs);

        ForecastPoint[] tokens = Tokens(await service.ForecastAndWriteAsync(T0));

        Assert.Equal(1, trainer.Calls);
        Assert.Equal("seasonal-naive(m=24), training failed", DemandForecastService.SeasonalNaiveFallbackMethod);
        Assert.All(tokens, p => Assert.Equal(DemandForecastService.SeasonalNaiveFallbackMethod, p.Method));
        // Seasonal naive (m = 24) over a 24-hour horizon: each hour repeats the same hour the day before, e.g.
        // code-llm at T0 + 15 h = the day before at 15:00, T0 − 9 h = (12M + 8M·cos(0)) × (1 − 0.002 × 9/24) = 19,985,000 tokens.
        Assert.All(tokens, p => Assert.Equal(Truth(p.Model!, p.Time.AddDays(-1)), p.Value));
        Assert.Equal(19_985_000, tokens.Single(p => p.Model == "code-llm" && p.Time == T0.AddHours(15)).Value);
        Assert.Contains("Forecast model training failed; serving seasonal naive instead", captured.Lines);
        Assert.False(File.Exists(Path.Combine(options.ModelDirectory, ForecastModelStore.ManifestFile)));
    }

    private static ForecastOptions Options(string modelDirectory) => new()
    {
        HorizonHours = 24,
        History = TimeSpan.FromDays(35),
        RetrainInterval = TimeSpan.FromDays(7),
        ModelDirectory = modelDirectory,
    };

    private static ForecastPoint[] Tokens(IReadOnlyList<ForecastPoint> points) =>
        [.. points.Where(p => p.Series == DemandForecastService.TokensPerHour).OrderBy(p => p.Model, StringComparer.Ordinal).ThenBy(p => p.Time)];

    private static ForecastModelManifest Manifest(ForecastOptions options) =>
        JsonSerializer.Deserialize<ForecastModelManifest>(
            File.ReadAllText(Path.Combine(options.ModelDirectory, ForecastModelStore.ManifestFile)),
            Json)!;

    /// <summary>The product's trainer, counted, and made to fail on demand (as ML.NET does on data it cannot use).</summary>
    private sealed class CountingTrainer : IForecastModelTrainer
    {
        private readonly GlobalEnsembleTrainer _inner = new();

        public int Calls { get; private set; }

        public bool Fail { get; set; }

        public GlobalEnsembleFit Train(IReadOnlyList<double[]> histories, int horizonHours)
        {
            Calls++;
            return Fail ? throw new InvalidOperationException("Training failed (test).") : _inner.Train(histories, horizonHours);
        }
    }
}
