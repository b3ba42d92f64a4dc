namespace ObservaCost.Analytics.Pricing;

/// <summary>A time-of-use period: a rate for local hours [<see cref="StartHour"/>, <see cref="EndHour"/>) on some days.</summary>
public sealed record TariffPeriod(string Name, double UsdPerKilowattHour, int StartHour, int EndHour, IReadOnlySet<DayOfWeek> Days)
{
    public bool Contains(DayOfWeek day, int hour) => hour >= StartHour && hour < EndHour && Days.Contains(day);
}

/// <summary>
/// An energy tariff: a base rate, and optional time-of-use periods in local wall-clock time of <see cref="TimeZone"/>.
/// Periods never overlap (the file is validated), so at most one applies at any instant; outside all periods the
/// base rate applies. The same class is the carbon intensity's time-of-use schedule (one mechanism): there its
/// rates are gCO2e/kWh, read through CarbonIntensity.
/// </summary>
/// <remarks>
/// Periods are whole local hours; local time comes from <see cref="TimeZoneInfo"/>, so daylight saving time is
/// followed: on the spring-forward day the skipped local hour does not occur, on the fall-back day the repeated
/// local hour is priced twice by the period that contains it. Every UTC offset must be a multiple of 15 minutes,
/// so the rate can only change at a UTC quarter-hour.
/// </remarks>
public sealed class EnergyTariff
{
    public EnergyTariff(double baseUsdPerKilowattHour, IReadOnlyList<TariffPeriod> periods, TimeZoneInfo timeZone)
    {
        ArgumentNullException.ThrowIfNull(periods);
        ArgumentNullException.ThrowIfNull(timeZone);
        BaseUsdPerKilowattHour = baseUsdPerKilowattHour;
        Periods = periods;
        TimeZone = timeZone;
    }

    /// <summary>A flat tariff: one rate at every instant.</summary>
    public static EnergyTariff Flat(double usdPerKilowattHour) => new(usdPerKilowattHour, [], TimeZoneInfo.Utc);

    public double BaseUsdPerKilowattHour { get; }

    public IReadOnlyList<TariffPeriod> Periods { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>The rate in USD/kWh that applies at an instant.</summary>
    public double UsdPerKilowattHourAt(DateTimeOffset instant)
    {
        if (Periods.Count == 0)
        {
            return BaseUsdPerKilowattHour;
        }

        DateTime local = TimeZoneInfo.ConvertTimeFromUtc(instant.UtcDateTime, TimeZone);
        foreach (TariffPeriod period in Periods)
        {
            if (period.Contains(local.DayOfWeek, local.Hour))
            {
                return period.UsdPerKilowattHour;
            }
        }

        return BaseUsdPerKilowattHour;
    }

    /// <summary>The rates over [<paramref name="start"/>, <paramref name="end"/>), as intervals of constant rate.</summary>
    public TariffSchedule ScheduleFor(DateTimeOffset start, DateTimeOffset end)
    {
        if (end < start)
        {
            throw new ArgumentException("The schedule ends before it starts.", nameof(end));
        }

        if (Periods.Count == 0 || end == start)
        {
            return new TariffSchedule([new TariffInterval(start, end, UsdPerKilowattHourAt(start))]);
        }

        return TariffSchedule.Stepwise(start, end, quarter => (UsdPerKilowattHourAt(quarter), double.NaN));
    }
}

/// <summary>A span of time [<see cref="Start"/>, <see cref="End"/>) with one rate and one grid carbon intensity.</summary>
/// <param name="Start">The first instant.</param>
/// <param name="End">The instant after the last.</param>
/// <param name="UsdPerKilowattHour">The tariff's rate.</param>
/// <param name="Co2eGramsPerKilowattHour">The grid's carbon intensity in gCO2e/kWh; NaN when unknown or not configured.</param>
public readonly record struct TariffInterval(DateTimeOffset Start, DateTimeOffset End, double UsdPerKilowattHour, double Co2eGramsPerKilowattHour = double.NaN);

/// <summary>Contiguous intervals of constant rate, in time order, covering [<see cref="Start"/>, <see cref="End"/>).</summary>
public sealed class TariffSchedule
{
    private static readonly TimeSpan Quarter = TimeSpan.FromMinutes(15);

    public TariffSchedule(IReadOnlyList<TariffInterval> intervals)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        if (intervals.Count == 0)
        {
            throw new ArgumentException("A schedule needs at least one interval.", nameof(intervals));
        }

        for (int i = 1; i < intervals.Count; i++)
        {
            if (intervals[i].Start != intervals[i - 1].End)
            {
                throw new ArgumentException("Schedule intervals must be contiguous and in time order.", nameof(intervals));
            }
        }

        Intervals = intervals;
    }

    public IReadOnlyList<TariffInterval> Intervals { get; }

    /// <summary>
    /// The schedule over [<paramref name="start"/>, <paramref name="end"/>) of rates that change only at UTC
    /// quarter-hours (time-of-use periods in zones with quarter-hour offsets, hourly carbon tables): the rates at each
    /// quarter-hour, equal neighbours merged. The one mechanism behind the tariff's and the carbon intensity's schedules.
    /// </summary>
    public static TariffSchedule Stepwise(DateTimeOffset start, DateTimeOffset end, Func<DateTimeOffset, (double UsdPerKilowattHour, double Co2eGramsPerKilowattHour)> ratesAt)
    {
        ArgumentNullException.ThrowIfNull(ratesAt);
        if (end < start)
        {
            throw new ArgumentException("The schedule ends before it starts.", nameof(end));
        }

        var intervals = new List<TariffInterval>();
        long startTicks = start.UtcTicks;
        var quarter = new DateTimeOffset(startTicks - (startTicks % Quarter.Ticks), TimeSpan.Zero);
        do
        {
            DateTimeOffset next = quarter + Quarter;
            DateTimeOffset pieceStart = quarter < start ? start : quarter;
            DateTimeOffset pieceEnd = next > end ? end : next;
            (double usd, double grams) = ratesAt(quarter);
            if (intervals.Count > 0 && intervals[^1].UsdPerKilowattHour.Equals(usd) && intervals[^1].Co2eGramsPerKilowattHour.Equals(grams))
            {
                intervals[^1] = intervals[^1] with { End = pieceEnd };
            }
            else
            {
                intervals.Add(new TariffInterval(pieceStart, pieceEnd, usd, grams));
            }

            quarter = next;
        }
        while (quarter < end);

        return new TariffSchedule(intervals);
    }

    public DateTimeOffset Start => Intervals[0].Start;

    public DateTimeOffset End => Intervals[^1].End;

    /// <summary>The index of the interval that contains <paramref name="instant"/> (the last one for its end).</summary>
    public int IndexOf(DateTimeOffset instant)
    {
        int lo = 0;
        int hi = Intervals.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (Intervals[mid].End <= instant)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
