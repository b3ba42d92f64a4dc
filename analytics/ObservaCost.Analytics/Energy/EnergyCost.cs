using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Energy;

/// <summary>Energy in a window, the facility energy (× PUE) and its cost at the tariff of each moment.</summary>
/// <param name="EnergyJoules">Energy measured at the device (GPU or node), inside the window.</param>
/// <param name="FacilityEnergyJoules"><paramref name="EnergyJoules"/> × PUE.</param>
/// <param name="CostUsd">Facility energy priced at the rate that applied when it was used.</param>
/// <param name="Co2eGrams">
/// Operational carbon: facility energy × the grid's carbon intensity when it was used, gCO2e; NaN when the intensity
/// was unknown for some of it or not configured (so a sum with it is unknown too, never a silent zero).
/// </param>
public readonly record struct EnergyCostResult(double EnergyJoules, double FacilityEnergyJoules, double CostUsd, double Co2eGrams = 0)
{
    public static EnergyCostResult operator +(EnergyCostResult left, EnergyCostResult right)
    {
        return new EnergyCostResult(
            left.EnergyJoules + right.EnergyJoules,
            left.FacilityEnergyJoules + right.FacilityEnergyJoules,
            left.CostUsd + right.CostUsd,
            left.Co2eGrams + right.Co2eGrams);
    }

    public static EnergyCostResult Add(EnergyCostResult left, EnergyCostResult right) => left + right;

    /// <summary>A share of the result: every figure × <paramref name="fraction"/> (a MIG instance's or a workload's part).</summary>
    public static EnergyCostResult operator *(EnergyCostResult result, double fraction)
    {
        return new EnergyCostResult(result.EnergyJoules * fraction, result.FacilityEnergyJoules * fraction, result.CostUsd * fraction, result.Co2eGrams * fraction);
    }

    public static EnergyCostResult Multiply(EnergyCostResult result, double fraction) => result * fraction;
}

/// <summary>
/// Energy cost over a window [start, end) with a time-of-use tariff. Energy between two samples is split at every
/// rate change of the <see cref="TariffSchedule"/> so each part is priced at its own rate; the parts are clipped to
/// the window. Facility energy = device energy × PUE; GPU and node energy add up because both are linear.
/// </summary>
public static class EnergyCost
{
    public const double JoulesPerKilowattHour = 3.6e6;

    /// <summary>
    /// Cost of the energy integrated from power samples (trapezoid over actual sample times; power is linear between
    /// samples, and a gap longer than <paramref name="maxGap"/> is not bridged).
    /// </summary>
    public static EnergyCostResult OfPowerSamples(
        ReadOnlySpan<TimedValue> powerWatts,
        TimeSpan maxGap,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        TariffSchedule schedule,
        double pue)
    {
        EnergyIntegration.EnsureTimeOrder(powerWatts, nameof(powerWatts));
        EnergyIntegration.EnsurePositive(maxGap);
        EnsureWindow(windowStart, windowEnd, schedule, pue);
        var sum = new Accumulator(schedule, pue);
        for (int i = 1; i < powerWatts.Length; i++)
        {
            TimedValue from = powerWatts[i - 1];
            TimedValue to = powerWatts[i];
            if (to.Time - from.Time <= maxGap)
            {
                sum.AddLinear(from.Time, from.Value, to.Time, to.Value, windowStart, windowEnd);
            }
        }

        return sum.Result;
    }

    /// <summary>
    /// Cost of the energy from a cumulative counter in joules (a drop is a reset, see
    /// <see cref="EnergyIntegration.CounterIncreaseJoules"/>). The energy between two readings is spread evenly over
    /// the time between them, so a delta that straddles the window edge or a rate change is shared in proportion.
    /// </summary>
    public static EnergyCostResult OfCounterSamples(
        ReadOnlySpan<TimedValue> counterJoules,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        TariffSchedule schedule,
        double pue)
    {
        EnergyIntegration.EnsureTimeOrder(counterJoules, nameof(counterJoules));
        EnsureWindow(windowStart, windowEnd, schedule, pue);
        var sum = new Accumulator(schedule, pue);
        for (int i = 1; i < counterJoules.Length; i++)
        {
            TimedValue from = counterJoules[i - 1];
            TimedValue to = counterJoules[i];
            double deltaJoules = EnergyIntegration.CounterDelta(from.Value, to.Value);
            double seconds = (to.Time - from.Time).TotalSeconds;
            if (seconds > 0)
            {
                double powerWatts = deltaJoules / seconds;
                sum.AddLinear(from.Time, powerWatts, to.Time, powerWatts, windowStart, windowEnd);
            }
            else if (to.Time >= windowStart && to.Time < windowEnd)
            {
                sum.AddAt(to.Time, deltaJoules);
            }
        }

        return sum.Result;
    }

    /// <summary>Cost of a constant power over the whole window, e.g. the non-GPU power of a node from the pricing file.</summary>
    public static EnergyCostResult OfConstantPower(
        double powerWatts,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        TariffSchedule schedule,
        double pue)
    {
        EnsureWindow(windowStart, windowEnd, schedule, pue);
        var sum = new Accumulator(schedule, pue);
        sum.AddLinear(windowStart, powerWatts, windowEnd, powerWatts, windowStart, windowEnd);
        return sum.Result;
    }

    private static void EnsureWindow(DateTimeOffset windowStart, DateTimeOffset windowEnd, TariffSchedule schedule, double pue)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (windowEnd < windowStart)
        {
            throw new ArgumentException("The window ends before it starts.", nameof(windowEnd));
        }

        if (schedule.Start > windowStart || schedule.End < windowEnd)
        {
            throw new ArgumentException("The tariff schedule does not cover the window.", nameof(schedule));
        }

        if (!(pue >= 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(pue), pue, "PUE must be at least 1.");
        }
    }

    private struct Accumulator(TariffSchedule schedule, double pue)
    {
        private double _energyJoules;
        private double _costUsd;
        private double _co2eGrams;

        public readonly EnergyCostResult Result => new(_energyJoules, _energyJoules * pue, _costUsd, _co2eGrams);

        /// <summary>Adds power varying linearly from <paramref name="p0"/> at t0 to <paramref name="p1"/> at t1, clipped to [lo, hi).</summary>
        public void AddLinear(DateTimeOffset t0, double p0, DateTimeOffset t1, double p1, DateTimeOffset lo, DateTimeOffset hi)
        {
            DateTimeOffset a = t0 > lo ? t0 : lo;
            DateTimeOffset b = t1 < hi ? t1 : hi;
            if (b <= a)
            {
                return;
            }

            double spanSeconds = (t1 - t0).TotalSeconds;
            double slope = (p1 - p0) / spanSeconds;
            IReadOnlyList<TariffInterval> intervals = schedule.Intervals;
            for (int k = schedule.IndexOf(a); k < intervals.Count; k++)
            {
                TariffInterval interval = intervals[k];
                DateTimeOffset pieceStart = interval.Start > a ? interval.Start : a;
                DateTimeOffset pieceEnd = interval.End < b ? interval.End : b;
                if (pieceEnd > pieceStart)
                {
                    double powerStart = p0 + (slope * (pieceStart - t0).TotalSeconds);
                    double powerEnd = p0 + (slope * (pieceEnd - t0).TotalSeconds);
                    double joules = (powerStart + powerEnd) * 0.5 * (pieceEnd - pieceStart).TotalSeconds;
                    _energyJoules += joules;
                    _costUsd += joules * pue / JoulesPerKilowattHour * interval.UsdPerKilowattHour;
                    _co2eGrams += joules * pue / JoulesPerKilowattHour * interval.Co2eGramsPerKilowattHour;
                }

                if (interval.End >= b)
                {
                    break;
                }
            }
        }

        /// <summary>Adds energy used at one instant (two counter readings with the same time).</summary>
        public void AddAt(DateTimeOffset instant, double joules)
        {
            TariffInterval interval = schedule.Intervals[schedule.IndexOf(instant)];
            _energyJoules += joules;
            _costUsd += joules * pue / JoulesPerKilowattHour * interval.UsdPerKilowattHour;
            _co2eGrams += joules * pue / JoulesPerKilowattHour * interval.Co2eGramsPerKilowattHour;
        }
    }
}
