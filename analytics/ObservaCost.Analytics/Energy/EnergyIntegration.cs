namespace ObservaCost.Analytics.Energy;

/// <summary>GPU energy from samples: the increase of an energy counter, or the integral of power over time.</summary>
public static class EnergyIntegration
{
    /// <summary>
    /// The increase of a cumulative energy counter in joules: the sum of positive deltas. A drop is a reset (the
    /// counter restarted at 0), so the value after the drop is the energy since the reset, as in Prometheus
    /// <c>increase()</c>. Nothing is extrapolated beyond the first and last samples.
    /// </summary>
    public static double CounterIncreaseJoules(ReadOnlySpan<TimedValue> counterJoules)
    {
        EnsureTimeOrder(counterJoules, nameof(counterJoules));
        double energyJoules = 0.0;
        for (int i = 1; i < counterJoules.Length; i++)
        {
            energyJoules += CounterDelta(counterJoules[i - 1].Value, counterJoules[i].Value);
        }

        return energyJoules;
    }

    /// <summary>
    /// The integral of power in watts over time in joules, by the trapezoid rule over the actual sample times. Two
    /// samples further apart than <paramref name="maxGap"/> are not bridged: nothing is counted between them.
    /// </summary>
    public static double TrapezoidJoules(ReadOnlySpan<TimedValue> powerWatts, TimeSpan maxGap)
    {
        EnsureTimeOrder(powerWatts, nameof(powerWatts));
        EnsurePositive(maxGap);
        double energyJoules = 0.0;
        for (int i = 1; i < powerWatts.Length; i++)
        {
            TimeSpan step = powerWatts[i].Time - powerWatts[i - 1].Time;
            if (step <= maxGap)
            {
                energyJoules += (powerWatts[i - 1].Value + powerWatts[i].Value) * 0.5 * step.TotalSeconds;
            }
        }

        return energyJoules;
    }

    /// <summary>The energy between two counter readings; a drop is a reset to 0, so the new value is the delta.</summary>
    public static double CounterDelta(double previousJoules, double currentJoules)
    {
        return currentJoules >= previousJoules ? currentJoules - previousJoules : currentJoules;
    }

    internal static void EnsureTimeOrder(ReadOnlySpan<TimedValue> samples, string parameterName)
    {
        for (int i = 1; i < samples.Length; i++)
        {
            if (samples[i].Time < samples[i - 1].Time)
            {
                throw new ArgumentException("Samples must be in time order.", parameterName);
            }
        }
    }

    internal static void EnsurePositive(TimeSpan maxGap)
    {
        if (maxGap <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(maxGap), maxGap, "The gap limit must be positive.");
        }
    }
}
