using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Weighs the workloads sharing a GPU or a MIG instance (docs/analytics.md, "Shared GPUs"). A part is shared in a step
/// when two or more workloads are seen on it then; a window with such a step is divided by the best signal every
/// workload of the window has, in this order: its own utilization (<see cref="AttributionBases.ProcessUtilization"/>,
/// u/100 of the step each, the rest unused), the weighted tokens its distinct (model, tenant) served in the window
/// (<see cref="AttributionBases.Tokens"/>), its requested fraction (<see cref="AttributionBases.RequestedFraction"/>,
/// the unrequested rest unused; more than the whole is normalised and the basis says so), else equal shares. A step
/// with one workload is that workload's whole; a step with none keeps the part's own allocation.
/// </summary>
public static class GpuSharing
{
    /// <summary>The GPU with each shared part's <see cref="GpuPartition.Shares"/> and basis set; a whole GPU never shared stays undivided.</summary>
    public static GpuWindowInput Resolve(GpuWindowInput gpu, IReadOnlyList<TokenUsage> tokens, double completionTokenWeight)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(tokens);
        if (gpu.Partitions is not { Count: > 0 } parts)
        {
            return gpu;
        }

        var resolved = parts.Select(p => Resolve(p, tokens, completionTokenWeight)).ToList();
        bool wholeAndUnshared = resolved.Count == 1 && resolved[0].MigInstance is null && resolved[0].Shares is null;
        return wholeAndUnshared ? gpu with { Partitions = null, Allocations = resolved[0].Allocations } : gpu with { Partitions = resolved };
    }

    private static GpuPartition Resolve(GpuPartition part, IReadOnlyList<TokenUsage> tokens, double completionTokenWeight)
    {
        var steps = part.Workloads.GroupBy(w => (w.Start, w.End)).OrderBy(g => g.Key.Start).ToList();
        if (!steps.Any(s => s.Select(w => w.Workload).Distinct(StringComparer.Ordinal).Count() >= 2))
        {
            return part;
        }

        // The workloads of the window, each with its (first seen) model and tenant.
        var identities = part.Workloads.GroupBy(w => w.Workload, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (g.First().Model, g.First().Tenant), StringComparer.Ordinal);
        var tokenWeights = identities.ToDictionary(
            i => i.Key,
            i => tokens.Where(t => string.Equals(t.Model, i.Value.Model, StringComparison.Ordinal) && string.Equals(t.Tenant, i.Value.Tenant, StringComparison.Ordinal))
                .Sum(t => t.PromptTokens + (completionTokenWeight * t.CompletionTokens)),
            StringComparer.Ordinal);
        string basis =
            part.Workloads.All(w => w.UtilizationPercent is double u && double.IsFinite(u)) ? AttributionBases.ProcessUtilization
            : identities.Values.All(i => i.Model is not null) && identities.Values.Distinct().Count() == identities.Count && tokenWeights.Values.All(t => t > 0) ? AttributionBases.Tokens
            : part.Workloads.All(w => w.RequestedFraction is double r && double.IsFinite(r)) ? AttributionBases.RequestedFraction
            : AttributionBases.Equal;

        var shares = new List<AllocationShare>();
        foreach (var step in steps)
        {
            // One entry per workload in the step (the bucket means are per workload already).
            var present = step.GroupBy(w => w.Workload, StringComparer.Ordinal).Select(g => g.First()).ToList();
            (DateTimeOffset start, DateTimeOffset end) = step.Key;
            if (present.Count == 1)
            {
                shares.Add(new AllocationShare(start, end, present[0].Model, present[0].Tenant, 1));
                continue;
            }

            double[] weights = basis switch
            {
                AttributionBases.ProcessUtilization => [.. present.Select(w => Math.Clamp(w.UtilizationPercent!.Value, 0, 100) / 100)],
                AttributionBases.Tokens => [.. present.Select(w => tokenWeights[w.Workload])],
                AttributionBases.RequestedFraction => [.. present.Select(w => Math.Clamp(w.RequestedFraction!.Value, 0, 1))],
                _ => [.. present.Select(_ => 1.0)],
            };
            double sum = weights.Sum();
            bool normalise = basis is AttributionBases.Tokens or AttributionBases.Equal || sum > 1;
            if (basis == AttributionBases.RequestedFraction && sum > 1 + 1e-12)
            {
                basis = AttributionBases.RequestedFractionNormalised;
            }

            double taken = 0;
            for (int i = 0; i < present.Count; i++)
            {
                double weight = normalise ? (sum > 0 ? weights[i] / sum : 1.0 / present.Count) : weights[i];
                taken += weight;
                shares.Add(new AllocationShare(start, end, present[i].Model, present[i].Tenant, weight));
            }

            if (taken < 1 - 1e-12)
            {
                shares.Add(new AllocationShare(start, end, null, null, 1 - taken, Unused: true));
            }
        }

        // Steps without workloads keep the part's own allocation.
        var covered = steps.Select(s => s.Key).ToList();
        foreach (AllocationSpan span in part.Allocations)
        {
            DateTimeOffset at = span.Start;
            foreach ((DateTimeOffset start, DateTimeOffset end) in covered.Where(c => c.End > span.Start && c.Start < span.End))
            {
                if (start > at)
                {
                    shares.Add(new AllocationShare(at, start, span.Model, span.Tenant, 1));
                }

                at = end > at ? end : at;
            }

            if (at < span.End)
            {
                shares.Add(new AllocationShare(at, span.End, span.Model, span.Tenant, 1));
            }
        }

        return part with { Shares = shares, AttributionBasis = basis };
    }
}
