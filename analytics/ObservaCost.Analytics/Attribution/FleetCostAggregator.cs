using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>A GPU's window input with its priced result.</summary>
public sealed record GpuWindowResult(GpuWindowInput Gpu, GpuWindowCost Cost);

/// <summary>Tokens and requests one model served for one tenant (null: any tenant) in the window.</summary>
public sealed record TokenUsage(string Model, string? Tenant, long PromptTokens, long CompletionTokens, long Requests)
{
    /// <summary>Mean of the per-minute median latencies, when the source has latencies.</summary>
    public double? LatencyP50Ms { get; init; }

    /// <summary>Mean of the per-minute 95th-percentile latencies.</summary>
    public double? LatencyP95Ms { get; init; }
}

/// <summary>
/// The rules that turn costs and tokens into per-token figures: the completion-token weight of the cost split, a
/// model's peak sustained tokens/s per GPU (null: unknown) and its revenue per 1M tokens (null: not configured).
/// </summary>
public sealed record CostRules(
    double CompletionTokenWeight,
    Func<string, double?> MaxTokensPerSecondPerGpu,
    Func<string, double?> RevenueUsdPerMillionTokens)
{
    /// <summary>Weight 4, no capacity and no revenue.</summary>
    public static CostRules Default { get; } = new(Pricing.PricingFile.DefaultCompletionTokenWeight, _ => null, _ => null);
}

/// <summary>
/// Rolls priced GPUs up into <see cref="CostWindow"/> rows per (model, tenant, pool, node, GPU model) — unallocated
/// time is a row with no model, so the rows add up to the fleet's cost — and <see cref="IdleWindow"/> rows per
/// (pool, node, GPU model). Tokens of a (model, tenant) are shared over that pair's rows in proportion to their
/// GPU-hours (a usage without a tenant over all rows of the model); usage of a model no GPU served is left out.
/// </summary>
public static class FleetCostAggregator
{
    public static (IReadOnlyList<CostWindow> Costs, IReadOnlyList<IdleWindow> Idle) Aggregate(
        DateTimeOffset windowStart,
        TimeSpan length,
        IEnumerable<GpuWindowResult> gpus,
        IEnumerable<TokenUsage> tokens,
        CostRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        ArgumentNullException.ThrowIfNull(tokens);
        rules ??= CostRules.Default;
        var rows = new Dictionary<(string? Model, string? Tenant, string? Pool, string Node, string? GpuModel), Row>();
        var idle = new Dictionary<(string? Pool, string Node, string? GpuModel), IdleRow>();
        foreach (GpuWindowResult gpu in gpus)
        {
            foreach (GpuCostLine line in gpu.Cost.Lines)
            {
                var key = (line.Model, line.Tenant, gpu.Gpu.Pool, gpu.Gpu.Node, gpu.Gpu.GpuModel);
                if (!rows.TryGetValue(key, out Row? row))
                {
                    row = new Row();
                    rows.Add(key, row);
                }

                row.Add(line);
            }

            var idleKey = (gpu.Gpu.Pool, gpu.Gpu.Node, gpu.Gpu.GpuModel);
            if (!idle.TryGetValue(idleKey, out IdleRow? idleRow))
            {
                idleRow = new IdleRow();
                idle.Add(idleKey, idleRow);
            }

            idleRow.GpuHours += gpu.Cost.GpuHours;
            idleRow.IdleGpuHours += gpu.Cost.IdleGpuHours;
            idleRow.IdleCostUsd += gpu.Cost.IdleCostUsd;
            idleRow.IdleEnergyJoules += gpu.Cost.IdleEnergyJoules;
        }

        foreach (TokenUsage usage in tokens)
        {
            var targets = rows.Where(r => string.Equals(r.Key.Model, usage.Model, StringComparison.Ordinal) &&
                                          (usage.Tenant is null || string.Equals(r.Key.Tenant, usage.Tenant, StringComparison.Ordinal)))
                              .Select(r => r.Value).ToList();
            double hours = targets.Sum(t => t.GpuHours);
            if (hours <= 0)
            {
                continue;
            }

            foreach (Row target in targets)
            {
                double share = target.GpuHours / hours;
                target.PromptTokens += usage.PromptTokens * share;
                target.CompletionTokens += usage.CompletionTokens * share;
                target.Requests += usage.Requests * share;
                target.AddLatency(usage, share);
            }
        }

        var costs = rows.Select(r => r.Value.ToCostWindow(rules, windowStart, length, r.Key.Model, r.Key.Tenant, r.Key.Pool, r.Key.Node, r.Key.GpuModel)).ToList();
        var idleWindows = idle.Select(i => new IdleWindow
        {
            WindowStart = windowStart,
            WindowLength = length,
            Pool = i.Key.Pool,
            Node = i.Key.Node,
            GpuModel = i.Key.GpuModel,
            GpuHours = i.Value.GpuHours,
            IdleGpuHours = i.Value.IdleGpuHours,
            IdleCostUsd = i.Value.IdleCostUsd,
            IdleEnergyJoules = i.Value.IdleEnergyJoules,
        }).ToList();
        return (costs, idleWindows);
    }

    private sealed class Row
    {
        public double GpuHours { get; private set; }

        public double PromptTokens { get; set; }

        public double CompletionTokens { get; set; }

        public double Requests { get; set; }

        private double _energy;
        private double _facility;
        private double _capex;
        private double _opex;
        private double _energyCost;
        private double _nodeEnergy;
        private double _utilized;
        private double _p50Sum;
        private double _p50Weight;
        private double _p95Sum;
        private double _p95Weight;

        public void Add(GpuCostLine line)
        {
            GpuHours += line.GpuHours;
            _energy += line.GpuEnergyJoules;
            _facility += line.FacilityEnergyJoules;
            _capex += line.CapexUsd;
            _opex += line.OpexUsd;
            _energyCost += line.EnergyCostUsd;
            _nodeEnergy += line.NodeEnergyJoules;
            _utilized += line.UtilizedGpuHours;
        }

        public void AddLatency(TokenUsage usage, double share)
        {
            double weight = usage.Requests * share;
            if (weight <= 0)
            {
                return;
            }

            if (usage.LatencyP50Ms is double p50)
            {
                _p50Sum += p50 * weight;
                _p50Weight += weight;
            }

            if (usage.LatencyP95Ms is double p95)
            {
                _p95Sum += p95 * weight;
                _p95Weight += weight;
            }
        }

        public CostWindow ToCostWindow(CostRules rules, DateTimeOffset start, TimeSpan length, string? model, string? tenant, string? pool, string node, string? gpuModel)
        {
            double cost = _capex + _opex + _energyCost;
            long prompt = (long)Math.Round(PromptTokens);
            long completion = (long)Math.Round(CompletionTokens);
            long tokens = prompt + completion;

            // The split rule: the cost is shared over prompt + weight × completion tokens (the shares before
            // rounding, so the rows of a model split exactly as the model does).
            double weighted = PromptTokens + (rules.CompletionTokenWeight * CompletionTokens);
            double promptCost = weighted > 0 ? cost * PromptTokens / weighted : 0;
            double maxTokens = model is not null && rules.MaxTokensPerSecondPerGpu(model) is double rate ? rate * GpuHours * 3600 : 0;
            return CostFigures.WithRatios(new CostWindow
            {
                WindowStart = start,
                WindowLength = length,
                Model = model,
                Tenant = tenant,
                Pool = pool,
                Node = node,
                GpuModel = gpuModel,
                GpuHours = GpuHours,
                UtilizedGpuHours = _utilized,
                GpuEnergyJoules = _energy,
                NodeEnergyJoules = _nodeEnergy,
                FacilityEnergyJoules = _facility,
                CapexUsd = _capex,
                OpexUsd = _opex,
                EnergyCostUsd = _energyCost,
                CostUsd = cost,
                PromptTokens = prompt,
                CompletionTokens = completion,
                RequestCount = (long)Math.Round(Requests),
                PromptCostUsd = promptCost,
                CompletionCostUsd = weighted > 0 ? cost - promptCost : 0,
                MaxTokens = maxTokens,
                RevenueUsd = model is not null && rules.RevenueUsdPerMillionTokens(model) is double price ? tokens / 1e6 * price : null,
                LatencyP50Ms = _p50Weight > 0 ? _p50Sum / _p50Weight : null,
                LatencyP95Ms = _p95Weight > 0 ? _p95Sum / _p95Weight : null,
            });
        }
    }

    private sealed class IdleRow
    {
        public double GpuHours { get; set; }

        public double IdleGpuHours { get; set; }

        public double IdleCostUsd { get; set; }

        public double IdleEnergyJoules { get; set; }
    }
}
