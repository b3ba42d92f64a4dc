namespace ObservaCost.Analytics.Pricing;

/// <summary>Hardware the operator owns: straight-line depreciation to a salvage value, plus operating cost.</summary>
/// <param name="PurchaseUsd">Purchase price per GPU, its share of server, network and storage included.</param>
/// <param name="SalvageUsd">Value per GPU at the end of the depreciation period.</param>
/// <param name="DepreciationYears">Straight-line depreciation period; a year is 8,760 hours.</param>
/// <param name="OpexUsdPerGpuHour">Colocation, maintenance and staff per GPU-hour, energy excluded.</param>
public sealed record OwnedHardware(double PurchaseUsd, double SalvageUsd, double DepreciationYears, double OpexUsdPerGpuHour)
{
    /// <summary>Hours in a depreciation year (365 days; leap days are not counted).</summary>
    public const double HoursPerYear = 8760.0;

    /// <summary>(purchase − salvage) / (years × 8,760).</summary>
    public double CapexUsdPerGpuHour => ComputeCapexUsdPerGpuHour(PurchaseUsd, SalvageUsd, DepreciationYears);

    public static double ComputeCapexUsdPerGpuHour(double purchaseUsd, double salvageUsd, double depreciationYears)
    {
        return (purchaseUsd - salvageUsd) / (depreciationYears * HoursPerYear);
    }
}

/// <summary>How a rented GPU is committed; a label, the price is what counts.</summary>
public enum RentalCommitment
{
    OnDemand,
    Reserved,
    Spot,
}

/// <summary>Hardware rented by the GPU-hour.</summary>
/// <param name="UsdPerGpuHour">Rental price per GPU-hour.</param>
/// <param name="Commitment">On-demand, reserved or spot.</param>
/// <param name="EnergyIncluded">Whether the rental price already pays for the energy.</param>
public sealed record RentedHardware(double UsdPerGpuHour, RentalCommitment Commitment, bool EnergyIncluded);

/// <summary>The price of one GPU model or pool: exactly one of <see cref="Owned"/> and <see cref="Rented"/> is set.</summary>
/// <param name="Key">Where the entry came from: <c>pools.NAME</c>, <c>gpus.MODEL</c> or <c>default</c>.</param>
/// <param name="Owned">Owned-hardware prices, or null for rented hardware.</param>
/// <param name="Rented">Rental prices, or null for owned hardware.</param>
public sealed record PriceEntry(string Key, OwnedHardware? Owned, RentedHardware? Rented)
{
    public double CapexUsdPerGpuHour => Owned?.CapexUsdPerGpuHour ?? 0.0;

    public double OpexUsdPerGpuHour => Owned?.OpexUsdPerGpuHour ?? 0.0;

    public double RentalUsdPerGpuHour => Rented?.UsdPerGpuHour ?? 0.0;

    /// <summary>Capex + opex for owned hardware, the rental price for rented hardware; energy is priced separately.</summary>
    public double HardwareUsdPerGpuHour => CapexUsdPerGpuHour + OpexUsdPerGpuHour + RentalUsdPerGpuHour;

    /// <summary>The GPU's embodied carbon, amortised per GPU-hour; null when the entry gives none.</summary>
    public EmbodiedCarbon? Embodied { get; init; }

    /// <summary>Embodied gCO2e per GPU-hour (0 when the entry gives none).</summary>
    public double EmbodiedCo2eGramsPerGpuHour => Embodied?.GramsCo2ePerGpuHour ?? 0.0;

    /// <summary>False when a rental price already includes the energy, so energy must not be charged again.</summary>
    public bool EnergyBilledSeparately => Rented is null || !Rented.EnergyIncluded;
}

/// <summary>When a GPU counts as idle: utilization below the threshold for at least the minimum duration.</summary>
public sealed record IdleThresholds(double UtilizationPercent, TimeSpan MinimumDuration)
{
    public static IdleThresholds Default { get; } = new(5.0, TimeSpan.FromMinutes(5));
}

/// <summary>Facility energy pricing: PUE, the tariff and the optional non-GPU node power.</summary>
/// <param name="Pue">Power usage effectiveness of the facility, at least 1.</param>
/// <param name="NodePowerWatts">Non-GPU power per node (CPU, memory, fans, NICs), when it is not measured.</param>
/// <param name="Tariff">The price of energy over time.</param>
public sealed record EnergyPricing(double Pue, double? NodePowerWatts, EnergyTariff Tariff)
{
    /// <summary>The grid's carbon intensity; null when the pricing file has no <c>carbon</c> section (carbon is then unknown).</summary>
    public CarbonIntensity? Carbon { get; init; }

    /// <summary>
    /// The tariff and the carbon intensity over [<paramref name="start"/>, <paramref name="end"/>) as one schedule:
    /// an interval ends wherever either changes, so energy integrated over it is priced and carbon-accounted together.
    /// </summary>
    public TariffSchedule ScheduleFor(DateTimeOffset start, DateTimeOffset end)
    {
        if (Carbon is not { } carbon)
        {
            return Tariff.ScheduleFor(start, end);
        }

        if (Tariff.Periods.Count == 0 && carbon.IsConstant)
        {
            return new TariffSchedule([new TariffInterval(start, end, Tariff.BaseUsdPerKilowattHour, carbon.GramsCo2ePerKilowattHourAt(start))]);
        }

        return TariffSchedule.Stepwise(start, end, quarter => (Tariff.UsdPerKilowattHourAt(quarter), carbon.GramsCo2ePerKilowattHourAt(quarter)));
    }
}
