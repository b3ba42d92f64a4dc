using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Signals;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Signals;

/// <summary>Signals read back from the embedded store, then judged by the rules: the zombie found through the store.</summary>
public sealed class SignalReaderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-signals-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    public Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store!.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task ReadGpus_TenantBoundSamples_NeverFeedTheFleetsGpuSignals()
    {
        // The fleet's GPU-1 at 400 W for 10 minutes; a tenant token pushed 1,000 W readings for the same GPU.
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0; t < T0.AddMinutes(10); t = t.AddSeconds(15))
        {
            new GpuSample { Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-1", Pool = "chat", PowerWatts = 400 }.WriteTo(writer);
            new GpuSample { Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-1", Pool = "chat", Tenant = "beta", PowerWatts = 1_000 }.WriteTo(writer);
        }

        await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        GpuSignal gpu = Assert.Single(await SignalReader.ReadGpusAsync(_store, T0, T0.AddMinutes(10), _ => null));

        // Ten minutes, each the mean of the fleet's four 400 W samples.
        Assert.Equal(10, gpu.Minutes.Count);
        Assert.All(gpu.Minutes, m => Assert.Equal(400.0, m.PowerWatts!.Value));
    }

    [Fact]
    public async Task Read_GpuMinutesTokensAndXid_RulesFindTheStalledGpu()
    {
        // GPU-1 rests 20 min, serves llama 40 min, then hangs at 630 W for 20 min (Xid 43 at minute 60);
        // GPU-2 serves llama all along. Request-log tokens stop at minute 60 for both (one model).
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0; t < T0.AddMinutes(80); t = t.AddSeconds(15))
        {
            int minute = (int)(t - T0).TotalMinutes;
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-1", Pool = "chat", Pod = "vllm-0", ServedModel = "llama",
                PowerWatts = minute < 20 ? 70 : 630, GraphicsEngineActivityRatio = minute < 20 ? 0 : 0.95, XidErrors = minute >= 60 ? 43 : 0,
            }.WriteTo(writer);
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 1, GpuUuid = "GPU-2", Pool = "chat", Pod = "vllm-1", ServedModel = "llama",
                PowerWatts = 400, UtilizationPercent = 60,
            }.WriteTo(writer);
        }

        for (int minute = 0; minute < 60; minute++)
        {
            new InferenceWindow
            {
                WindowStart = T0.AddMinutes(minute), WindowLength = TimeSpan.FromMinutes(1), Model = "llama", Tenant = "acme", Source = "request_log",
                RequestCount = 10, PromptTokens = minute < 20 ? 0 : 9_000, CompletionTokens = minute < 20 ? 0 : 1_000,
            }.WriteTo(writer);
        }

        WriteResult written = await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);

        IReadOnlyList<GpuSignal> gpus = await SignalReader.ReadGpusAsync(_store, T0, T0.AddMinutes(80), _ => null);
        IReadOnlyList<ModelTokenSignal> tokens = await SignalReader.ReadTokensAsync(_store, T0, T0.AddMinutes(80));

        GpuSignal gpu1 = gpus.Single(g => g.GpuUuid == "GPU-1");
        Assert.Equal(80, gpu1.Minutes.Count);
        Assert.Equal(95, gpu1.Minutes[30].UtilizationPercent!.Value, 9); // graphics activity preferred, as a percentage
        Assert.Equal(43, gpu1.Minutes[70].XidCode);
        Assert.Equal(10_000, Assert.Single(tokens).TokensPerMinute.Single(v => v.Time == T0.AddMinutes(30)).Value);

        IReadOnlyList<AnomalyEvent> events = CrossSignalRules.Evaluate(gpus, tokens, [], T0, T0.AddMinutes(80), new CrossSignalOptions());
        AnomalyEvent zombie = Assert.Single(events, e => e.Detector == CrossSignalRules.ZombieDetector);
        Assert.Equal(("n1/GPU-1", T0.AddMinutes(60)), (zombie.Entity, zombie.Time));
        Assert.Contains(events, e => e.Detector == CrossSignalRules.XidDropDetector && e.Entity == "n1/GPU-1");
        // GPU-2 never changes power, so it cannot be judged a zombie (its range is under 30 W).
        Assert.DoesNotContain(events, e => e.Detector == CrossSignalRules.ZombieDetector && e.Entity == "n1/GPU-2");
    }

    [Fact]
    public async Task Read_FromTheRollup_GivesTheSameMinutesAsTheRawSamples()
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0; t < T0.AddMinutes(30); t = t.AddSeconds(10))
        {
            int second = (int)(t - T0).TotalSeconds;
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-1", Pool = "chat", Pod = second < 900 ? "vllm-0" : null, ServedModel = second < 900 ? "llama" : null,
                PowerWatts = 100 + (second % 70), UtilizationPercent = second % 100, XidErrors = second >= 1200 ? 79 : 0,
            }.WriteTo(writer);
        }

        Assert.Equal(0, (await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
        await new ObservaCost.Analytics.Windows.GpuRollupService(_store, ObservaCost.Analytics.Pricing.PricingFileReader.Parse("""{ "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": false } } }"""), NullLogger<ObservaCost.Analytics.Windows.GpuRollupService>.Instance).RollupAsync(T0, T0.AddMinutes(30));

        GpuSignal raw = Assert.Single(await SignalReader.ReadGpusAsync(_store, T0, T0.AddMinutes(30), _ => null));
        GpuSignal rolled = Assert.Single(await SignalReader.ReadGpusAsync(_store, T0, T0.AddMinutes(30), _ => null, Measurements.GpuMinute));
        Assert.Equal(30, raw.Minutes.Count);
        Assert.Equal(raw.Minutes, rolled.Minutes);
        Assert.Equal(79, rolled.Minutes[^1].XidCode);
        Assert.Equal("llama", rolled.Minutes[0].Model);
        Assert.Null(rolled.Minutes[^1].Model);
    }
}
