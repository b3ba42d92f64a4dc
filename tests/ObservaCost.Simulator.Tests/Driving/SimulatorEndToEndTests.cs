using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Signals;
using ObservaCost.Analytics.Windows;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Simulator.Driving;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using Xunit.Abstractions;

namespace ObservaCost.Simulator.Tests.Driving;

/// <summary>
/// The demo fleet through a real in-process collector with analytics on its embedded store: a day of history written
/// through <c>/write</c> and <c>/api/v1/requests/import</c>, backfilled, the anomaly rules run over each window, and the
/// API read back.
/// </summary>
public sealed class SimulatorEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WriteHistory_OneDayThroughTheCollector_IsCostedFlaggedAndTaggedSimulated()
    {
        await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync();
        var simulator = new FleetSimulator(DemoFleet.Default, TimeProvider.System);
        DateTimeOffset to = simulator.Anchor, from = to.AddDays(-1);
        var driver = new SimulatorDriver(simulator, host.Client, TimeProvider.System, CollectorHost.AdminToken);

        HistorySummary summary = await driver.WriteHistoryAsync(host.Client.BaseAddress!, from, to);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one day: {summary.GpuSamplesWritten} samples, {summary.RequestsImported} requests in {summary.Elapsed.TotalSeconds:F1} s (write {summary.WriteTime.TotalSeconds:F1} s, import {summary.ImportTime.TotalSeconds:F1} s)"));

        // 16 GPUs × 1,440 minutes = 23,040 samples, every one accepted; every request imported (none refused).
        Assert.Equal(23_040, summary.GpuSamplesWritten);
        Assert.Equal(0, summary.RequestsRefused);
        Assert.InRange(summary.RequestsImported, 12_000, 50_000); // 32 req/min at peak × 1,440 min × (0.6–1.0 weekly) × 0.675 mean diurnal ≈ 18,700–31,100
        await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(from, to).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 23_040, TimeSpan.FromSeconds(120));

        // Every stored GPU sample carries source=simulated: grouped by source, one group, the simulated one, with all of them.
        QueryResult bySource = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).GroupBy(Tags.Source).Between(from, to).Build());
        ResultSeries sourceSeries = Assert.Single(bySource.Series);
        Assert.Equal(("simulated", 23_040L), (sourceSeries.Tags[Tags.Source], sourceSeries.Rows[0][0].Integer));

        // Every stored inference window carries dataset=simulated: grouped by dataset, one group, the simulated one,
        // with every imported request in it.
        QueryResult byDataset = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.RequestCount).GroupBy(Tags.Dataset).Between(from, to).Build());
        ResultSeries datasetSeries = Assert.Single(byDataset.Series);
        Assert.Equal((Datasets.Simulated, (double)summary.RequestsImported), (datasetSeries.Tags[Tags.Dataset], datasetSeries.Rows[0][0].Number));

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await host.Services.GetRequiredService<AnalyticsBackfill>().RunAsync(from, to, new BackfillProgress(TextWriter.Null, redraw: false, TimeProvider.System));
        AnalyticsWindowOptions windows = host.Services.GetRequiredService<AnalyticsWindowOptions>();
        AnomalyService anomalies = host.Services.GetRequiredService<AnomalyService>();
        for (DateTimeOffset w = from; w < to; w += windows.WindowLength)
        {
            await anomalies.DetectAndWriteAsync(w);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backfill and anomalies: {stopwatch.Elapsed.TotalSeconds:F1} s"));
        string range = string.Create(CultureInfo.InvariantCulture, $"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={to:yyyy-MM-ddTHH:mm:ssZ}");

        // Cost: the whole fleet's dollars over its tokens. The example prices give the fleet 26.3–28.4 $/h (4 owned
        // H100: 0.77 capex + 0.35 opex + ≤ 0.33 energy (700 W GPU + 200 W node share, PUE 1.3, ≤ 0.28 $/kWh) each;
        // 4 owned L40S: 0.31 + 0.15 + ≤ 0.20; 4 H200 and 4 L4 at the default 2.5 $/h, energy included). The demo
        // serves ≈ 1.94 M tokens/h on a weekday (648 llama and 405 mistral requests of ≈ 1,366 tokens, 243 coder
        // requests of ≈ 2,076: the traces' means) and 60 % of that on a weekend: 13.5–24.4 $ per 1M tokens; 8–35
        // leaves room for the day's mix of hours and the noise.
        using JsonDocument cost = await GetAsync(host, "/api/v1/cost?" + range + "&groupBy=model");
        JsonElement totals = cost.RootElement.GetProperty("totals");
        Assert.Equal(16 * 24.0, totals.GetProperty("gpuHours").GetDouble(), 6); // 16 GPUs × 24 h
        Assert.InRange(totals.GetProperty("costPerMillionTokensUsd").GetDouble(), 8, 35);
        Assert.Contains(cost.RootElement.GetProperty("rows").EnumerateArray(), r => r.GetProperty("model").GetString() == "llama-3.1-70b");

        // Idle: the spare H200 all day and the spare H100 but for the zombie's 2 h are 24 + 22 = 46 idle GPU-hours;
        // the serving GPUs' night troughs stay above the 5 % threshold (85 % × 0.35 × 0.6 ≈ 18 % at the lowest).
        using JsonDocument idle = await GetAsync(host, "/api/v1/idle?" + range);
        Assert.True(idle.RootElement.GetProperty("totals").GetProperty("idleGpuHours").GetDouble() >= 45, idle.RootElement.ToString());

        using JsonDocument kpis = await GetAsync(host, "/api/v1/kpis?" + range);
        Assert.NotEmpty(kpis.RootElement.GetProperty("rows").EnumerateArray());

        // The rules name the zombie H100 (power with no tokens) and the stuck L40S (allocated, no tokens) by node/uuid.
        using JsonDocument events = await GetAsync(host, "/api/v1/anomalies?" + range + "&severity=info");
        var flagged = events.RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (Detector: e.GetProperty("detector").GetString(), Entity: e.GetProperty("entity").GetString()))
            .ToList();
        string zombie = "sim-chat-h100-01/" + simulator.Gpus.Single(g => g.Node == "sim-chat-h100-01" && g.Index == 3).Uuid;
        string stuck = "sim-small-l40s-01/" + simulator.Gpus.Single(g => g.Node == "sim-small-l40s-01" && g.Index == 3).Uuid;
        string xid = "sim-small-l4-01/" + simulator.Gpus.Single(g => g.Node == "sim-small-l4-01" && g.Index == 0).Uuid;
        Assert.Contains((CrossSignalRules.ZombieDetector, zombie), flagged);
        Assert.Contains((CrossSignalRules.UnusedAllocationDetector, stuck), flagged);
        Assert.Contains((CrossSignalRules.XidDropDetector, xid), flagged);
        Assert.DoesNotContain(flagged, f => f.Detector == CrossSignalRules.ZombieDetector && f.Entity != zombie);
    }

    private static async Task<JsonDocument> GetAsync(CollectorHost host, string path)
    {
        using HttpResponseMessage response = await host.Client.GetAsync(new Uri(path, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, path + ": " + body);
        return JsonDocument.Parse(body);
    }
}
