using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Pricing;

public sealed class EnergyTariffTests
{
    private static readonly DayOfWeek[] Weekdays = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    private static EnergyTariff Tariff(string zone, int startHour, int endHour, params DayOfWeek[] days)
    {
        IReadOnlySet<DayOfWeek> set = days.Length == 0 ? Enum.GetValues<DayOfWeek>().ToHashSet() : days.ToHashSet();
        return new EnergyTariff(0.10, [new TariffPeriod("peak", 0.30, startHour, endHour, set)], TimeZoneInfo.FindSystemTimeZoneById(zone));
    }

    [Fact]
    public void UsdPerKilowattHourAt_Flat_IsTheSameAtEveryInstant()
    {
        EnergyTariff tariff = EnergyTariff.Flat(0.12);

        Assert.Equal(0.12, tariff.UsdPerKilowattHourAt(Utc(1, 1, 0)));
        Assert.Equal(0.12, tariff.UsdPerKilowattHourAt(Utc(7, 4, 13, 37)));
        Assert.Single(tariff.ScheduleFor(Utc(1, 1, 0), Utc(2, 1, 0)).Intervals);
    }

    [Fact]
    public void UsdPerKilowattHourAt_WeekdayPeriodUtc_StartInclusiveEndExclusive()
    {
        EnergyTariff tariff = Tariff("UTC", 8, 20, Weekdays);

        // 2026-11-23 is a Monday, 2026-11-22 a Sunday.
        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(11, 23, 7, 59)));
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(11, 23, 8)));
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(11, 23, 19, 59)));
        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(11, 23, 20)));
        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(11, 22, 12)));
    }

    [Fact]
    public void UsdPerKilowattHourAt_SpringForwardInBerlin_FollowsLocalWallClock()
    {
        // 2026-03-29 01:00 UTC: 02:00 CET jumps to 03:00 CEST. Peak is local [03:00, 06:00).
        EnergyTariff tariff = Tariff("Europe/Berlin", 3, 6);

        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(3, 29, 0, 59)));  // 01:59 CET
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(3, 29, 1)));      // 03:00 CEST
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(3, 29, 3, 59)));  // 05:59 CEST
        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(3, 29, 4)));      // 06:00 CEST
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(3, 28, 2)));      // 03:00 CET the day before
    }

    [Fact]
    public void ScheduleFor_SpringForwardInBerlin_ChangesAtUtcInstants()
    {
        EnergyTariff tariff = Tariff("Europe/Berlin", 3, 6);

        TariffSchedule schedule = tariff.ScheduleFor(Utc(3, 29, 0), Utc(3, 29, 6));

        Assert.Equal(
            [
                new TariffInterval(Utc(3, 29, 0), Utc(3, 29, 1), 0.10),
                new TariffInterval(Utc(3, 29, 1), Utc(3, 29, 4), 0.30),
                new TariffInterval(Utc(3, 29, 4), Utc(3, 29, 6), 0.10),
            ],
            schedule.Intervals);
    }

    [Fact]
    public void ScheduleFor_FallBackInBerlin_RepeatedLocalHourPricedTwice()
    {
        // 2026-10-25 01:00 UTC: 03:00 CEST falls back to 02:00 CET. Peak is local [02:00, 03:00), which now occurs twice.
        EnergyTariff tariff = Tariff("Europe/Berlin", 2, 3);

        TariffSchedule schedule = tariff.ScheduleFor(Utc(10, 24, 23), Utc(10, 25, 3));

        Assert.Equal(
            [
                new TariffInterval(Utc(10, 24, 23), Utc(10, 25, 0), 0.10),
                new TariffInterval(Utc(10, 25, 0), Utc(10, 25, 2), 0.30),
                new TariffInterval(Utc(10, 25, 2), Utc(10, 25, 3), 0.10),
            ],
            schedule.Intervals);
    }

    [Fact]
    public void ScheduleFor_FixedHalfHourOffset_SplitsAtQuarterHourAndClipsToRange()
    {
        EnergyTariff tariff = PricingFileReader.Parse("""
            { "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1, "utcOffset": "+05:30",
                "periods": [ { "name": "day", "usdPerKilowattHour": 0.3, "startHour": 9, "endHour": 17 } ] } },
              "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": false } } }
            """).Energy.Tariff;

        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(6, 1, 3, 29)));
        Assert.Equal(0.30, tariff.UsdPerKilowattHourAt(Utc(6, 1, 3, 30)));  // 09:00 at +05:30
        Assert.Equal(0.10, tariff.UsdPerKilowattHourAt(Utc(6, 1, 11, 30))); // 17:00 at +05:30
        Assert.Equal(
            [
                new TariffInterval(Utc(6, 1, 3, 10), Utc(6, 1, 3, 30), 0.10),
                new TariffInterval(Utc(6, 1, 3, 30), Utc(6, 1, 3, 50), 0.30),
            ],
            tariff.ScheduleFor(Utc(6, 1, 3, 10), Utc(6, 1, 3, 50)).Intervals);
    }
}
