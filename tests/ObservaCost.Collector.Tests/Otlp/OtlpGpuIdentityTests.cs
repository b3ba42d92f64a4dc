using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Otlp;
using ObservaCost.Collector.Tests.Hosting;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Otlp;

/// <summary>
/// Issue 10: an OTLP GPU is identified by the rule every source follows (<see cref="GpuIdentity"/>). <c>hw.id</c> is
/// unique only within a host, so two hosts that both report <c>hw.id=0</c> are two GPUs (<c>host-a/gpu0</c>,
/// <c>host-b/gpu0</c>); a GPU UUID (an <c>hw.id</c> "GPU-…", <c>gpu.uuid</c>) is used as is; a point with neither a
/// UUID nor a host is refused with its reason in OTLP's partial success.
/// </summary>
public sealed class OtlpGpuIdentityTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private static OtlpDataPoint Power(double watts, Dictionary<string, string> attributes, Dictionary<string, string>? resource = null) =>
        new("hw.gpu.power.draw", "W", resource ?? [], attributes, At.ToUnixTimeMilliseconds() * 1_000_000, watts);

    [Fact]
    public void Map_SameHwIdOnTwoHosts_TwoGpusKeyedByNode()
    {
        var export = new OtlpExport();
        export.Points.Add(Power(600, new() { ["hw.id"] = "0" }, new() { ["host.name"] = "host-a" }));
        export.Points.Add(Power(500, new() { ["hw.id"] = "0" }, new() { ["host.id"] = "host-b" }));
        export.Points.Add(Power(400, new() { ["hw.id"] = "1" }, new() { ["k8s.node.name"] = "host-c" }));

        (List<GpuSample> samples, _, List<OtlpRejection> rejections) = OtlpGpuMapper.Map(export);

        Assert.Empty(rejections);
        Assert.Equal(["host-a/gpu0", "host-b/gpu0", "host-c/gpu1"], samples.Select(s => s.GpuUuid).Order(StringComparer.Ordinal));
        GpuSample c = samples.Single(s => s.Node == "host-c");
        Assert.Equal(1, c.GpuIndex);
        Assert.Equal(400, c.PowerWatts);
    }

    [Fact]
    public void Map_StrongestIdentity_UuidThenPciBusThenIndex()
    {
        Dictionary<string, string> host = new() { ["host.name"] = "node-1" };
        var export = new OtlpExport();
        // hw.id that is an NVIDIA UUID: the identity, whatever the host.
        export.Points.Add(Power(100, new() { ["hw.id"] = "GPU-5f1e" }, host));
        // A vendor UUID attribute beside a host-unique hw.id.
        export.Points.Add(Power(200, new() { ["hw.id"] = "2", ["gpu.uuid"] = "GPU-77aa" }, host));
        // A PCI bus id before the index, upper-cased as nvidia-smi prints it.
        export.Points.Add(Power(300, new() { ["hw.id"] = "3", ["pci.bus_id"] = "00000000:3b:00.0" }, host));
        // gpu.index before hw.id.
        export.Points.Add(Power(400, new() { ["hw.id"] = "nvidia4", ["gpu.index"] = "4" }, host));

        (List<GpuSample> samples, _, List<OtlpRejection> rejections) = OtlpGpuMapper.Map(export);

        Assert.Empty(rejections);
        Assert.Equal(
            ["GPU-5f1e", "GPU-77aa", "node-1/gpu4", "node-1/pci:00000000:3B:00.0"],
            samples.Select(s => s.GpuUuid).Order(StringComparer.Ordinal));
        Assert.All(samples, s => Assert.Equal("node-1", s.Node));
    }

    /// <summary>
    /// A node agent's resource is the host; the pod a GPU is allocated to comes on its data points. Those allocation
    /// attributes are kept (the data point's before the resource's).
    /// </summary>
    [Fact]
    public void Map_AllocationOnDataPoint_KeptBeforeTheResources()
    {
        var export = new OtlpExport();
        export.Points.Add(Power(
            600,
            new() { ["hw.id"] = "0", ["k8s.pod.name"] = "vllm-0", ["k8s.namespace.name"] = "llm", ["k8s.container.name"] = "server", ["observacost.served_model"] = "llama-3.1-70b" },
            new() { ["host.name"] = "node-1", ["k8s.namespace.name"] = "agents", ["k8s.pod.name"] = "gpu-agent-x" }));

        GpuSample gpu = Assert.Single(OtlpGpuMapper.Map(export).Samples);

        Assert.Equal(("vllm-0", "llm", "server", "llama-3.1-70b"), (gpu.Pod, gpu.Namespace, gpu.Container, gpu.ServedModel));
    }

    [Fact]
    public void Map_NoHostAndNoUuid_RefusedWithTheReason_UuidWithoutHostKept()
    {
        var export = new OtlpExport();
        export.Points.Add(Power(600, new() { ["hw.id"] = "0" }));
        export.Points.Add(Power(500, new() { ["hw.id"] = "GPU-abc" }));

        (List<GpuSample> samples, _, List<OtlpRejection> rejections) = OtlpGpuMapper.Map(export);

        OtlpRejection refused = Assert.Single(rejections);
        Assert.Equal(new OtlpRejection("hw.gpu.power.draw", OtlpGpuMapper.MissingIdentityReason), refused);
        GpuSample kept = Assert.Single(samples);
        Assert.Equal("GPU-abc", kept.GpuUuid);
        Assert.Equal(500, kept.PowerWatts);
    }

    /// <summary>
    /// Two hosts each report one H100 as <c>hw.id=0</c> for an hour (10 s samples from 5 min before to 5 min after,
    /// 420 each) in pool batch-spot of the shipped pricing.example.json: rented at 0.9 $/GPU-hour with energy included,
    /// so the hour costs 2 GPUs × 1 h × 0.9 = 1.8 $ over 2.0 GPU-hours (merged into one GPU it would be 0.9 $ over
    /// 1.0). A point with no host and no UUID in the same body is refused: rejectedDataPoints 1, with the reason.
    /// </summary>
    [Fact]
    public async Task Collector_TwoHostsWithSameHwId_PriceAsTwoGpus_PointWithoutHostOrUuidRefused()
    {
        await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync();
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        var hour = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddHours(-2);
        string Points(double watts)
        {
            var points = new StringBuilder();
            for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
            {
                points.Append(points.Length == 0 ? string.Empty : ",").Append(CultureInfo.InvariantCulture, $$$"""
                    {"attributes":[{"key":"hw.id","value":{"stringValue":"0"}},{"key":"hw.model","value":{"stringValue":"NVIDIA H100 80GB HBM3"}},{"key":"observacost.pool","value":{"stringValue":"batch-spot"}}],"timeUnixNano":"{{{t.ToUnixTimeMilliseconds() * 1_000_000}}}","asDouble":{{{watts}}}}
                    """);
            }

            return points.ToString();
        }

        string Resource(string? hostName, string points)
        {
            string attributes = hostName is null ? string.Empty : "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"" + hostName + "\"}}";
            return "{\"resource\":{\"attributes\":[" + attributes + "]},\"scopeMetrics\":[{\"scope\":{\"name\":\"x\"},\"metrics\":["
                + "{\"name\":\"hw.gpu.power.draw\",\"unit\":\"W\",\"gauge\":{\"dataPoints\":[" + points + "]}}]}]}";
        }

        string lone = string.Create(CultureInfo.InvariantCulture, $$$"""{"attributes":[{"key":"hw.id","value":{"stringValue":"0"}}],"timeUnixNano":"{{{hour.ToUnixTimeMilliseconds() * 1_000_000}}}","asDouble":700}""");
        string json = "{\"resourceMetrics\":[" + Resource("host-a", Points(600)) + "," + Resource("host-b", Points(500)) + "," + Resource(null, lone) + "]}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/metrics") { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        using HttpResponseMessage response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            JsonElement partial = answer.RootElement.GetProperty("partialSuccess");
            Assert.Equal("1", partial.GetProperty("rejectedDataPoints").GetString());
            Assert.Equal("hw.gpu.power.draw: " + OtlpGpuMapper.MissingIdentityReason, partial.GetProperty("errorMessage").GetString());
        }

        QueryResult gpus = await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(hour.AddMinutes(-5), hour.AddMinutes(65)).GroupBy(Tags.GpuUuid, Tags.Node, Tags.GpuModel).Build(),
            r => r.Series.Count == 2 && r.Series.All(s => s.Rows[0][0].Integer == 420));
        Assert.Equal(["host-a/gpu0", "host-b/gpu0"], gpus.Series.Select(s => s.Tags[Tags.GpuUuid]).Order(StringComparer.Ordinal));
        Assert.All(gpus.Series, s => Assert.Equal("H100", s.Tags[Tags.GpuModel]));

        (JsonDocument json2, string body) = await AnalyticsInCollectorTests.RollUpAndReadCostAsync(host, hour, 2 * 420, "pool");
        using JsonDocument cost = json2;
        JsonElement totals = cost.RootElement.GetProperty("totals");
        Assert.True(Math.Abs(totals.GetProperty("gpuHours").GetDouble() - 2.0) < 1e-9, body);
        Assert.Equal(1.8, totals.GetProperty("costUsd").GetDouble(), 9);
    }
}
