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
/// Rolls priced GPUs up into <see cref="CostWindow"/> rows per (model, tenant, pool, node, GPU model, GPU) —
/// unallocated time is a row with no model, so the rows add up to the fleet's cost — and <see cref="IdleWindow"/> rows
/// per (pool, node, GPU model). Tokens then meet the rows model by model (docs/analytics.md, "Tenants of a shared
/// model"):
/// <list type="number">
/// <item>A row whose tenant requested tokens of its model keeps its cost and gets that tenant's tokens, shared over
/// the tenant's rows of the model by GPU-hours (the namespace is the tenant). A row of a GPU bound to a tenant at
/// ingest always stays that tenant's.</item>
/// <item>The model's other rows (a namespace that requested nothing, or no tenant) are the model's shared cost. The
/// tenants that requested the model but hold no row of it, and the requests without a tenant, share every such row
/// by their weighted tokens (prompt + w × completion): a tenant's part becomes a row of its own with the same
/// pool, node, GPU model and GPU; the part of the tokens without a tenant, and the whole row when the window has no
/// such tokens, stays on the row as the model's remainder. So Σ tenants + remainder = the model's cost.</item>
/// <item>Requests without a tenant for a model with no shared row are shared over all its rows by GPU-hours; usage
/// of a model no GPU served is left out.</item>
/// </list>
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
        var rows = new Dictionary<RowKey, Row>();
        var idle = new Dictionary<(string? Pool, string Node, string? GpuModel), IdleRow>();
        foreach (GpuWindowResult gpu in gpus)
        {
            foreach (GpuCostLine line in gpu.Cost.Lines)
            {
                var key = new RowKey(line.Model, line.Tenant, gpu.Gpu.Pool, gpu.Gpu.Node, gpu.Gpu.GpuModel, gpu.Gpu.GpuUuid)
                {
                    MigInstance = line.MigInstance,
                    MigProfile = line.MigProfile,
                    AttributionBasis = line.AttributionBasis ?? AttributionBases.WholeGpu,
                };
                if (!rows.TryGetValue(key, out Row? row))
                {
                    row = new Row();
                    rows.Add(key, row);
                }

                row.Add(line);
                row.NodePowerSource = NodePowerSources.Combine(row.NodePowerSource, gpu.Gpu.NodePowerSource);
                row.BoundToTenant |= gpu.Gpu.BoundTenant is not null;
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
            idleRow.IdleCo2eGrams += gpu.Cost.IdleCo2eGrams;
        }

        foreach (IGrouping<string, TokenUsage> model in tokens.GroupBy(t => t.Model, StringComparer.Ordinal))
        {
            Attribute(model.Key, [.. model], rows, rules.CompletionTokenWeight);
        }

        var costs = rows.Where(r => !r.Value.Emptied)
            .Select(r => r.Value.ToCostWindow(rules, windowStart, length, r.Key)).ToList();
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
            IdleCo2eGrams = CostFigures.KnownCarbon(i.Value.IdleCo2eGrams),
        }).ToList();
        return (costs, idleWindows);
    }

    /// <summary>One model's tokens onto its rows, by the rules in the class summary.</summary>
    private static void Attribute(string model, List<TokenUsage> usages, Dictionary<RowKey, Row> rows, double completionWeight)
    {
        var modelRows = rows.Where(r => string.Equals(r.Key.Model, model, StringComparison.Ordinal)).ToList();
        if (modelRows.Count == 0)
        {
            return;
        }

        var requesting = usages.Where(u => u.Tenant is not null).Select(u => u.Tenant!).ToHashSet(StringComparer.Ordinal);
        var shared = modelRows.Where(r => !r.Value.BoundToTenant && (r.Key.Tenant is null || !requesting.Contains(r.Key.Tenant))).ToList();
        var sharers = new List<TokenUsage>();
        var remainder = new List<TokenUsage>();
        foreach (TokenUsage usage in usages)
        {
            var own = usage.Tenant is null ? [] : modelRows.Where(r => string.Equals(r.Key.Tenant, usage.Tenant, StringComparison.Ordinal)).Select(r => r.Value).ToList();
            if (own.Count > 0)
            {
                ShareTokens(usage, own);
            }
            else if (shared.Count == 0)
            {
                // A tenant with no row and no shared row to take from (every row is another tenant's): its tokens are
                // spread over the model's rows as a usage without a tenant would be.
                ShareTokens(usage, [.. modelRows.Select(r => r.Value)]);
            }
            else if (usage.Tenant is null)
            {
                remainder.Add(usage);
            }
            else
            {
                sharers.Add(usage);
            }
        }

        double Weighted(TokenUsage u) => u.PromptTokens + (completionWeight * u.CompletionTokens);
        double total = sharers.Sum(Weighted) + remainder.Sum(Weighted);
        var sharedRows = shared.Select(r => r.Value).ToList();
        if (total <= 0)
        {
            foreach (TokenUsage usage in remainder.Concat(sharers))
            {
                ShareTokens(usage, sharedRows);
            }

            return;
        }

        var parts = new List<(List<TokenUsage> Usages, List<Row> Rows)>();
        foreach (IGrouping<string, TokenUsage> tenant in sharers.GroupBy(s => s.Tenant!, StringComparer.Ordinal))
        {
            double fraction = tenant.Sum(Weighted) / total;
            if (fraction <= 0)
            {
                continue;
            }

            // Two shared rows of one GPU (two namespaces, or a namespace and none) give the tenant one row there.
            var tenantRows = new List<Row>(shared.Count);
            foreach ((RowKey key, Row source) in shared)
            {
                RowKey partKey = key with { Tenant = tenant.Key };
                if (!rows.TryGetValue(partKey, out Row? part))
                {
                    part = new Row();
                    rows.Add(partKey, part);
                    tenantRows.Add(part);
                }

                part.AddPart(source, fraction);
            }

            parts.Add(([.. tenant], tenantRows));
        }

        // What the tenants took leaves the remainder: the fraction of the tokens without a tenant.
        double kept = remainder.Sum(Weighted) / total;
        foreach (Row source in sharedRows)
        {
            source.Keep(kept);
        }

        foreach ((List<TokenUsage> tenantUsages, List<Row> tenantRows) in parts)
        {
            foreach (TokenUsage usage in tenantUsages)
            {
                ShareTokens(usage, tenantRows);
            }
        }

        foreach (TokenUsage usage in remainder)
        {
            ShareTokens(usage, sharedRows);
        }
    }

    /// <summary>A usage's tokens, requests and latencies over <paramref name="targets"/> in proportion to their GPU-hours.</summary>
    private static void ShareTokens(TokenUsage usage, List<Row> targets)
    {
        double hours = targets.Sum(t => t.GpuHours);
        if (hours <= 0)
        {
            return;
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

    private readonly record struct RowKey(string? Model, string? Tenant, string? Pool, string Node, string? GpuModel, string Gpu)
    {
        /// <summary>A MIG instance's rows are apart from the GPU's other rows.</summary>
        public string? MigInstance { get; init; }

        public string? MigProfile { get; init; }

        public string? AttributionBasis { get; init; }
    }

    private sealed class Row
    {
        public double GpuHours { get; private set; }

        /// <summary>Holds time of a GPU bound to a tenant at ingest: never shared with other tenants.</summary>
        public bool BoundToTenant { get; set; }

        /// <summary>Every part of it went to tenants: no row is written.</summary>
        public bool Emptied { get; private set; }

        public double PromptTokens { get; set; }

        public double CompletionTokens { get; set; }

        public double Requests { get; set; }

        /// <summary>Where the node energy of the row's GPU came from (<see cref="NodePowerSources"/>).</summary>
        public string? NodePowerSource { get; set; }

        private double _energy;
        private double _facility;
        private double _capex;
        private double _opex;
        private double _rental;
        private double _energyCost;
        private double _nodeEnergy;
        private double _utilized;
        private double _operationalCo2e;
        private double _embodiedCo2e;
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
            _rental += line.RentalUsd;
            _energyCost += line.EnergyCostUsd;
            _nodeEnergy += line.NodeEnergyJoules;
            _utilized += line.UtilizedGpuHours;
            _operationalCo2e += line.OperationalCo2eGrams;
            _embodiedCo2e += line.EmbodiedCo2eGrams;
        }

        /// <summary>Adds <paramref name="fraction"/> of <paramref name="source"/>'s sums (not its tokens).</summary>
        public void AddPart(Row source, double fraction)
        {
            GpuHours += source.GpuHours * fraction;
            NodePowerSource = NodePowerSources.Combine(NodePowerSource, source.NodePowerSource);
            _energy += source._energy * fraction;
            _facility += source._facility * fraction;
            _capex += source._capex * fraction;
            _opex += source._opex * fraction;
            _rental += source._rental * fraction;
            _energyCost += source._energyCost * fraction;
            _nodeEnergy += source._nodeEnergy * fraction;
            _utilized += source._utilized * fraction;
            _operationalCo2e += source._operationalCo2e * fraction;
            _embodiedCo2e += source._embodiedCo2e * fraction;
        }

        /// <summary>Keeps <paramref name="fraction"/> of the sums, the rest having gone to tenants' parts.</summary>
        public void Keep(double fraction)
        {
            GpuHours *= fraction;
            _energy *= fraction;
            _facility *= fraction;
            _capex *= fraction;
            _opex *= fraction;
            _rental *= fraction;
            _energyCost *= fraction;
            _nodeEnergy *= fraction;
            _utilized *= fraction;
            _operationalCo2e *= fraction;
            _embodiedCo2e *= fraction;
            Emptied = fraction <= 0;
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

        public CostWindow ToCostWindow(CostRules rules, DateTimeOffset start, TimeSpan length, RowKey key)
        {
            string? model = key.Model;
            double cost = _capex + _opex + _rental + _energyCost;
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
                Tenant = key.Tenant,
                Pool = key.Pool,
                Node = key.Node,
                GpuModel = key.GpuModel,
                GpuUuid = key.Gpu,
                MigInstance = key.MigInstance,
                MigProfile = key.MigProfile,
                AttributionBasis = key.AttributionBasis,
                GpuHours = GpuHours,
                UtilizedGpuHours = _utilized,
                GpuEnergyJoules = _energy,
                NodeEnergyJoules = _nodeEnergy,
                NodePowerSource = NodePowerSource,
                FacilityEnergyJoules = _facility,
                CapexUsd = _capex,
                OpexUsd = _opex,
                RentalUsd = _rental,
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
                OperationalCo2eGrams = CostFigures.KnownCarbon(_operationalCo2e),
                EmbodiedCo2eGrams = CostFigures.KnownCarbon(_operationalCo2e) is null ? null : _embodiedCo2e,
                Co2eGrams = CostFigures.KnownCarbon(_operationalCo2e + _embodiedCo2e),
            });
        }
    }

    private sealed class IdleRow
    {
        public double GpuHours { get; set; }

        public double IdleGpuHours { get; set; }

        public double IdleCostUsd { get; set; }

        public double IdleEnergyJoules { get; set; }

        public double IdleCo2eGrams { get; set; }
    }
}
