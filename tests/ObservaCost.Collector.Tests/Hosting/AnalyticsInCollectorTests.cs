using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using Quartz;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>
/// On one machine the single-machine host runs the collector and the analytics jobs in one process, priced by the
/// pricing file shipped beside the binary; the node collector never runs analytics.
/// </summary>
public sealed class AnalyticsInCollectorTests
{
    [Fact]
    public async Task SingleMachine_WithShippedPricingFile_SchedulesTheFiveAnalyticsJobsAndServesTheApi()
    {
        await using CollectorHost host = await CollectorHost.StartSingleMachineAsync();
        IScheduler scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (scheduler.Status != SchedulerStatus.Running && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.Equal(SchedulerStatus.Running, scheduler.Status);
        foreach (JobKey job in new[] { GpuRollupJob.Key, CostWindowJob.Key, KpiDayJob.Key, AnomalyJob.Key, ForecastJob.Key })
        {
            Assert.NotNull(await scheduler.GetJobDetail(job));
            Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(ScheduleRegistrar.TriggerFor(job)));
        }

        // The shipped configuration reads the API from loopback without a token (one machine).
        using HttpResponseMessage kpis = await host.Client.GetAsync(new Uri("/api/v1/kpis?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, kpis.StatusCode);
        Assert.Equal("application/json", kpis.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task NodeCollector_HasNoSchedulerAndNoApi()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        Assert.Null(host.Services.GetService<ISchedulerFactory>());
        using HttpResponseMessage kpis = await host.Client.GetAsync(new Uri("/api/v1/kpis?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, kpis.StatusCode);
    }

    /// <summary>
    /// The whole path on one machine: GPU samples and request windows pushed to the collector's <c>/write</c>, spooled
    /// into the embedded store, rolled up, priced by the shipped pricing file, and read back from the API.
    /// </summary>
    [Fact]
    public async Task Collector_PushedSamplesAndTokens_AreCostedAndServedByTheApi()
    {
        await using CollectorHost host = await PeakHour.StartCollectorAsync();

        // Two H100s of the pool chat-h100 (pricing.example.json), one serving llama-3.1-70b for acme all hour at
        // 600 W, one unallocated at 70 W, both sampled from 5 min before to 5 min after the hour; 9,000 + 1,000
        // tokens a minute.
        DateTimeOffset hour = PeakHour.Start;
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
        {
            new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 0, GpuUuid = "GPU-0", GpuModel = "H100", Pool = "chat-h100", Pod = "vllm-0", Namespace = "acme", ServedModel = "llama-3.1-70b", PowerWatts = 600, UtilizationPercent = 90 }.WriteTo(writer);
            new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 1, GpuUuid = "GPU-1", GpuModel = "H100", Pool = "chat-h100", PowerWatts = 70, UtilizationPercent = 0 }.WriteTo(writer);
        }

        for (DateTimeOffset t = hour; t < hour.AddHours(1); t = t.AddMinutes(1))
        {
            new InferenceWindow { WindowStart = t, WindowLength = TimeSpan.FromMinutes(1), Model = "llama-3.1-70b", Tenant = "acme", Source = "request_log", RequestCount = 20, PromptTokens = 9_000, CompletionTokens = 1_000 }.WriteTo(writer);
        }

        using var push = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new ByteArrayContent(writer.WrittenSpan.ToArray()) };
        push.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await host.Client.SendAsync(push)).StatusCode);
        await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Count(Fields.PromptTokens).Between(hour, hour.AddHours(1)).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 60);
        (JsonDocument json, _) = await RollUpAndReadCostAsync(host, hour, 2 * 420, "model");
        using JsonDocument disposed = json;
        JsonElement llama = json.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("model").GetString() == "llama-3.1-70b");
        Assert.Equal(1.0, llama.GetProperty("gpuHours").GetDouble(), 9);
        Assert.Equal(540_000, llama.GetProperty("promptTokens").GetInt64());
        Assert.Equal(60_000, llama.GetProperty("completionTokens").GetInt64());
        // The shipped prices (pricing.example.json) for one owned H100-hour in the weekday-peak period:
        //   capex  (30,000 − 3,000) / (4 × 8,760)                                  = 0.770547945205479 $
        //   opex                                                                     = 0.35 $
        //   energy GPU 600 W × 3,600 s = 2,160,000 J; node 800 W shared by the node's 2 GPUs = 400 W × 3,600 s
        //          = 1,440,000 J; (2,160,000 + 1,440,000) J × PUE 1.3 / 3.6e6 = 1.3 kWh × 0.28 $/kWh = 0.364 $
        //   llama-3.1-70b (GPU-0)                                                    = 1.484547945205479 $
        //   GPU-1 (unallocated, 0 %): energy (70 × 3,600 + 1,440,000) J = 1,692,000 J × 1.3 / 3.6e6
        //          = 0.611 kWh × 0.28 = 0.17108 $; 0.770547945205479 + 0.35 + 0.17108    = 1.291627945205479 $
        //   the hour's two GPUs                                                      = 2.776175890410959 $
        // At the UTC hour's base rate (0.12 $/kWh), the wrong time zone, GPU-0 would cost 1.276547945205479 $.
        Assert.Equal(2_160_000, llama.GetProperty("gpuEnergyJoules").GetDouble(), 6);
        Assert.Equal(1_440_000, llama.GetProperty("nodeEnergyJoules").GetDouble(), 6);
        Assert.Equal(0.364, llama.GetProperty("energyCostUsd").GetDouble(), 9);
        Assert.Equal(1.484547945205479, llama.GetProperty("costUsd").GetDouble(), 9);

        // Split over prompt + 4 × completion tokens = 540,000 + 240,000 = 780,000 weighted tokens:
        // prompt 1.484547945205479 × 540/780 = 1.027763962065332 $, completion × 240/780 = 0.456783983140148 $.
        Assert.Equal(1.027763962065332, llama.GetProperty("promptCostUsd").GetDouble(), 9);
        Assert.Equal(0.456783983140148, llama.GetProperty("completionCostUsd").GetDouble(), 9);
        Assert.Equal(2.0, json.RootElement.GetProperty("totals").GetProperty("gpuHours").GetDouble(), 9);
        Assert.Equal(2.776175890410959, json.RootElement.GetProperty("totals").GetProperty("costUsd").GetDouble(), 9);
    }

    /// <summary>
    /// Issue 10 item 5: two H100s on one node pushed without <c>uuid</c> (with their index) are two GPUs. Ingest stamps
    /// <c>uuid=gpu-node-1/gpu0</c> and <c>uuid=gpu-node-1/gpu1</c>, so the rollup keeps them apart. A point with no
    /// identity at all (no uuid, no pci_bus_id, no index) is refused with its reason; the others in the body are kept.
    /// </summary>
    [Fact]
    public async Task Collector_TwoGpusPushedWithoutUuid_PriceAsTwoGpusAndAPointWithoutIdentityIsRefused()
    {
        await using CollectorHost host = await PeakHour.StartCollectorAsync();
        DateTimeOffset hour = PeakHour.Start;
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
        {
            // Pool batch-spot (pricing.example.json): rented at 0.9 $/GPU-hour, energy included, so the hour's fleet
            // cost is 0.9 × GPU-hours whatever the tariff: two GPUs × 1 h × 0.9 = 1.8 $ (merged into one: 0.9 $).
            new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 0, GpuModel = "H100", Pool = "batch-spot", PowerWatts = 600, UtilizationPercent = 90 }.WriteTo(writer);
            new GpuSample { Time = t, Node = "gpu-node-1", GpuIndex = 1, GpuModel = "H100", Pool = "batch-spot", PowerWatts = 500, UtilizationPercent = 80 }.WriteTo(writer);
        }

        string anonymous = string.Create(CultureInfo.InvariantCulture, $"gpu_sample,gpu_model=H100,pool=batch-spot power_watts=600 {hour.ToUnixTimeMilliseconds() * 1_000_000}\n");
        byte[] body = [.. writer.WrittenSpan, .. System.Text.Encoding.UTF8.GetBytes(anonymous)];
        using var push = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new ByteArrayContent(body) };
        push.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        using HttpResponseMessage pushed = await host.Client.SendAsync(push);
        using JsonDocument refusal = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, pushed.StatusCode);
        Assert.Equal(2 * 420, refusal.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(1, refusal.RootElement.GetProperty("rejected").GetInt32());
        Assert.Equal("point 841 of measurement 'gpu_sample': " + GpuIdentity.MissingReason, refusal.RootElement.GetProperty("errors")[0].GetProperty("reason").GetString());
        (JsonDocument json, _) = await RollUpAndReadCostAsync(host, hour, 2 * 420, "pool");
        using JsonDocument disposed = json;
        JsonElement totals = json.RootElement.GetProperty("totals");
        Assert.Equal(2.0, totals.GetProperty("gpuHours").GetDouble(), 9);
        Assert.Equal(1.8, totals.GetProperty("costUsd").GetDouble(), 9);
    }

    /// <summary>
    /// Issue 10 item 7: Telegraf <c>nvidia_smi</c> with the allocation tags a user's processors add (namespace, pod,
    /// served_model) and the marketing name is priced: the pricing file keys "NVIDIA H100 80GB HBM3", the GPU is stored
    /// as gpu_model=H100, and its hour goes to the namespace and model it serves.
    /// </summary>
    [Fact]
    public async Task Collector_TelegrafNvidiaSmiWithAllocationTags_IsPricedByModelNameInEitherForm()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-pricing-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        string pricing = Path.Combine(dir, "pricing.json");
        await File.WriteAllTextAsync(pricing, """
            {
              "energy": { "pue": 1.0, "tariff": { "usdPerKilowattHour": 0.1 } },
              "default": { "rented": { "usdPerGpuHour": 1.0, "commitment": "on-demand", "energyIncluded": true } },
              "gpus": { "NVIDIA H100 80GB HBM3": { "rented": { "usdPerGpuHour": 3.0, "commitment": "on-demand", "energyIncluded": true } } }
            }
            """);
        try
        {
            await using CollectorHost host = await PeakHour.StartCollectorAsync("--Analytics:PricingFile", pricing);
            DateTimeOffset hour = PeakHour.Start;
            var body = new System.Text.StringBuilder();
            for (DateTimeOffset t = hour.AddMinutes(-5); t < hour.AddMinutes(65); t = t.AddSeconds(10))
            {
                body.Append(CultureInfo.InvariantCulture, $"nvidia_smi,host=gpu-node-7,index=0,name=NVIDIA\\ H100\\ 80GB\\ HBM3,namespace=llm,pod=vllm-0,served_model=llama-3.1-70b,uuid=GPU-7a utilization_gpu=90,power_draw=600,memory_used=1024,memory_total=81559 {t.ToUnixTimeMilliseconds() * 1_000_000}\n");
            }

            using var push = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new StringContent(body.ToString()) };
            push.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await host.Client.SendAsync(push)).StatusCode);

            // One GPU, one hour, 3.0 $/GPU-hour (energy included) = 3.0 $, all of it the model's in namespace llm;
            // priced by the default entry instead it would be 1.0 $.
            (JsonDocument byModel, string answer) = await RollUpAndReadCostAsync(host, hour, 420, "gpu_model");
            using (byModel)
            {
                JsonElement h100 = Assert.Single(byModel.RootElement.GetProperty("rows").EnumerateArray());
                Assert.Equal("H100", h100.GetProperty("gpuModel").GetString());
                Assert.Equal(3.0, h100.GetProperty("costUsd").GetDouble(), 9);
            }

            (JsonDocument byTenant, answer) = await ReadCostAsync(host, hour, "tenant,model");
            using (byTenant)
            {
                JsonElement row = Assert.Single(byTenant.RootElement.GetProperty("rows").EnumerateArray());
                Assert.True(row.GetProperty("tenant").GetString() == "llm" && row.GetProperty("model").GetString() == "llama-3.1-70b", answer);
                Assert.Equal(1.0, row.GetProperty("gpuHours").GetDouble(), 9);
                Assert.Equal(3.0, row.GetProperty("costUsd").GetDouble(), 9);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Waits for the pushed samples in the store, runs the rollup and cost jobs, and reads the hour's /cost.</summary>
    internal static async Task<(JsonDocument Json, string Body)> RollUpAndReadCostAsync(CollectorHost host, DateTimeOffset hour, long samples, string groupBy)
    {
        await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(hour.AddMinutes(-5), hour.AddMinutes(65)).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == samples);
        IScheduler scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await FireAsync(scheduler, GpuRollupJob.Key);
        await FireAsync(scheduler, CostWindowJob.Key);
        return await ReadCostAsync(host, hour, groupBy);
    }

    private static async Task<(JsonDocument Json, string Body)> ReadCostAsync(CollectorHost host, DateTimeOffset hour, string groupBy)
    {
        using HttpResponseMessage cost = await host.Client.GetAsync(new Uri(string.Create(CultureInfo.InvariantCulture,
            $"/api/v1/cost?from={hour:yyyy-MM-ddTHH:mm:ssZ}&to={hour.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}&groupBy={groupBy}"), UriKind.Relative));
        string body = await cost.Content.ReadAsStringAsync();
        Assert.True(cost.IsSuccessStatusCode, body);
        return (JsonDocument.Parse(body), body);
    }

    /// <summary>Fires a job and waits until the scheduler has stored its cursor.</summary>
    private static async Task FireAsync(IScheduler scheduler, JobKey job)
    {
        DateTimeOffset? before = CursorJob.ReadCursor((await scheduler.GetJobDetail(job))!.JobDataMap);
        await scheduler.TriggerJob(job);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (CursorJob.ReadCursor((await scheduler.GetJobDetail(job))!.JobDataMap) == before && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }

        Assert.NotEqual(before, CursorJob.ReadCursor((await scheduler.GetJobDetail(job))!.JobDataMap));
    }
}
