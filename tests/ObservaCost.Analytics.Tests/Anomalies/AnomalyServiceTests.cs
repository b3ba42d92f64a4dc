using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Signals;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Anomalies;

/// <summary>
/// The anomaly job's service on a real InfluxDB: an H100 serving at its captured load power (nvidia-smi dmon,
/// 631–636 W) drops to its captured rest power (69 W) for four minutes in the last hour; the default adaptive-resonance
/// detector flags the drop (the first minute at rest fails to resonate with anything learnt in the 63-minute probation
/// or after), and so does the spectral residual (its saliency peaks at the drop's edges); the events land in the store,
/// and recomputing the window after the drop has moved replaces them.
/// </summary>
public sealed class AnomalyServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 6, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Window = T0.AddHours(6);
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

    [Theory]
    [InlineData(AnomalyDetectorKind.AdaptiveResonance, AnomalyService.AdaptiveResonanceDetectorName)]
    [InlineData(AnomalyDetectorKind.SpectralResidual, AnomalyService.SpectralResidualDetector)]
    public async Task DetectAndWrite_PowerDropsToRestFor4Minutes_FlagsTheDrop_AndRecomputeReplaces(AnomalyDetectorKind detector, string detectorTag)
    {
        double[] load = DmonPower("load");
        double[] rest = DmonPower("idle");
        using var writer = new LineProtocolWriter();
        WriteSamples(writer, load, rest, T0, Window.AddHours(1), dropAt: Window.AddMinutes(30));

        for (DateTimeOffset t = T0; t < Window.AddHours(1); t = t.AddMinutes(1))
        {
            new InferenceWindow
            {
                WindowStart = t, WindowLength = TimeSpan.FromMinutes(1), Model = "code-llm", Tenant = "acme", Source = "request_log",
                RequestCount = 130, PromptTokens = 260_000, CompletionTokens = 3_600,
            }.WriteTo(writer);
        }

        WriteResult written = await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);

        AnomalyService service = Service(detector);
        IReadOnlyList<AnomalyEvent> events = await service.DetectAndWriteAsync(Window);

        AnomalyEvent[] power = [.. events.Where(e => e.Series == Fields.PowerWatts).OrderBy(e => e.Time)];
        Assert.NotEmpty(power);
        Assert.All(power, e =>
        {
            Assert.Equal("node-a/GPU-H100", e.Entity);
            Assert.Equal(detectorTag, e.Detector);
            Assert.InRange(e.Time, Window.AddMinutes(30), Window.AddMinutes(33));
            Assert.InRange(e.Value, 69, 70);
            // The expected value lies well above the drop and the value is under the lower bound: for the spectral
            // residual ML.NET's (a low-pass of the series with its anomalies bridged) and its margin; for adaptive
            // resonance the median of the 6.5 h before (load, 631–636 W) and their minimum.
            Assert.True(e.ExpectedValue > e.Value + 100, $"expected {e.ExpectedValue} for {e.Value}");
            Assert.True(e.Value < e.LowerBound);
        });
        Assert.Contains(power, e => e.Time == Window.AddMinutes(30));
        Assert.DoesNotContain(events, e => e.Time < Window || e.Time >= Window.AddHours(1));

        // In the store: the same events.
        Assert.Equal(events.Count, await CountStoredAsync(Window.AddHours(-1), Window.AddHours(2)));

        // The data change: the samples of 30–34 min are rewritten at load and the drop moves to 40–44 min. A second
        // computation of the window replaces the events: those of the first drop are gone (without the delete before
        // the write-back they would stay, and the store would hold both drops).
        using (var moved = new LineProtocolWriter())
        {
            WriteSamples(moved, load, rest, Window.AddMinutes(30), Window.AddMinutes(44), dropAt: Window.AddMinutes(40));
            Assert.Equal(0, (await _store!.WriteAsync(new LineProtocolBatch(moved.WrittenMemory, moved.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
        }

        IReadOnlyList<AnomalyEvent> again = await service.DetectAndWriteAsync(Window);
        AnomalyEvent[] movedPower = [.. again.Where(e => e.Series == Fields.PowerWatts)];
        Assert.NotEmpty(movedPower);
        Assert.All(movedPower, e => Assert.InRange(e.Time, Window.AddMinutes(40), Window.AddMinutes(43)));
        Assert.Equal(again.Count, await CountStoredAsync(Window.AddHours(-1), Window.AddHours(2)));
        Assert.Equal(0, await CountStoredAsync(Window.AddMinutes(30), Window.AddMinutes(34)));
    }

    /// <summary>15 s samples of the H100 in [from, to): at load, at rest for the four minutes from <paramref name="dropAt"/>.</summary>
    private static void WriteSamples(LineProtocolWriter writer, double[] load, double[] rest, DateTimeOffset from, DateTimeOffset to, DateTimeOffset dropAt)
    {
        for (DateTimeOffset t = from; t < to; t = t.AddSeconds(15))
        {
            int minute = (int)(t - T0).TotalMinutes;
            bool dropped = t >= dropAt && t < dropAt.AddMinutes(4);
            new GpuSample
            {
                Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-H100", Pool = "chat", Pod = "vllm-0", ServedModel = "code-llm",
                PowerWatts = dropped ? rest[minute % rest.Length] : load[minute % load.Length], UtilizationPercent = dropped ? 0 : 100,
            }.WriteTo(writer);
        }
    }

    private AnomalyService Service(AnomalyDetectorKind detector) => new(
        _store!,
        PricingFileReader.Parse("""{ "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 2, "energyIncluded": true } } }"""),
        new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw },
        new AnomalyOptions { Detector = detector },
        new CrossSignalOptions(),
        new WebhookAlertSink(_http!, new AlertOptions(), TimeProvider.System, NullLogger<WebhookAlertSink>.Instance),
        NullLogger<AnomalyService>.Instance);

    private async Task<int> CountStoredAsync(DateTimeOffset from, DateTimeOffset to)
    {
        QueryResult result = await _store!.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.AnomalyEvent).Count(Fields.Score).Between(from, to).Build());
        return result.Series.Count == 0 ? 0 : (int)result.Series[0].Rows[0][0].Number;
    }

    private static double[] DmonPower(string phase) =>
        [.. File.ReadAllLines(RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "query-gpu-csv", $"linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__{phase}__dmon.txt"))
            .Where(l => !l.StartsWith('#'))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture))];
}
