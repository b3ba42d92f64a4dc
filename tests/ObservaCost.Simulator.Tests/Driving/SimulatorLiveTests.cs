using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Simulator.Configuration;
using ObservaCost.Simulator.Driving;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Simulator.Tests.Driving;

/// <summary>
/// The live phase against a real in-process collector: the collector is configured with the scrape targets
/// <see cref="SimulatorDriver.ScrapeTargetConfiguration"/> gives, scrapes the simulated dcgm-exporter pages, and takes
/// the live request posts.
/// </summary>
public sealed class SimulatorLiveTests
{
    [Fact]
    public async Task RunLive_CollectorScrapesThePagesAndTakesTheRequests_SamplesStoredTaggedSimulated()
    {
        // A 1 s live step and scrape interval keep the test short (the demo uses 10 s); 20 times the demo's request
        // rates make sure a few seconds hold requests (~640 a minute at the peak, ~10 a second).
        FleetOptions options = DemoFleet.Default;
        options.LiveSampleStep = TimeSpan.FromSeconds(1);
        options.Models.ForEach(m => m.PeakRequestsPerMinute *= 20);
        var simulator = new FleetSimulator(options, TimeProvider.System);
        using var http = new HttpClient();
        var driver = new SimulatorDriver(simulator, http, TimeProvider.System, CollectorHost.AdminToken);

        // The pages first, then the collector configured to scrape them, then the live phase.
        await using SimulatorPageServer pages = await driver.StartPagesAsync();
        string[] scrape = [.. SimulatorDriver.ScrapeTargetConfiguration(simulator, pages.BaseAddress, TimeSpan.FromSeconds(1))
            .SelectMany(kv => new[] { "--" + kv.Key, kv.Value! })];
        Assert.Equal(4 * 10 * 2, scrape.Length); // 4 nodes × 10 keys, each as "--key value"
        await using CollectorHost host = await CollectorHost.StartAsync(scrape);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        await driver.RunLiveAsync(host.Client.BaseAddress!, stop.Token);

        // Every scraped sample of the 16 GPUs is tagged source=simulated, placed on its sim- node and pool.
        QueryResult stored = await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).GroupBy(Tags.Source, Tags.Node, Tags.Pool).Between(simulator.Anchor.AddMinutes(-1), simulator.Anchor.AddMinutes(5)).Build(),
            r => r.Series.Count == 4 && r.Series.All(s => s.Rows[0][0].Integer >= 4 * 2));
        Assert.Equal(4, stored.Series.Count);
        Assert.All(stored.Series, s => Assert.Equal("simulated", s.Tags[Tags.Source]));
        Assert.Equal(["sim-chat-h100-01/chat-h100", "sim-chat-h200-01/chat-h200", "sim-small-l4-01/small-l4", "sim-small-l40s-01/small-l40s"], // ordinal: "-" sorts before "0"
            stored.Series.Select(s => s.Tags[Tags.Node] + "/" + s.Tags[Tags.Pool]).Order(StringComparer.Ordinal));

        // Over 6 s, requests were posted and taken live, none refused (as late or otherwise).
        // The collector's counters as /metrics shows them (the SDK's numbers; a family never counted reads 0).
        var metrics = host.Services.GetRequiredService<ObservaCost.Hosting.Telemetry.PrometheusMetrics>();
        Assert.True(metrics.Value($"observacost_collector_points_received_total{{source=\"{RequestLogPipeline.Source}\"}}") > 0);
        Assert.Equal(0, metrics.Value($"observacost_collector_points_rejected_total{{source=\"{RequestLogPipeline.Source}\"}}"));
    }
}
