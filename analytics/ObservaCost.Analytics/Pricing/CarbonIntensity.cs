namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// The grid's carbon intensity over time, in gCO2e per kWh of facility energy: a fixed value, a time-of-use schedule
/// (the tariff's own mechanism, <see cref="EnergyTariff"/>, its rates read as gCO2e/kWh), or an hourly table from a CSV
/// file (UTC hours) that falls back to the fixed value or schedule for hours it lacks. An instant with no value is
/// <see cref="double.NaN"/>: the carbon of a window that touches it is unknown, never zero.
/// </summary>
public sealed class CarbonIntensity
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly IReadOnlyDictionary<DateTimeOffset, double> _hourly;

    /// <param name="schedule">The fixed value (a schedule with no periods) or time-of-use schedule, rates in gCO2e/kWh; null when only the hourly file gives values.</param>
    /// <param name="hourly">gCO2e/kWh by the UTC hour it starts; empty without an hourly file.</param>
    /// <param name="hourlyFile">The hourly file as written in the pricing file, for listings; null without one.</param>
    /// <param name="source">Where the figures come from, as the pricing file names it (e.g. "Electricity Maps DE 2025"); null when not named.</param>
    public CarbonIntensity(EnergyTariff? schedule, IReadOnlyDictionary<DateTimeOffset, double> hourly, string? hourlyFile, string? source)
    {
        ArgumentNullException.ThrowIfNull(hourly);
        if (schedule is null && hourly.Count == 0)
        {
            throw new ArgumentException("Carbon intensity needs a fixed value, a schedule or an hourly table.", nameof(hourly));
        }

        Schedule = schedule;
        _hourly = hourly;
        HourlyFile = hourlyFile;
        Source = source;
    }

    /// <summary>One intensity at every instant.</summary>
    public static CarbonIntensity Fixed(double gramsCo2ePerKilowattHour) => new(EnergyTariff.Flat(gramsCo2ePerKilowattHour), new Dictionary<DateTimeOffset, double>(), null, null);

    /// <summary>The fixed value or time-of-use schedule (its rates are gCO2e/kWh), or null.</summary>
    public EnergyTariff? Schedule { get; }

    /// <summary>The hourly values by UTC hour start.</summary>
    public IReadOnlyDictionary<DateTimeOffset, double> Hourly => _hourly;

    public string? HourlyFile { get; }

    public string? Source { get; }

    /// <summary>The intensity's form in words, for listings and report notes (e.g. "hourly file grid.csv (8760 hours), else fixed 350 gCO2e/kWh").</summary>
    public string Describe()
    {
        string? schedule = Schedule is null ? null
            : Schedule.Periods.Count == 0
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"fixed {Schedule.BaseUsdPerKilowattHour:0.###} gCO2e/kWh")
                : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"time-of-use schedule ({Schedule.Periods.Count} periods, {Schedule.TimeZone.Id}, base {Schedule.BaseUsdPerKilowattHour:0.###} gCO2e/kWh)");
        string text = HourlyFile is null
            ? schedule!
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"hourly file {HourlyFile} ({_hourly.Count} hours), else {schedule ?? "unknown (no fallback)"}");
        return Source is null ? text : Source + ": " + text;
    }

    /// <summary>The intensity in gCO2e/kWh at an instant; NaN when the hourly file lacks the hour and nothing else gives it.</summary>
    public double GramsCo2ePerKilowattHourAt(DateTimeOffset instant)
    {
        if (_hourly.Count > 0)
        {
            long ticks = instant.UtcTicks;
            var hour = new DateTimeOffset(ticks - (ticks % Hour.Ticks), TimeSpan.Zero);
            if (_hourly.TryGetValue(hour, out double grams))
            {
                return grams;
            }
        }

        return Schedule?.UsdPerKilowattHourAt(instant) ?? double.NaN;
    }

    /// <summary>True when the intensity is the same at every instant (a fixed value alone).</summary>
    public bool IsConstant => _hourly.Count == 0 && Schedule is { Periods.Count: 0 };

    /// <summary>The UTC hours in [start, end) the intensity is unknown for (the hourly file lacks them and there is no fallback).</summary>
    public IReadOnlyList<DateTimeOffset> MissingHours(DateTimeOffset start, DateTimeOffset end)
    {
        var missing = new List<DateTimeOffset>();
        if (Schedule is not null)
        {
            return missing;
        }

        long ticks = start.UtcTicks;
        for (var hour = new DateTimeOffset(ticks - (ticks % Hour.Ticks), TimeSpan.Zero); hour < end; hour += Hour)
        {
            if (!_hourly.ContainsKey(hour))
            {
                missing.Add(hour);
            }
        }

        return missing;
    }
}

/// <summary>
/// Embodied carbon of one GPU (manufacture and transport, its share of the server), amortised straight-line like capex:
/// kgCO2e / (years × 8,760) per GPU-hour.
/// </summary>
/// <param name="KgCo2ePerGpu">Embodied carbon of one GPU, kgCO2e.</param>
/// <param name="AmortisationYears">The years it is spread over; a year is 8,760 hours.</param>
public sealed record EmbodiedCarbon(double KgCo2ePerGpu, double AmortisationYears)
{
    /// <summary>kgCO2e / (years × 8,760), in grams per GPU-hour.</summary>
    public double GramsCo2ePerGpuHour => KgCo2ePerGpu * 1000.0 / (AmortisationYears * OwnedHardware.HoursPerYear);
}
