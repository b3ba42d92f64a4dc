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

    private static GpuWindowResult SharedGpu(string uuid, string node, string? boundTenant, params GpuCostLine[] lines) =>
        new(new GpuWindowInput { GpuUuid = uuid, Node = node, Pool = "chat", GpuModel = "H100", BoundTenant = boundTenant }, new GpuWindowCost(lines, 0, 0, 0));

    [Fact]
    public void SharedModel_TwoTenantsAndRequestsWithoutTenant_CostSharedByWeightedTokensRemainderKept()
    {
        // One llama deployment in namespace llm on two H100s, the whole hour:
        //   GPU-1: 1 GPU-hour, capex 2.00 + opex 1.00 + energy 1.00 = $4.00, 3.6e6 J facility;
        //   GPU-2: 1 GPU-hour, capex 1.00 + opex 0.50 + energy 0.50 = $2.00, 1.8e6 J facility.
        // The model's cost: $6.00. Requests (w = 4, the default):
        //   acme: 1,000,000 prompt + 250,000 completion → 1,000,000 + 4 × 250,000 = 2,000,000 weighted;
        //   beta:   500,000 prompt + 125,000 completion →   500,000 + 4 × 125,000 = 1,000,000 weighted;
        //   none:         0 prompt + 250,000 completion →         0 + 4 × 250,000 = 1,000,000 weighted.
        // Total 4,000,000: acme 1/2 → $3.00 (GPU-1 $2.00, GPU-2 $1.00), beta 1/4 → $1.50, the llm remainder 1/4 → $1.50.
        // acme: 1,250,000 tokens → $3.00 / 1.25 = $2.40 per 1M; beta: 625,000 tokens → $1.50 / 0.625 = $2.40 per 1M;
        // remainder: 250,000 tokens → $1.50 / 0.25 = $6.00 per 1M. GPU-hours: acme 1.0, beta 0.5, llm 0.5.
        GpuWindowResult[] gpus =
        [
            SharedGpu("GPU-1", "n1", null, new GpuCostLine("llama", "llm", 1, 3e6, 3.6e6, 2.0, 1.0, 1.0)),
            SharedGpu("GPU-2", "n1", null, new GpuCostLine("llama", "llm", 1, 1.5e6, 1.8e6, 1.0, 0.5, 0.5)),
        ];
        TokenUsage[] tokens = [new("llama", "acme", 1_000_000, 250_000, 400), new("llama", "beta", 500_000, 125_000, 200), new("llama", null, 0, 250_000, 100)];

        (IReadOnlyList<CostWindow> costs, _) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), gpus, tokens);

        CostWindow Sum(string tenant) => CostFigures.WithRatios(new CostWindow
        {
            WindowStart = T0, WindowLength = TimeSpan.FromHours(1), Tenant = tenant,
            GpuHours = costs.Where(c => c.Tenant == tenant).Sum(c => c.GpuHours),
            GpuEnergyJoules = 0, FacilityEnergyJoules = costs.Where(c => c.Tenant == tenant).Sum(c => c.FacilityEnergyJoules),
            CapexUsd = 0, OpexUsd = 0, EnergyCostUsd = 0, CostUsd = costs.Where(c => c.Tenant == tenant).Sum(c => c.CostUsd),
            PromptTokens = costs.Where(c => c.Tenant == tenant).Sum(c => c.PromptTokens),
            CompletionTokens = costs.Where(c => c.Tenant == tenant).Sum(c => c.CompletionTokens),
        });
        CostWindow acme = Sum("acme"), beta = Sum("beta"), llm = Sum("llm");
        Precision.Close(3.00, acme.CostUsd);
        Precision.Close(1.50, beta.CostUsd);
        Precision.Close(1.50, llm.CostUsd);
        Precision.Close(2.00, costs.Single(c => c.Tenant == "acme" && c.GpuUuid == "GPU-1").CostUsd);
        Precision.Close(1.00, costs.Single(c => c.Tenant == "acme" && c.GpuUuid == "GPU-2").CostUsd);
        Assert.Equal(1_250_000, acme.PromptTokens + acme.CompletionTokens);
        Assert.Equal(625_000, beta.PromptTokens + beta.CompletionTokens);
        Assert.Equal(250_000, llm.PromptTokens + llm.CompletionTokens);
        Precision.Close(2.40, acme.CostPerMillionTokensUsd!.Value);
        Precision.Close(2.40, beta.CostPerMillionTokensUsd!.Value);
        Precision.Close(6.00, llm.CostPerMillionTokensUsd!.Value);
        Precision.Close(1.0, acme.GpuHours);
        Precision.Close(0.5, beta.GpuHours);
        Precision.Close(0.5, llm.GpuHours);
        // acme's facility energy: half of 5.4e6 J.
        Precision.Close(2.7e6, acme.FacilityEnergyJoules);
        Assert.Equal(400, costs.Where(c => c.Tenant == "acme").Sum(c => c.RequestCount));
        Assert.Equal(200, costs.Where(c => c.Tenant == "beta").Sum(c => c.RequestCount));
        Assert.Equal(100, costs.Where(c => c.Tenant == "llm").Sum(c => c.RequestCount));

        // The per-tenant KPIs are the sums of those rows.
        var kpis = Kpi.KpiCalculator.Compute(T0, TimeSpan.FromHours(1), costs, []);
        KpiWindow acmeKpi = kpis.Single(k => k.Scope == KpiScope.Tenant && k.Key == "acme");
        Precision.Close(3.00, acmeKpi.CostUsd);
        Assert.Equal(1_250_000, acmeKpi.PromptTokens + acmeKpi.CompletionTokens);
        Precision.Close(6.00, kpis.Single(k => k.Scope == KpiScope.Model && k.Key == "llama").CostUsd);
    }

    [Fact]
    public void SharedModel_NoTokensInTheWindow_WholeCostStaysTheModelsRemainder()
    {
        GpuWindowResult[] gpus = [SharedGpu("GPU-1", "n1", null, new GpuCostLine("llama", "llm", 1, 3e6, 3.6e6, 2.0, 1.0, 1.0))];

        (IReadOnlyList<CostWindow> costs, _) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), gpus, []);

        CostWindow row = Assert.Single(costs);
        Assert.Equal("llm", row.Tenant);
        Precision.Close(4.0, row.CostUsd);
        Assert.Equal("GPU-1", row.GpuUuid);
    }

    [Fact]
    public void NamespaceTenant_RequestsWithItsOwnName_KeepsItsGpuAndOnlyTheSharedGpuIsSplit()
    {
        // GPU-1 runs llama in namespace team-a ($4.00), GPU-2 in namespace llm ($2.00). team-a requested 1M prompt
        // tokens: its namespace row keeps $4.00 and takes them. acme (no namespace of its own) requested 1M prompt
        // tokens, and 1M prompt tokens came without a tenant: GPU-2's $2.00 is split 1/2 acme ($1.00), 1/2 llm ($1.00).
        // GPU-3 is bound to tenant beta at ingest, runs llama and beta requested nothing: its $1.00 stays beta's.
        GpuWindowResult[] gpus =
        [
            SharedGpu("GPU-1", "n1", null, new GpuCostLine("llama", "team-a", 1, 0, 0, 2.0, 1.0, 1.0)),
            SharedGpu("GPU-2", "n1", null, new GpuCostLine("llama", "llm", 1, 0, 0, 1.0, 0.5, 0.5)),
            SharedGpu("GPU-3", "n2", "beta", new GpuCostLine("llama", "beta", 1, 0, 0, 0.5, 0.25, 0.25)),
        ];
        TokenUsage[] tokens = [new("llama", "team-a", 1_000_000, 0, 10), new("llama", "acme", 1_000_000, 0, 10), new("llama", null, 1_000_000, 0, 10)];

        (IReadOnlyList<CostWindow> costs, _) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), gpus, tokens);

        CostWindow teamA = costs.Single(c => c.Tenant == "team-a");
        Precision.Close(4.0, teamA.CostUsd);
        Assert.Equal(1_000_000, teamA.PromptTokens);
        CostWindow acme = costs.Single(c => c.Tenant == "acme");
        Precision.Close(1.0, acme.CostUsd);
        Assert.Equal("GPU-2", acme.GpuUuid);
        Assert.Equal(1_000_000, acme.PromptTokens);
        Precision.Close(1.0, costs.Single(c => c.Tenant == "llm").CostUsd);
        CostWindow beta = costs.Single(c => c.Tenant == "beta");
        Precision.Close(1.0, beta.CostUsd);
        Assert.Equal(0, beta.PromptTokens);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomFleets_TenantsPlusRemainder_EqualEachModelsCost(int seed)
    {
        var random = new Random(seed);
        string[] models = ["llama", "mistral", "qwen"];
        string?[] namespaces = ["llm", "team-a", "team-b", null];
        string?[] tenants = ["acme", "beta", "team-a", "gamma", null];
        var gpus = new List<GpuWindowResult>();
        for (int g = 0; g < 40; g++)
        {
            var lines = new List<GpuCostLine>();
            double left = 1;
            while (left > 1e-6)
            {
                double hours = random.Next(4) == 0 ? left : Math.Round(left * random.NextDouble(), 3);
                left -= hours;
                bool allocated = random.Next(5) > 0;
                string? tenant = namespaces[random.Next(namespaces.Length)];
                lines.Add(new GpuCostLine(
                    allocated ? models[random.Next(models.Length)] : null,
                    allocated ? tenant : null,
                    hours,
                    hours * random.Next(100, 700) * 3600,
                    hours * random.Next(100, 900) * 3600,
                    hours * random.NextDouble() * 3,
                    hours * random.NextDouble(),
                    hours * random.NextDouble() * 0.2,
                    UtilizedGpuHours: hours * random.NextDouble(),
                    RentalUsd: random.Next(2) == 0 ? hours * random.NextDouble() * 2 : 0));
            }

            gpus.Add(SharedGpu("GPU-" + g, "n" + (g % 5), random.Next(6) == 0 ? "team-b" : null, [.. lines]));
        }

        var tokens = new List<TokenUsage>();
        foreach (string model in models.Append("unserved"))
        {
            foreach (string? tenant in tenants.Where(_ => random.Next(3) > 0))
            {
                tokens.Add(new TokenUsage(model, tenant, random.Next(0, 2_000_000), random.Next(0, 500_000), random.Next(1, 5_000)));
            }
        }

        (IReadOnlyList<CostWindow> costs, _) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), gpus, tokens);

        // Every model's cost (and every sum) is the same before and after the tenants took their parts, to 1e-9.
        foreach (string? model in models.Append(null))
        {
            GpuCostLine[] before = [.. gpus.SelectMany(g => g.Cost.Lines).Where(l => l.Model == model)];
            CostWindow[] after = [.. costs.Where(c => c.Model == model)];
            Precision.Close(before.Sum(l => l.CostUsd), after.Sum(c => c.CostUsd));
            Precision.Close(before.Sum(l => l.GpuHours), after.Sum(c => c.GpuHours));
            Precision.Close(before.Sum(l => l.FacilityEnergyJoules), after.Sum(c => c.FacilityEnergyJoules));
            Precision.Close(before.Sum(l => l.CapexUsd), after.Sum(c => c.CapexUsd));
            Precision.Close(before.Sum(l => l.OpexUsd), after.Sum(c => c.OpexUsd));
            Precision.Close(before.Sum(l => l.RentalUsd), after.Sum(c => c.RentalUsd!.Value));
            Precision.Close(before.Sum(l => l.EnergyCostUsd), after.Sum(c => c.EnergyCostUsd));
        }

        // Every row's components add up to its cost.
        Assert.All(costs, c => Precision.Close(c.CapexUsd + c.OpexUsd + c.RentalUsd!.Value + c.EnergyCostUsd, c.CostUsd));

        // Every GPU's cost is the same too (the gpu rows reconcile), and no row is negative.
        foreach (GpuWindowResult gpu in gpus)
        {
            Precision.Close(gpu.Cost.CostUsd, costs.Where(c => c.GpuUuid == gpu.Gpu.GpuUuid).Sum(c => c.CostUsd));
        }

        Assert.All(costs, c => Assert.True(c.CostUsd >= 0 && c.GpuHours >= 0));

        // The tokens of every served model are all attributed (to rounding of the shares: ≤ 1 token per row).
        foreach (string model in models)
        {
            long served = tokens.Where(t => t.Model == model).Sum(t => t.PromptTokens + t.CompletionTokens);
            CostWindow[] rows = [.. costs.Where(c => c.Model == model)];
            if (rows.Any(r => r.GpuHours > 0))
            {
                Assert.InRange(rows.Sum(r => r.PromptTokens + r.CompletionTokens), served - (2 * rows.Length), served + (2 * rows.Length));
            }
        }
    }
}
