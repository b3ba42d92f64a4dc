using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Windows;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Ingest;

/// <summary>
/// End to end: a tenant token (acme) pushing GPU samples that name another tenant's namespace, or that describe that
/// tenant's GPUs, cannot change the other tenant's cost rows — pushed through the collector, rolled up and costed by
/// the analytics window service on the embedded store, before and after.
/// </summary>
public sealed class TenantAttributionTests
{
    [Fact]
    public async Task TenantToken_WritingVictimsNamespaceOrGpus_NeverChangesVictimsCostRows()
    {
        await using CollectorHost host = await PeakHour.StartCollectorAsync();

        // The fleet (admin token), the weekday-peak hour on a fake clock: on gpu-node-1, GPU-0 (H100, pool chat-h100)
        // serves llama-3.1-70b for the tenant "victim" all hour at 600 W; GPU-1 is unallocated at 70 W. Samples every
        // 10 s from 5 minutes before to 5 minutes after: 420 per GPU.
        DateTimeOffset hour = PeakHour.Start;
        using (var fleet = new LineProtocolWriter())
        {
            for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
            {
                new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 0, GpuUuid = "GPU-0", GpuModel = "H100", Pool = "chat-h100", Pod = "vllm-0", Namespace = "victim", ServedModel = "llama-3.1-70b", PowerWatts = 600, UtilizationPercent = 90 }.WriteTo(fleet);
                new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 1, GpuUuid = "GPU-1", GpuModel = "H100", Pool = "chat-h100", PowerWatts = 70, UtilizationPercent = 0 }.WriteTo(fleet);
            }

            Assert.Equal(HttpStatusCode.NoContent, (await PushAsync(host, fleet, CollectorHost.AdminToken)).StatusCode);
        }

        await host.WaitForAsync(SampleCount(hour, tenant: null), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 840);
        IReadOnlyList<CostWindow> before = await VictimRowsAsync(host, hour);

        // By hand (docs/pricing.example.json): victim holds GPU-0 the whole hour, one row (llama-3.1-70b, chat-h100,
        // gpu-node-1) of 1 GPU-hour. GPU energy 600 W × 3,600 s = 2,160,000 J; node power 800 W shared by the node's
        // 2 GPUs = 400 W × 3,600 s = 1,440,000 J; facility (2,160,000 + 1,440,000) × PUE 1.3 = 4,680,000 J. Owned H100:
        // capex (30,000 − 3,000) / (4 × 8,760) = $0.770547945205479/h, opex $0.35/h; energy 4,680,000 J / 3.6e6
        // = 1.3 kWh × 0.28 $/kWh (weekday peak) = $0.364; cost 0.770547945205479 + 0.35 + 0.364 = $1.484547945205479.
        CostWindow row = Assert.Single(before);
        Assert.Equal(("llama-3.1-70b", "chat-h100", "gpu-node-1"), (row.Model, row.Pool, row.Node));
        Assert.Equal(1.0, row.GpuHours, 9);
        Assert.Equal(2_160_000, row.GpuEnergyJoules, 6);
        Assert.Equal(1_440_000, row.NodeEnergyJoules, 6);
        Assert.Equal(4_680_000, row.FacilityEnergyJoules, 6);
        Assert.Equal(27_000.0 / 35_040, row.CapexUsd, 9);
        Assert.Equal(0.35, row.OpexUsd, 9);
        Assert.Equal(0.364, row.EnergyCostUsd, 9);
        Assert.Equal(1.484547945205479, row.CostUsd, 9);

        // The attacker (tenant token acme), the same 420 instants: (1) GPU-1 claimed for namespace victim, refused;
        // (2) GPU-0, victim's own GPU, with another pod and no namespace; (3) GPU-1 again as Telegraf nvidia_smi.
        // (2) and (3) are accepted, tagged tenant=acme.
        using (var attack = new LineProtocolWriter())
        {
            for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
            {
                new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 1, GpuUuid = "GPU-1", GpuModel = "H100", Pool = "chat-h100", Pod = "x", Namespace = "victim", ServedModel = "llama-3.1-70b", PowerWatts = 700, UtilizationPercent = 100 }.WriteTo(attack);
                new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 0, GpuUuid = "GPU-0", GpuModel = "H100", Pool = "chat-h100", Pod = "evil", ServedModel = "llama-3.1-70b", PowerWatts = 700, UtilizationPercent = 100 }.WriteTo(attack);
                attack.Begin("nvidia_smi").Tag("host", "gpu-node-1").Tag("index", "1").Tag("name", "H100").Tag("uuid", "GPU-1")
                    .Field("power_draw", 700.0).Field("utilization_gpu", 100L).End(UnixTime.ToNanoseconds(t));
            }

            using HttpResponseMessage response = await PushAsync(host, attack, CollectorHost.TenantToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(840, json.RootElement.GetProperty("accepted").GetInt32());
            Assert.Equal(420, json.RootElement.GetProperty("rejected").GetInt32());
        }

        await host.WaitForAsync(SampleCount(hour, tenant: "acme"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 840);
        IReadOnlyList<CostWindow> after = await VictimRowsAsync(host, hour);

        // Victim's rows are exactly what they were; acme pays for what it wrote: two GPUs of its own for the hour.
        Assert.Equal(before, after);
        WindowCostReport report = await host.Services.GetRequiredService<CostWindowService>().ComputeAsync(hour);
        Assert.Equal(2.0, report.Costs.Where(c => c.Tenant == "acme").Sum(c => c.GpuHours), 9);
        // acme's two GPUs (GPU-0 pod evil, GPU-1 as nvidia_smi), both H100 at 700 W, share the node's 800 W between
        // them (tenant-bound GPUs share node power only with GPUs bound to the same tenant): each 700 × 3,600
        // = 2,520,000 J + 400 × 3,600 = 1,440,000 J = 3,960,000 J × 1.3 / 3.6e6 = 1.43 kWh × 0.28 = $0.4004, so
        // 0.770547945205479 + 0.35 + 0.4004 = $1.520947945205479 a GPU, $3.041895890410959 for the two.
        Assert.Equal(3.041895890410959, report.Costs.Where(c => c.Tenant == "acme").Sum(c => c.CostUsd), 9);
    }

    private static async Task<HttpResponseMessage> PushAsync(CollectorHost host, LineProtocolWriter lines, string token)
    {
        using var push = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new ByteArrayContent(lines.WrittenSpan.ToArray()) };
        push.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await host.Client.SendAsync(push);
    }

    private static TimeSeriesQuery SampleCount(DateTimeOffset hour, string? tenant)
    {
        TimeSeriesQueryBuilder query = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(hour.AddMinutes(-5), hour.AddMinutes(65));
        return (tenant is null ? query : query.WhereTag(Tags.Tenant, tenant)).Build();
    }

    /// <summary>Rolls the hour up (the cost window reads the 1-minute rollup by default) and computes its cost rows of "victim".</summary>
    private static async Task<IReadOnlyList<CostWindow>> VictimRowsAsync(CollectorHost host, DateTimeOffset hour)
    {
        await host.Services.GetRequiredService<GpuRollupService>().RollupAsync(hour.AddMinutes(-5), hour.AddMinutes(65));
        WindowCostReport report = await host.Services.GetRequiredService<CostWindowService>().ComputeAsync(hour);
        return [.. report.Costs.Where(c => c.Tenant == "victim").OrderBy(c => c.Model, StringComparer.Ordinal)];
    }
}
