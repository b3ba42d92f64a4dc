using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Scraping;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// A node-power target end to end: the in-process collector scrapes a loopback ipmi_exporter page (the fixture,
/// ipmi_dcmi_power_consumption_watts 1400) into <c>node_sample</c>, the window is computed in the same process and the
/// API's cost rows carry the node's measured non-GPU energy and say <c>measured</c>.
/// </summary>
public sealed class NodePowerScrapeTests : IAsyncLifetime
{
    /// <summary>The hour of the test; the collector's clock starts 20 minutes into it, so every scrape falls inside.</summary>
    private static readonly DateTimeOffset Hour = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private WebApplication? _exporter;
    private int _requests;
    private volatile bool _serving = true;

    private string ExporterUrl { get; set; } = string.Empty;

    public async Task InitializeAsync()
    {
        string page = await File.ReadAllTextAsync(NodePowerMapperTests.PagePath("ipmi_exporter_dcmi.prom"));
        int port = InfluxDbServer.FreePort();
        ExporterUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", ExporterUrl]);
        _exporter = builder.Build();

        // The BMC answers until the test has three readings or more, then fails (counted as fetch_failed), so the
        // stored readings stop growing (a scrape that timed out under load is not stored, so the count is not fixed).
        _exporter.MapGet("/ipmi", () =>
        {
            Interlocked.Increment(ref _requests);
            return _serving ? Results.Text(page, "text/plain; version=0.0.4") : Results.StatusCode(503);
        });
        // A BMC that gives no DCMI reading: ipmi_exporter leaves the metric out and says ipmi_up{collector="dcmi"} 0.
        _exporter.MapGet("/ipmi-without-dcmi", () => Results.Text("ipmi_up{collector=\"dcmi\"} 0\nipmi_up{collector=\"ipmi\"} 1\n", "text/plain; version=0.0.4"));
        await _exporter.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.StopAsync();
            await _exporter.DisposeAsync();
        }
    }

    [Fact]
    public async Task IpmiTarget_ScrapedStoredAndComputed_CostRowsCarryTheMeasuredNodeEnergy()
    {
        var clock = new ShiftedTimeProvider(Hour.AddMinutes(20));
        await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            [
                "--Collector:Scrape:Targets:0:Name", "bmc-node-a",
                "--Collector:Scrape:Targets:0:Url", ExporterUrl + "/ipmi",
                "--Collector:Scrape:Targets:0:Kind", "IpmiDcmi",
                "--Collector:Scrape:Targets:0:Node", "node-a",
                "--Collector:Scrape:Targets:0:Interval", "00:00:01",
                "--Collector:Scrape:Targets:0:Timeout", "00:00:01",
                "--Collector:Scrape:Targets:1:Name", "bmc-node-b",
                "--Collector:Scrape:Targets:1:Url", ExporterUrl + "/ipmi-without-dcmi",
                "--Collector:Scrape:Targets:1:Kind", "IpmiDcmi",
                "--Collector:Scrape:Targets:1:Node", "node-b",
                "--Collector:Scrape:Targets:1:Interval", "00:00:01",
                "--Collector:Scrape:Targets:1:Timeout", "00:00:01",
            ]);

        TimeSeriesQuery nodeSamples = TimeSeriesQueryBuilder.From(Measurements.NodeSample).Field(Fields.PowerWatts)
            .Between(Hour, Hour.AddHours(1)).GroupBy(Tags.Node, Tags.Scope, Tags.Source).Build();
        await host.WaitForAsync(nodeSamples, r => r.Series.Count == 1 && r.Series[0].Rows.Count >= 3);
        _serving = false;
        int stoppedAt = Volatile.Read(ref _requests);
        for (int i = 0; i < 200 && Volatile.Read(ref _requests) < stoppedAt + 2; i++)
        {
            await Task.Delay(50);
        }

        await Task.Delay(1000); // the forwarder writes what the spool holds
        QueryResult stored = await host.Store.QueryAsync(nodeSamples);
        ResultSeries series = Assert.Single(stored.Series);
        Assert.Equal(("node-a", NodePowerScopes.WholeNode, "ipmi_dcmi"), (series.Tags[Tags.Node], series.Tags[Tags.Scope], series.Tags[Tags.Source]));
        Assert.True(series.Rows.Count >= 3);
        Assert.All(series.Rows, r => Assert.Equal(1400, r[0].Number));

        // node-b's pages had no reading: no node_sample for it (the single series above is node-a's), each page counted.
        Assert.True(CollectorTotals.Of(host.Services).RejectedTotal(ScrapeService.Source, "missing_value") >= 1);
        DateTimeOffset first = series.Rows[0].Time, last = series.Rows[^1].Time;

        // Two GPUs of node-a, 400 W and 300 W, every 10 s over the hour and 5 minutes either side, serving llama.
        using (var writer = new LineProtocolWriter())
        {
            for (DateTimeOffset t = Hour.AddMinutes(-5); t <= Hour.AddMinutes(65); t = t.AddSeconds(10))
            {
                for (int g = 0; g < 2; g++)
                {
                    new GpuSample
                    {
                        Time = t, Node = "node-a", GpuIndex = g, GpuUuid = "GPU-A" + (g + 1).ToString(CultureInfo.InvariantCulture), GpuModel = "H100",
                        Pool = "chat-h100", Pod = "vllm-" + g.ToString(CultureInfo.InvariantCulture), Namespace = "llm", ServedModel = "llama",
                        PowerWatts = g == 0 ? 400 : 300, UtilizationPercent = 80,
                    }.WriteTo(writer);
                }
            }

            Assert.Equal(0, (await host.Store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
        }

        clock.JumpTo(Hour.AddHours(4));
        await host.Services.GetRequiredService<AnalyticsBackfill>().RunAsync(Hour, Hour.AddHours(1), new BackfillProgress(TextWriter.Null, redraw: false, clock));

        // At each reading the GPUs draw 400 + 300 = 700 W, so the non-GPU power is 1,400 − 700 = 700 W, 350 W a GPU.
        // The readings are about a second apart (under the 2-minute gap limit), so the node energy is 700 W × (last −
        // first reading) over the node, e.g. three readings 1.0 s apart: 700 × 2.0 s = 1,400 J; the pricing file's
        // fixed 800 W does not apply to a measured node.
        double expectedJoules = 700 * (last - first).TotalSeconds;
        Assert.True(expectedJoules > 0);
        string query = string.Create(CultureInfo.InvariantCulture, $"/api/v1/cost?from={Hour:yyyy-MM-ddTHH:mm:ssZ}&to={Hour.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}&groupBy=node");
        using HttpResponseMessage response = await host.Client.GetAsync(new Uri(query, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using JsonDocument cost = JsonDocument.Parse(body);
        JsonElement row = Assert.Single(cost.RootElement.GetProperty("rows").EnumerateArray());
        Assert.Equal("node-a", row.GetProperty("node").GetString());
        Assert.Equal(NodePowerSources.Measured, row.GetProperty("nodePowerSource").GetString());
        double actual = row.GetProperty("nodeEnergyJoules").GetDouble();
        Assert.True(Math.Abs(actual - expectedJoules) <= 1e-9 * expectedJoules, string.Create(CultureInfo.InvariantCulture, $"node energy {actual:R} J, expected {expectedJoules:R} J"));
        Assert.Equal(NodePowerSources.Measured, cost.RootElement.GetProperty("totals").GetProperty("nodePowerSource").GetString());
    }
}
