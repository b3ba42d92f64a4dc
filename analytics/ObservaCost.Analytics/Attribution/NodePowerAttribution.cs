using ObservaCost.Analytics.Energy;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>One measured reading of a node's power: the whole server's (GPUs included), or its non-GPU part only.</summary>
public readonly record struct NodePowerReading(DateTimeOffset Time, double PowerWatts, bool NonGpuOnly);

/// <summary>The GPUs with their node power set, and what the step had to clamp.</summary>
/// <param name="Gpus">The GPUs, each with <see cref="GpuWindowInput.NodePowerSource"/> set.</param>
/// <param name="ClampedReadings">Whole-node readings below the sum of their GPUs' power at that moment: their non-GPU power was taken as 0.</param>
/// <param name="ClampedNodes">The nodes of <paramref name="ClampedReadings"/>, in name order.</param>
public sealed record NodePowerResult(IReadOnlyList<GpuWindowInput> Gpus, int ClampedReadings, IReadOnlyList<string> ClampedNodes);

/// <summary>
/// The non-GPU power of each node (CPUs, memory, fans, NICs), shared over the node's GPUs (docs/analytics.md,
/// "Whole-node power"). Where the node's power is measured (<c>node_sample</c>), at each reading the non-GPU power is the
/// reading less the sum of the node's GPUs' power at that moment (scope <c>node</c>), or the reading itself (scope
/// <c>non_gpu</c>); a negative difference is clamped to 0 and counted. It is shared equally over the GPUs observed at
/// that moment (a GPU with a power reading there: its samples bracket the moment within the sample-gap limit), the
/// others getting 0, so each GPU gets a power series that <see cref="GpuCostCalculator"/> integrates like GPU power
/// (trapezoids, gaps longer than the limit not bridged), prices at the tariff of each moment and scales by PUE. A node
/// without a reading near the window gets the pricing file's fixed watts shared equally (as before), else none.
/// GPUs bound to a tenant share their node's non-GPU power only among themselves (as with the fixed watts); the GPU power
/// taken from the reading is that of every GPU of the node, each once.
/// </summary>
public static class NodePowerAttribution
{
    /// <summary>Reads every node's power readings between <paramref name="from"/> and <paramref name="to"/>, by node in time order.</summary>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<NodePowerReading>>> ReadAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        QueryResult result = await store.QueryAsync(
            TimeSeriesQueryBuilder.From(Measurements.NodeSample).Field(Fields.PowerWatts).Between(from, to).GroupBy(Tags.Node, Tags.Scope).Build(),
            cancellationToken);
        var nodes = new Dictionary<string, List<NodePowerReading>>(StringComparer.Ordinal);
        foreach (ResultSeries series in result.Series)
        {
            bool nonGpu = string.Equals(series.Tags[Tags.Scope], NodePowerScopes.NonGpu, StringComparison.Ordinal);
            string node = series.Tags[Tags.Node];
            if (!nodes.TryGetValue(node, out List<NodePowerReading>? readings))
            {
                readings = [];
                nodes.Add(node, readings);
            }

            foreach (ResultRow row in series.Rows)
            {
                if (row[0].AsDouble() is double watts && double.IsFinite(watts) && watts >= 0)
                {
                    readings.Add(new NodePowerReading(row.Time, watts, nonGpu));
                }
            }
        }

        foreach (List<NodePowerReading> readings in nodes.Values)
        {
            readings.Sort((a, b) => a.Time.CompareTo(b.Time));
        }

        return nodes.ToDictionary(n => n.Key, n => (IReadOnlyList<NodePowerReading>)n.Value, StringComparer.Ordinal);
    }

    /// <summary>Sets each GPU's node power: measured where its node has readings near the window, else the fixed watts, else none.</summary>
    public static NodePowerResult Apply(
        IReadOnlyList<GpuWindowInput> gpus,
        IReadOnlyDictionary<string, IReadOnlyList<NodePowerReading>> readings,
        double? fixedNodePowerWatts,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        ArgumentNullException.ThrowIfNull(readings);
        var result = new List<GpuWindowInput>(gpus.Count);
        int clamped = 0;
        var clampedNodes = new SortedSet<string>(StringComparer.Ordinal);

        // The node's GPUs, each once (a GPU read for the fleet and for a bound tenant is one GPU drawing power).
        Dictionary<string, GpuWindowInput[]> physical = gpus.GroupBy(g => g.Node, StringComparer.Ordinal).ToDictionary(
            n => n.Key, n => n.GroupBy(g => g.GpuUuid, StringComparer.Ordinal).Select(u => u.OrderBy(g => g.BoundTenant is not null).First()).ToArray(), StringComparer.Ordinal);
        foreach (IGrouping<(string Node, string? BoundTenant), GpuWindowInput> node in gpus.GroupBy(g => (g.Node, g.BoundTenant)))
        {
            GpuWindowInput[] members = [.. node];
            if (readings.TryGetValue(node.Key.Node, out IReadOnlyList<NodePowerReading>? measured) &&
                measured.Any(r => r.Time >= windowStart - maxGap && r.Time <= windowEnd + maxGap))
            {
                int before = clamped;
                List<TimedValue>[] shares = Shares(members, physical[node.Key.Node], measured, maxGap, ref clamped);
                if (clamped > before)
                {
                    clampedNodes.Add(node.Key.Node);
                }

                for (int i = 0; i < members.Length; i++)
                {
                    result.Add(members[i] with { NodePowerWatts = 0, NodeNonGpuPowerWatts = shares[i], NodePowerSource = NodePowerSources.Measured });
                }
            }
            else if (fixedNodePowerWatts is double watts && watts > 0)
            {
                result.AddRange(members.Select(g => g with { NodePowerWatts = watts / members.Length, NodePowerSource = NodePowerSources.Fixed }));
            }
            else
            {
                result.AddRange(members.Select(g => g with { NodePowerWatts = 0, NodePowerSource = NodePowerSources.None }));
            }
        }

        return new NodePowerResult(result, clamped, [.. clampedNodes]);
    }

    /// <summary>
    /// Each GPU's share of the node's non-GPU power at every reading (the reading less the power of all the node's
    /// GPUs, <paramref name="nodeGpus"/>): equal over the GPUs of <paramref name="gpus"/> observed then, 0 for the others.
    /// </summary>
    private static List<TimedValue>[] Shares(GpuWindowInput[] gpus, GpuWindowInput[] nodeGpus, IReadOnlyList<NodePowerReading> readings, TimeSpan maxGap, ref int clamped)
    {
        var shares = new List<TimedValue>[gpus.Length];
        for (int i = 0; i < gpus.Length; i++)
        {
            shares[i] = new List<TimedValue>(readings.Count);
        }

        var power = new double?[gpus.Length];
        foreach (NodePowerReading reading in readings)
        {
            int observed = 0;
            for (int i = 0; i < gpus.Length; i++)
            {
                power[i] = PowerAt(gpus[i], reading.Time, maxGap);
                observed += power[i] is null ? 0 : 1;
            }

            if (observed == 0)
            {
                continue;
            }

            double gpuWatts = 0;
            foreach (GpuWindowInput gpu in nodeGpus)
            {
                gpuWatts += PowerAt(gpu, reading.Time, maxGap) ?? 0;
            }

            double nonGpu = reading.NonGpuOnly ? reading.PowerWatts : reading.PowerWatts - gpuWatts;
            if (nonGpu < 0)
            {
                clamped++;
                nonGpu = 0;
            }

            for (int i = 0; i < gpus.Length; i++)
            {
                shares[i].Add(new TimedValue(reading.Time, power[i] is null ? 0 : nonGpu / observed));
            }
        }

        return shares;
    }

    /// <summary>
    /// A GPU's power at <paramref name="time"/>: linear between the power samples that bracket it within
    /// <paramref name="maxGap"/> (as the energy integration assumes), else the counter's mean power between the readings
    /// that bracket it; null when the GPU was not observed then.
    /// </summary>
    public static double? PowerAt(GpuWindowInput gpu, DateTimeOffset time, TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        if (gpu.EnergyCounterJoules.Count >= 2)
        {
            (TimedValue? from, TimedValue? to) = Bracket(gpu.EnergyCounterJoules, time);
            if (from is TimedValue a && to is TimedValue b && b.Time - a.Time <= maxGap && b.Time > a.Time)
            {
                return EnergyIntegration.CounterDelta(a.Value, b.Value) / (b.Time - a.Time).TotalSeconds;
            }

            return null;
        }

        (TimedValue? before, TimedValue? after) = Bracket(gpu.PowerWatts, time);
        if (before is TimedValue x && x.Time == time)
        {
            return x.Value;
        }

        if (before is TimedValue p && after is TimedValue q && q.Time - p.Time <= maxGap)
        {
            double f = (time - p.Time) / (q.Time - p.Time);
            return p.Value + ((q.Value - p.Value) * f);
        }

        return null;
    }

    /// <summary>The last sample at or before <paramref name="time"/> and the first after it.</summary>
    private static (TimedValue? AtOrBefore, TimedValue? After) Bracket(IReadOnlyList<TimedValue> samples, DateTimeOffset time)
    {
        int lo = 0, hi = samples.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) / 2);
            if (samples[mid].Time <= time)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        TimedValue? before = found >= 0 ? samples[found] : null;
        TimedValue? after = found + 1 < samples.Count ? samples[found + 1] : null;
        return (before, after);
    }
}
