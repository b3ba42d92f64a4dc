using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Energy;

public sealed class EnergyCostTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    // Base 0.10 $/kWh, 0.30 $/kWh every day for UTC hours [8, 20).
    private static readonly EnergyTariff UtcPeak = new(
        0.10,
        [new TariffPeriod("peak", 0.30, 8, 20, Enum.GetValues<DayOfWeek>().ToHashSet())],
        TimeZoneInfo.Utc);

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void OfPowerSamples_RampAcrossPeriodBoundary_PricesEachPartAtItsRate()
    {
        // 0 W at 07:30 rising linearly to 3,600 W at 08:30; 1,800 W at the 08:00 boundary.
        // Before: mean 900 W × 1,800 s = 1.62 MJ = 0.45 kWh at 0.10; after: mean 2,700 W × 1,800 s = 4.86 MJ = 1.35 kWh at 0.30.
        // PUE 1.2: cost = (0.045 + 0.405) × 1.2 = 0.54 $; facility energy = 6.48 MJ × 1.2 = 7.776 MJ.
        DateTimeOffset start = Utc(6, 1, 7, 30);
        DateTimeOffset end = Utc(6, 1, 8, 30);

        EnergyCostResult result = EnergyCost.OfPowerSamples(
            [new(start, 0), new(end, 3_600)], Hour, start, end, UtcPeak.ScheduleFor(start, end), pue: 1.2);

        Precision.Close(6_480_000.0, result.EnergyJoules);
        Precision.Close(7_776_000.0, result.FacilityEnergyJoules);
        Precision.Close(0.54, result.CostUsd);
    }

    [Fact]
    public void OfPowerSamples_SpringForwardInBerlin_PricesTheHourAfterTheJumpAsPeak()
    {
        // Peak is local [03:00, 06:00) in Berlin. On 2026-03-29, 00:00–01:00 UTC is 01:00–02:00 CET (base) and
        // 01:00–02:00 UTC is 03:00–04:00 CEST (peak). 1,000 W for 2 h with samples straddling 01:00 UTC:
        // 1 kWh × 1.5 × 0.10 + 1 kWh × 1.5 × 0.30 = 0.60 $. A fixed +01:00 would have priced both hours at base (0.30 $).
        var tariff = new EnergyTariff(
            0.10,
            [new TariffPeriod("morning", 0.30, 3, 6, Enum.GetValues<DayOfWeek>().ToHashSet())],
            TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        DateTimeOffset start = Utc(3, 29, 0);
        DateTimeOffset end = Utc(3, 29, 2);
        TimedValue[] samples = [new(start, 1_000), new(Utc(3, 29, 0, 45), 1_000), new(Utc(3, 29, 1, 15), 1_000), new(end, 1_000)];

        EnergyCostResult result = EnergyCost.OfPowerSamples(samples, Hour, start, end, tariff.ScheduleFor(start, end), pue: 1.5);

        Precision.Close(7_200_000.0, result.EnergyJoules);
        Precision.Close(0.60, result.CostUsd);
    }

    [Fact]
    public void OfPowerSamples_SamplesBeyondWindow_ClipsByInterpolation()
    {
        // 0 W at 00:00 to 3,600 W at 01:00; window [00:15, 00:45): 900 W → 2,700 W, mean 1,800 W × 1,800 s = 3.24 MJ = 0.9 kWh.
        DateTimeOffset windowStart = Utc(6, 1, 0, 15);
        DateTimeOffset windowEnd = Utc(6, 1, 0, 45);

        EnergyCostResult result = EnergyCost.OfPowerSamples(
            [new(Utc(6, 1, 0), 0), new(Utc(6, 1, 1), 3_600)], Hour, windowStart, windowEnd, UtcPeak.ScheduleFor(windowStart, windowEnd), pue: 1.0);

        Precision.Close(3_240_000.0, result.EnergyJoules);
        Precision.Close(0.09, result.CostUsd);
    }

    [Fact]
    public void OfPowerSamples_GapLongerThanLimit_CountsNothingAcrossIt()
    {
        // 1,000 W; 00:00–00:10 and 00:50–01:00 count (600 kJ each); the 40 min gap exceeds 15 min.
        DateTimeOffset start = Utc(6, 1, 0);
        DateTimeOffset end = Utc(6, 1, 1);
        TimedValue[] samples = [new(start, 1_000), new(Utc(6, 1, 0, 10), 1_000), new(Utc(6, 1, 0, 50), 1_000), new(end, 1_000)];

        EnergyCostResult result = EnergyCost.OfPowerSamples(samples, TimeSpan.FromMinutes(15), start, end, UtcPeak.ScheduleFor(start, end), pue: 1.0);

        Precision.Close(1_200_000.0, result.EnergyJoules);
        Precision.Close(EnergyIntegration.TrapezoidJoules(samples, TimeSpan.FromMinutes(15)), result.EnergyJoules);
        Precision.Close(1_200_000.0 / 3.6e6 * 0.10, result.CostUsd);
    }

    [Fact]
    public void OfCounterSamples_ResetAcrossBoundary_SpreadsEachDeltaOverItsInterval()
    {
        // 07:30 → 08:00: +3.6 MJ (1 kWh, base 0.10); 08:00 → 08:30: drop to 3.6 MJ is a reset, +3.6 MJ (1 kWh, peak 0.30).
        DateTimeOffset start = Utc(6, 1, 7, 30);
        DateTimeOffset end = Utc(6, 1, 8, 30);
        TimedValue[] counter = [new(start, 5_000_000), new(Utc(6, 1, 8), 8_600_000), new(end, 3_600_000)];

        EnergyCostResult result = EnergyCost.OfCounterSamples(counter, start, end, UtcPeak.ScheduleFor(start, end), pue: 1.0);

        Precision.Close(7_200_000.0, result.EnergyJoules);
        Precision.Close(EnergyIntegration.CounterIncreaseJoules(counter), result.EnergyJoules);
        Precision.Close(0.40, result.CostUsd);
    }

    [Fact]
    public void OfCounterSamples_DeltaStraddlingBoundary_IsSharedInProportion()
    {
        // 2 kWh between 07:30 and 08:30, evenly: 1 kWh at 0.10 and 1 kWh at 0.30; PUE 1.25 → 0.50 $.
        DateTimeOffset start = Utc(6, 1, 7, 30);
        DateTimeOffset end = Utc(6, 1, 8, 30);

        EnergyCostResult result = EnergyCost.OfCounterSamples(
            [new(start, 1_000_000), new(end, 8_200_000)], start, end, UtcPeak.ScheduleFor(start, end), pue: 1.25);

        Precision.Close(9_000_000.0, result.FacilityEnergyJoules);
        Precision.Close(0.50, result.CostUsd);
    }

    [Fact]
    public void OfConstantPower_NodePowerPlusGpu_FacilityEnergyIsSumTimesPue()
    {
        // Node 800 W for 07:30–08:30: 0.4 kWh at 0.10 + 0.4 kWh at 0.30 = 0.16 $ × 1.3 = 0.208 $.
        // GPU 400 W constant: 0.2 kWh at 0.10 + 0.2 kWh at 0.30 = 0.08 $ × 1.3 = 0.104 $.
        DateTimeOffset start = Utc(6, 1, 7, 30);
        DateTimeOffset end = Utc(6, 1, 8, 30);
        TariffSchedule schedule = UtcPeak.ScheduleFor(start, end);

        EnergyCostResult node = EnergyCost.OfConstantPower(800, start, end, schedule, pue: 1.3);
        EnergyCostResult gpu = EnergyCost.OfPowerSamples([new(start, 400), new(end, 400)], Hour, start, end, schedule, pue: 1.3);
        EnergyCostResult total = node + gpu;

        Precision.Close(0.208, node.CostUsd);
        Precision.Close(3_744_000.0, node.FacilityEnergyJoules);
        Precision.Close(4_320_000.0, total.EnergyJoules);
        Precision.Close(4_320_000.0 * 1.3, total.FacilityEnergyJoules);
        Precision.Close(0.312, total.CostUsd);
    }

    [Fact]
    public void OfPowerSamples_ScheduleNotCoveringWindow_Throws()
    {
        DateTimeOffset start = Utc(6, 1, 7);
        TariffSchedule schedule = UtcPeak.ScheduleFor(start, start.AddMinutes(30));

        Assert.Throws<ArgumentException>(() => EnergyCost.OfPowerSamples([], Hour, start, start.AddHours(1), schedule, pue: 1.0));
    }

    [Fact]
    public void OfPowerSamples_PueBelowOne_Throws()
    {
        DateTimeOffset start = Utc(6, 1, 7);
        TariffSchedule schedule = UtcPeak.ScheduleFor(start, start.AddHours(1));

        Assert.Throws<ArgumentOutOfRangeException>(() => EnergyCost.OfPowerSamples([], Hour, start, start.AddHours(1), schedule, pue: 0.9));
    }
}
