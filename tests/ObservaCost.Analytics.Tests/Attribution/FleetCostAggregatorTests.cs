using ObservaCost.Analytics.Attribution;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Attribution;

public sealed class FleetCostAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private static GpuWindowResult Gpu(string node, string? pool, params GpuCostLine[] lines) =>
        new(new GpuWindowInput { GpuUuid = node + lines.Length, Node = node, Pool = pool, GpuModel = "H100" }, new GpuWindowCost(lines, 0.25, 1.0, 100));

    [Fact]
    public void Rows_AddUpToTheFleet_TokensSharedByGpuHours_KpisComputed()
    {
        GpuWindowResult[] gpus =
        [
            Gpu("n1", "p", new GpuCostLine("llama", "acme", 0.75, 1e6, 1.2e6, 0.6, 0.3, 0.03), new GpuCostLine(null, null, 0.25, 2e5, 2.4e5, 0.2, 0.1, 0.01)),
            Gpu("n2", "p", new GpuCostLine("llama", "acme", 0.25, 4e5, 4.8e5, 0.2, 0.1, 0.01), new GpuCostLine("llama", "beta", 0.75, 1e6, 1.2e6, 0.6, 0.3, 0.03)),
        ];
        TokenUsage[] tokens = [new("llama", "acme", 800_000, 200_000, 1000), new("llama", "beta", 300_000, 100_000, 300), new("unknown", null, 5, 5, 1)];

        (IReadOnlyList<CostWindow> costs, IReadOnlyList<IdleWindow> idle) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), gpus, tokens);

        double fleet = gpus.Sum(g => g.Cost.CostUsd);
        Precision.Close(fleet, costs.Sum(c => c.CostUsd));
        // acme's 1M tokens: 0.75 of the GPU-hours on n1, 0.25 on n2.
        CostWindow acmeN1 = costs.Single(c => c.Tenant == "acme" && c.Node == "n1");
        Assert.Equal(600_000, acmeN1.PromptTokens);
        Assert.Equal(150_000, acmeN1.CompletionTokens);
        Assert.Equal(750, acmeN1.RequestCount);
        Precision.Close(0.93 / 750_000 * 1e6, acmeN1.CostPerMillionTokensUsd!.Value);
        Precision.Close(750_000 / (1.2e6 / 3.6e6), acmeN1.TokensPerKilowattHour!.Value);
        CostWindow unallocated = costs.Single(c => c.Model is null);
        Assert.Null(unallocated.CostPerMillionTokensUsd);
        Assert.Equal(1_400_000, costs.Sum(c => c.PromptTokens + c.CompletionTokens));

        // One idle row per pool and node.
        Assert.Equal(["n1", "n2"], idle.Select(i => i.Node).Order());
        Assert.All(idle, i => Precision.Close(0.25, i.IdleShare));
        Precision.Close(2.0, idle.Sum(i => i.GpuHours));
        Precision.Close(0.5, idle.Sum(i => i.IdleGpuHours));
        Precision.Close(2.0, idle.Sum(i => i.IdleCostUsd));
    }
}
