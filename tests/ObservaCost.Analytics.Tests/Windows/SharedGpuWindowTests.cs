using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// One time-sliced H100 shared by three pods for one hour, once per attribution basis, through the window service on
/// the embedded store: llama for acme, mistral for beta and qwen for gamma, each seen every 30 s in
/// <c>gpu_workload</c>. The GPU draws 300 W at 60 % utilization all hour (never idle).
/// </summary>
public sealed class SharedGpuWindowTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private const string PricingJson = """
        {
          "energy": { "pue": 1.25, "tariff": { "usdPerKilowattHour": 0.10 } },
          "gpus": { "H100": { "owned": { "purchaseUsd": 30000, "salvageUsd": 3000, "depreciationYears": 4, "opexUsdPerGpuHour": 0.35 } } },
          "tokenCostSplit": { "completionTokenWeight": 4 }
        }
        """;

    // The GPU's hour: hardware (30,000 − 3,000) / 35,040 + 0.35 = 1.120547945 $; energy 300 W × 3,600 s = 1,080,000 J,
    // × 1.25 = 1,350,000 J = 0.375 kWh → $0.0375. Total $1.158047945, shared by the weights below (the energy too: a
    // shared whole GPU is one part, so its energy goes with the weights).
    private const double GpuUsd = (27_000.0 / 35_040) + 0.35 + 0.0375;

    private static readonly (string Pod, string Namespace, string Model)[] Pods = [("llama-0", "acme", "llama"), ("mistral-0", "beta", "mistral"), ("qwen-0", "gamma", "qwen")];

    private TestStore? _test;

    public async Task InitializeAsync() => _test = await TestStore.OpenAsync(StoreBackend.Embedded);

    public async Task DisposeAsync() => await _test!.DisposeAsync();

    [Theory]
    // Each pod's own utilization 30 / 20 / 10 %: weights 0.3, 0.2, 0.1; the 40 % no pod used is unused and idle
    // (the GPU itself is busy): idle = 0.4 × $1.158047945 = $0.463219178. The tokens written do not matter: utilization comes first.
    [InlineData(AttributionBases.ProcessUtilization, true, false, true, 0.3, 0.2, 0.1, 0.4)]
    // No utilization; tokens per (model, tenant): llama/acme 1,000 prompt + 4 × 250 completion = 2,000, mistral/beta
    // 500 + 4 × 125 = 1,000, qwen/gamma 1,000 + 0 = 1,000: shares 2,000 / 4,000 = 0.5, 0.25, 0.25; nothing unused.
    [InlineData(AttributionBases.Tokens, false, false, true, 0.5, 0.25, 0.25, 0)]
    // No utilization, no tokens; requested fractions 0.5, 0.25, 0.125: the unrequested 0.125 is unused and idle.
    [InlineData(AttributionBases.RequestedFraction, false, true, false, 0.5, 0.25, 0.125, 0.125)]
    // None of the signals: a third each.
    [InlineData(AttributionBases.Equal, false, false, false, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0)]
    public async Task TimeSlicedH100_ThreePods_EachBasis_RowsCarryTheBasisAndTheHandComputedShares(
        string basis, bool utilization, bool requested, bool tokens, double llama, double mistral, double qwen, double unused)
    {
        ITimeSeriesStore store = _test!.Store;
        await WriteAsync(store, utilization, requested, tokens);
        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        WindowCostReport report = await service.ComputeAndWriteAsync(T0);

        Assert.All(report.Costs, c => Assert.Equal(basis, c.AttributionBasis));
        Assert.All(report.Costs, c => Assert.Null(c.MigInstance));
        double[] weights = [llama, mistral, qwen];
        for (int i = 0; i < Pods.Length; i++)
        {
            CostWindow row = Assert.Single(report.Costs, c => c.Model == Pods[i].Model);
            Assert.Equal(Pods[i].Namespace, row.Tenant);
            Precision.Close(weights[i], row.GpuHours);
            Precision.Close(weights[i] * GpuUsd, row.CostUsd);
            Precision.Close(weights[i] * 1_080_000, row.GpuEnergyJoules);
        }

        CostWindow? nobody = report.Costs.SingleOrDefault(c => c.Model is null);
        Precision.Close(unused * GpuUsd, nobody?.CostUsd ?? 0);
        Precision.Close(GpuUsd, report.CostUsd);
        Precision.Close(1.0, report.Costs.Sum(c => c.GpuHours));

        // Idle is the unused part: the GPU at 60 % has no idle run of its own.
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(unused, idle.IdleGpuHours);
        Precision.Close(unused * GpuUsd, idle.IdleCostUsd);
        if (tokens && basis == AttributionBases.Tokens)
        {
            Assert.Equal(1_250, report.Costs.Single(c => c.Model == "llama").PromptTokens + report.Costs.Single(c => c.Model == "llama").CompletionTokens);
        }

        // The stored rows read back with their basis.
        string first = string.Join("|", report.Costs.Select(c => c.AttributionBasis).Order(StringComparer.Ordinal));
        WindowCostReport again = await service.ComputeAndWriteAsync(T0);
        Assert.Equal(first, string.Join("|", again.Costs.Select(c => c.AttributionBasis).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task DcgmSeriesRepeatedPerPod_TwoPodsInOneMinute_EachPodGetsHalfNotTheFirstPodAll()
    {
        // dcgm-exporter repeats a shared GPU's series per pod: the same 300 W and 60 % under pod llama-0 and pod
        // mistral-0, no gpu_workload points. Both pods are workloads with no signal of their own: equal shares,
        // $1.158047945 / 2 = $0.579023973 each; the energy is counted once (1,080,000 J, the repeated samples add
        // nothing), half to each.
        ITimeSeriesStore store = _test!.Store;
        using (var writer = new LineProtocolWriter())
        {
            for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
            {
                foreach ((string pod, string ns, string model) in Pods.Take(2))
                {
                    new GpuSample
                    {
                        Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-SHARED", GpuModel = "H100", Pool = "inference",
                        Pod = pod, Namespace = ns, ServedModel = model, PowerWatts = 300, UtilizationPercent = 60,
                    }.WriteTo(writer);
                }
            }

            Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
        }

        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        WindowCostReport report = await service.ComputeAsync(T0);

        Assert.Equal(2, report.Costs.Count);
        foreach (string model in (string[])["llama", "mistral"])
        {
            CostWindow row = Assert.Single(report.Costs, c => c.Model == model);
            Assert.Equal(AttributionBases.Equal, row.AttributionBasis);
            Precision.Close(0.5, row.GpuHours);
            Precision.Close(540_000, row.GpuEnergyJoules);
            Precision.Close(GpuUsd / 2, row.CostUsd);
        }
    }

    private static async Task WriteAsync(ITimeSeriesStore store, bool utilization, bool requested, bool tokens)
    {
        using var writer = new LineProtocolWriter();
        double[] own = [30, 20, 10];
        double[] fractions = [0.5, 0.25, 0.125];
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            new GpuSample { Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-SHARED", GpuModel = "H100", Pool = "inference", PowerWatts = 300, UtilizationPercent = 60 }.WriteTo(writer);
            if (t.Second % 30 != 0)
            {
                continue;
            }

            for (int i = 0; i < Pods.Length; i++)
            {
                new GpuWorkloadSample
                {
                    Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-SHARED", Source = "hami",
                    Pod = Pods[i].Pod, Namespace = Pods[i].Namespace, Container = "server", ServedModel = Pods[i].Model,
                    UtilizationPercent = utilization ? own[i] : null, RequestedFraction = requested ? fractions[i] : null,
                    MemoryUsedBytes = 20L << 30,
                }.WriteTo(writer);
            }
        }

        if (tokens)
        {
            (string Model, string Tenant, long Prompt, long Completion)[] usage = [("llama", "acme", 1_000, 250), ("mistral", "beta", 500, 125), ("qwen", "gamma", 1_000, 0)];
            foreach ((string model, string tenant, long prompt, long completion) in usage)
            {
                new InferenceWindow
                {
                    WindowStart = T0.AddMinutes(10), WindowLength = TimeSpan.FromMinutes(1), Model = model, Tenant = tenant,
                    Source = "request_log", Status = "ok", RequestCount = 5, PromptTokens = prompt, CompletionTokens = completion,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}
