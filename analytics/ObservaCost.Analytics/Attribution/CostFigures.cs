using ObservaCost.Analytics.Energy;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// The per-token and per-energy ratios of a cost window, derived from its sums. One definition for freshly computed
/// windows and for windows summed over a longer period when read back, so both always agree.
/// </summary>
public static class CostFigures
{
    public static CostWindow WithRatios(CostWindow sums)
    {
        ArgumentNullException.ThrowIfNull(sums);
        long tokens = sums.PromptTokens + sums.CompletionTokens;
        double kilowattHours = sums.FacilityEnergyJoules / EnergyCost.JoulesPerKilowattHour;
        return sums with
        {
            CostPerMillionTokensUsd = tokens > 0 ? sums.CostUsd / tokens * 1e6 : null,
            CostPerMillionPromptTokensUsd = sums.PromptTokens > 0 ? sums.PromptCostUsd / sums.PromptTokens * 1e6 : null,
            CostPerMillionCompletionTokensUsd = sums.CompletionTokens > 0 ? sums.CompletionCostUsd / sums.CompletionTokens * 1e6 : null,
            TokensPerKilowattHour = tokens > 0 && kilowattHours > 0 ? tokens / kilowattHours : null,
            JoulesPerToken = tokens > 0 ? sums.FacilityEnergyJoules / tokens : null,
            TokensPerGpuHour = tokens > 0 && sums.GpuHours > 0 ? tokens / sums.GpuHours : null,
            CapacityUtilizationRatio = sums.MaxTokens > 0 ? tokens / sums.MaxTokens : null,
            Co2eGramsPerMillionTokens = Co2eGramsPerMillionTokens(sums.Co2eGrams, tokens),
        };
    }

    /// <summary>gCO2e per one million tokens: the one formula for cost windows and KPIs; null without tokens or carbon.</summary>
    public static double? Co2eGramsPerMillionTokens(double? co2eGrams, long tokens) =>
        co2eGrams is double grams && tokens > 0 ? grams / tokens * 1e6 : null;

    /// <summary>A carbon sum as stored: null when unknown (NaN, from an hour or a window without a carbon intensity).</summary>
    public static double? KnownCarbon(double grams) => double.IsFinite(grams) ? grams : null;

    /// <summary>
    /// A carbon sum of several windows: null when any window summed lacks it (computed before carbon existed, or
    /// without an intensity), as <see cref="OpexAndRental"/> does for rental, so a missing figure never reads as zero.
    /// </summary>
    public static double? CarbonSum(double sum, bool everyWindowHasIt) => everyWindowHasIt ? sum : null;

    /// <summary>
    /// Opex and rental of a sum of cost windows. When every window summed carries its rental apart, both are returned
    /// as summed; when one was computed before rental was split from opex (no <c>rental_usd</c> field, its rental
    /// inside its opex), the rental of the others is added to opex and rental is null ("inside opex"), so capex + opex +
    /// rental + energy is the cost either way and a missing rental never reads as zero.
    /// </summary>
    public static (double OpexUsd, double? RentalUsd) OpexAndRental(double opexUsd, double rentalUsd, bool everyWindowSplit) =>
        everyWindowSplit ? (opexUsd, rentalUsd) : (opexUsd + rentalUsd, null);
}
