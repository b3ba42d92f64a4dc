using ObservaCost.Analytics.Energy;

namespace ObservaCost.Analytics.Attribution;

/// <summary>One raw GPU sample as the cost computation sees it: power, utilization (graphics-engine activity × 100 where the source has it) and the energy counter.</summary>
public readonly record struct GpuReading(DateTimeOffset Time, double? PowerWatts, double? UtilizationPercent, double? EnergyJoules);

/// <summary>
/// One point of the <c>gpu_trace</c> rollup: a raw sample kept at its own time, with what the samples dropped since the
/// previous kept sample of the same minute add up to (zero steps for the first kept sample of a minute).
/// </summary>
public readonly record struct GpuTracePoint(
    DateTimeOffset Time,
    double? PowerWatts,
    double? UtilizationPercent,
    double? EnergyJoules,
    int StepsSincePrevious,
    double EnergySincePreviousJoules,
    double CounterIncreaseSincePreviousJoules,
    double HeldUtilizationPercent,
    double UtilizationSumPercent,
    int UtilizationSamples);

/// <summary>What the cost computation reads of one GPU: power, utilization and counter series, and utilization sums.</summary>
public sealed record GpuSeries(TimedValue[] PowerWatts, TimedValue[] UtilizationPercent, TimedValue[] EnergyCounterJoules, UtilizationBucket[] UtilizationBuckets);

/// <summary>The clamped (0–100) utilization of <see cref="Samples"/> samples taken in one bucket starting at <see cref="Time"/> or later, summed.</summary>
public readonly record struct UtilizationBucket(DateTimeOffset Time, double SumPercent, int Samples);

/// <summary>
/// The lossless-for-cost compression of one GPU-minute of samples, and its expansion. A minute keeps its first and last
/// sample (they bridge to the neighbouring minutes), the first sample whose idle state (utilization below the pool's
/// threshold or not) differs from the first one's, and the first sample of the minute's final run of one state. Between
/// two kept samples it records the trapezoid energy, the counter increase (resets included) and the number of steps.
/// </summary>
/// <remarks>
/// Expanded, a minute gives back its kept samples plus, between two kept samples that were not neighbours, one sample
/// at the midpoint whose power makes the two trapezoids add up to the recorded energy and whose utilization holds the
/// state of the stretch it stands for; the energy counter becomes a never-resetting sum of the recorded increases.
/// Every edge the cost computation clips at (windows, allocation spans and tariff changes are whole minutes; idle runs
/// start and end at kept samples) falls on a kept sample or between minutes, so energy, idle runs and their energy from
/// the expansion equal those from the raw samples, provided every sample carries power and utilization, the gap
/// limit is at least a minute and the idle minimum duration at least a minute (a run wholly inside one minute, between
/// the kept samples, is not kept: it is shorter than a minute).
/// </remarks>
public static class GpuTrace
{
    /// <summary>Compresses the samples of one minute (in time order) at the idle threshold of the GPU's pool.</summary>
    public static List<GpuTracePoint> Compress(ReadOnlySpan<GpuReading> minute, double idleThresholdPercent)
    {
        var points = new List<GpuTracePoint>(4);
        if (minute.Length == 0)
        {
            return points;
        }

        int last = minute.Length - 1;
        int change = -1;
        for (int i = 1; i <= last && change < 0; i++)
        {
            if (Below(minute[i], idleThresholdPercent) != Below(minute[0], idleThresholdPercent))
            {
                change = i;
            }
        }

        int settle = last;
        while (settle > 0 && Below(minute[settle - 1], idleThresholdPercent) == Below(minute[last], idleThresholdPercent))
        {
            settle--;
        }

        double sum = 0;
        int count = 0;
        foreach (GpuReading reading in minute)
        {
            if (reading.UtilizationPercent is double u && double.IsFinite(u))
            {
                sum += Math.Clamp(u, 0, 100);
                count++;
            }
        }

        points.Add(Kept(minute[0], 0, 0, 0, 0) with { UtilizationSumPercent = sum, UtilizationSamples = count });
        int previous = 0;
        foreach (int key in (ReadOnlySpan<int>)[change, settle, last])
        {
            if (key <= previous)
            {
                continue;
            }

            double energy = 0, increase = 0;
            for (int i = previous + 1; i <= key; i++)
            {
                if (minute[i - 1].PowerWatts is double p0 && minute[i].PowerWatts is double p1)
                {
                    energy += (p0 + p1) * 0.5 * (minute[i].Time - minute[i - 1].Time).TotalSeconds;
                }

                if (minute[i - 1].EnergyJoules is double c0 && minute[i].EnergyJoules is double c1)
                {
                    increase += EnergyIntegration.CounterDelta(c0, c1);
                }
            }

            // The stretch before the first change and the final run hold one state; between them nothing qualifies as idle.
            double held = previous == 0 ? minute[0].UtilizationPercent ?? idleThresholdPercent
                : previous == settle ? minute[settle].UtilizationPercent ?? idleThresholdPercent
                : idleThresholdPercent;
            points.Add(Kept(minute[key], key - previous, energy, increase, held));
            previous = key;
        }

        return points;
    }

    /// <summary>Expands kept samples of one GPU (in time order, minutes whole) into the series the cost computation reads.</summary>
    public static GpuSeries Expand(IReadOnlyList<GpuTracePoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var power = new List<TimedValue>(points.Count + (points.Count / 2));
        var utilization = new List<TimedValue>(power.Capacity);
        var counter = new List<TimedValue>(points.Count);
        var buckets = new List<UtilizationBucket>(points.Count / 2);
        double? lastReading = null;
        double total = 0;
        for (int i = 0; i < points.Count; i++)
        {
            GpuTracePoint point = points[i];
            if (point.StepsSincePrevious > 1 && i > 0)
            {
                GpuTracePoint from = points[i - 1];
                DateTimeOffset middle = from.Time + ((point.Time - from.Time) / 2);
                double before = (middle - from.Time).TotalSeconds, after = (point.Time - middle).TotalSeconds;
                if (from.PowerWatts is double p0 && point.PowerWatts is double p1)
                {
                    power.Add(new TimedValue(middle, ((2 * point.EnergySincePreviousJoules) - (p0 * before) - (p1 * after)) / (before + after)));
                }

                utilization.Add(new TimedValue(middle, point.HeldUtilizationPercent));
            }

            if (point.PowerWatts is double p)
            {
                power.Add(new TimedValue(point.Time, p));
            }

            if (point.UtilizationPercent is double u)
            {
                utilization.Add(new TimedValue(point.Time, u));
            }

            if (point.EnergyJoules is double reading)
            {
                total += point.StepsSincePrevious > 0 ? point.CounterIncreaseSincePreviousJoules
                    : lastReading is double previous ? EnergyIntegration.CounterDelta(previous, reading) : 0;
                counter.Add(new TimedValue(point.Time, total));
                lastReading = reading;
            }

            if (point.StepsSincePrevious == 0 && point.UtilizationSamples > 0)
            {
                buckets.Add(new UtilizationBucket(point.Time, point.UtilizationSumPercent, point.UtilizationSamples));
            }
        }

        return new GpuSeries([.. power], [.. utilization], [.. counter], [.. buckets]);
    }

    /// <summary>The raw samples of one GPU (in time order) as the series the cost computation reads: every sample kept.</summary>
    public static GpuSeries FromSamples(IReadOnlyList<GpuReading> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var power = new List<TimedValue>(samples.Count);
        var utilization = new List<TimedValue>(samples.Count);
        var counter = new List<TimedValue>();
        foreach (GpuReading sample in samples)
        {
            if (sample.PowerWatts is double p)
            {
                power.Add(new TimedValue(sample.Time, p));
            }

            if (sample.UtilizationPercent is double u)
            {
                utilization.Add(new TimedValue(sample.Time, u));
            }

            if (sample.EnergyJoules is double e)
            {
                counter.Add(new TimedValue(sample.Time, e));
            }
        }

        return new GpuSeries([.. power], [.. utilization], [.. counter], Buckets(utilization));
    }

    /// <summary>Each utilization sample as its own bucket.</summary>
    public static UtilizationBucket[] Buckets(IReadOnlyList<TimedValue> utilizationPercent)
    {
        ArgumentNullException.ThrowIfNull(utilizationPercent);
        var buckets = new List<UtilizationBucket>(utilizationPercent.Count);
        foreach (TimedValue sample in utilizationPercent)
        {
            if (double.IsFinite(sample.Value))
            {
                buckets.Add(new UtilizationBucket(sample.Time, Math.Clamp(sample.Value, 0, 100), 1));
            }
        }

        return [.. buckets];
    }

    private static bool Below(GpuReading reading, double thresholdPercent) =>
        reading.UtilizationPercent is double u && double.IsFinite(u) && u < thresholdPercent;

    private static GpuTracePoint Kept(GpuReading reading, int steps, double energyJoules, double increaseJoules, double heldPercent) =>
        new(reading.Time, reading.PowerWatts, reading.UtilizationPercent, reading.EnergyJoules, steps, energyJoules, increaseJoules, heldPercent, 0, 0);
}
