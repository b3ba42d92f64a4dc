using ObservaCost.Analytics.Attribution;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Kpi;

/// <summary>
/// Efficiency KPIs from a window's cost and idle rows: one for the fleet, one per pool, model and tenant. Every KPI
/// is a sum of rows, so the fleet's KPI equals the sum of its pools' (and of its models' plus the unallocated rows).
/// </summary>
public static class KpiCalculator
{
    public static IReadOnlyList<KpiWindow> Compute(DateTimeOffset windowStart, TimeSpan length, IReadOnlyList<CostWindow> costs, IReadOnlyList<IdleWindow> idle)
    {
        ArgumentNullException.ThrowIfNull(costs);
        ArgumentNullException.ThrowIfNull(idle);
        var kpis = new List<KpiWindow>();
        if (costs.Count == 0 && idle.Count == 0)
        {
            return kpis;
        }

        kpis.Add(Build(windowStart, length, KpiScope.Fleet, string.Empty, costs, idle));
        foreach (IGrouping<string, CostWindow> pool in costs.Where(c => c.Pool is not null).GroupBy(c => c.Pool!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            kpis.Add(Build(windowStart, length, KpiScope.Pool, pool.Key, [.. pool], [.. idle.Where(i => string.Equals(i.Pool, pool.Key, StringComparison.Ordinal))]));
        }

        foreach (IGrouping<string, CostWindow> model in costs.Where(c => c.Model is not null).GroupBy(c => c.Model!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            kpis.Add(Build(windowStart, length, KpiScope.Model, model.Key, [.. model], null));
        }

        foreach (IGrouping<string, CostWindow> tenant in costs.Where(c => c.Tenant is not null).GroupBy(c => c.Tenant!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            kpis.Add(Build(windowStart, length, KpiScope.Tenant, tenant.Key, [.. tenant], null));
        }

        return kpis;
    }

    private static KpiWindow Build(DateTimeOffset start, TimeSpan length, KpiScope scope, string key, IReadOnlyList<CostWindow> costs, IReadOnlyList<IdleWindow>? idle)
    {
        bool anyRevenue = costs.Any(c => c.RevenueUsd is not null);
        (double opex, double? rental) = CostFigures.OpexAndRental(costs.Sum(c => c.OpexUsd), costs.Sum(c => c.RentalUsd ?? 0), costs.All(c => c.RentalUsd is not null));
        double? co2e = CostFigures.CarbonSum(costs.Sum(c => c.Co2eGrams ?? 0), costs.All(c => c.Co2eGrams is not null));
        long tokens = costs.Sum(c => c.PromptTokens + c.CompletionTokens);
        return new KpiWindow
        {
            WindowStart = start,
            WindowLength = length,
            Scope = scope,
            Key = key,
            GpuHours = costs.Sum(c => c.GpuHours),
            UtilizedGpuHours = costs.Sum(c => c.UtilizedGpuHours),
            IdleGpuHours = idle?.Sum(i => i.IdleGpuHours),
            IdleCostUsd = idle?.Sum(i => i.IdleCostUsd),
            CostUsd = costs.Sum(c => c.CostUsd),
            CapexUsd = costs.Sum(c => c.CapexUsd),
            OpexUsd = opex,
            RentalUsd = rental,
            EnergyCostUsd = costs.Sum(c => c.EnergyCostUsd),
            GpuEnergyJoules = costs.Sum(c => c.GpuEnergyJoules),
            NodeEnergyJoules = costs.Sum(c => c.NodeEnergyJoules),
            FacilityEnergyJoules = costs.Sum(c => c.FacilityEnergyJoules),
            PromptTokens = costs.Sum(c => c.PromptTokens),
            CompletionTokens = costs.Sum(c => c.CompletionTokens),
            RequestCount = costs.Sum(c => c.RequestCount),
            MaxTokens = costs.Sum(c => c.MaxTokens),
            RevenueUsd = anyRevenue ? costs.Sum(c => c.RevenueUsd ?? 0) : null,
            OperationalCo2eGrams = CostFigures.CarbonSum(costs.Sum(c => c.OperationalCo2eGrams ?? 0), costs.All(c => c.OperationalCo2eGrams is not null)),
            EmbodiedCo2eGrams = CostFigures.CarbonSum(costs.Sum(c => c.EmbodiedCo2eGrams ?? 0), costs.All(c => c.EmbodiedCo2eGrams is not null)),
            Co2eGrams = co2e,
            IdleCo2eGrams = idle is null ? null : CostFigures.CarbonSum(idle.Sum(i => i.IdleCo2eGrams ?? 0), idle.All(i => i.IdleCo2eGrams is not null)),
            Co2eGramsPerMillionTokens = CostFigures.Co2eGramsPerMillionTokens(co2e, tokens),
        };
    }
}
