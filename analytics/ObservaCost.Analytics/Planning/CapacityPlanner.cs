namespace ObservaCost.Analytics.Planning;

/// <summary>Forecast demand of one model: tokens per hour with bounds, one entry per future hour.</summary>
public sealed record DemandForecast(string Model, DateTimeOffset FirstHour, IReadOnlyList<double> TokensPerHour, IReadOnlyList<double> LowerBound, IReadOnlyList<double> UpperBound);

/// <summary>What a model's fleet is today: GPUs serving it, their measured peak tokens/s per GPU, their cost per GPU-hour.</summary>
public sealed record ModelFleet(string Model, int Gpus, double TokensPerSecondPerGpu, double CostUsdPerGpuHour);

/// <summary>One future hour of one model: GPUs needed for the forecast (and its upper bound) and the idle capacity left.</summary>
public sealed record CapacityHour(
    string Model,
    DateTimeOffset Hour,
    double ForecastTokens,
    int GpusNeeded,
    int GpusNeededAtUpperBound,
    int GpusInFleet,
    double ProjectedIdleGpuHours,
    double ProjectedIdleCostUsd,
    double ShortfallGpus);

/// <summary>
/// Turns a token forecast into capacity: GPUs needed per hour = ⌈tokens / (peak tokens/s per GPU × 3,600 × target
/// utilization)⌉, and against the current fleet the GPU-hours and dollars that would sit idle (or the GPUs missing).
/// The target utilization keeps head-room: at 0.7 a GPU is planned for 70 % of its measured peak.
/// </summary>
public static class CapacityPlanner
{
    public static IReadOnlyList<CapacityHour> Plan(DemandForecast forecast, ModelFleet fleet, double targetUtilization)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        ArgumentNullException.ThrowIfNull(fleet);
        if (targetUtilization is not (> 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(targetUtilization), targetUtilization, "The target utilization must be in (0, 1].");
        }

        if (fleet.TokensPerSecondPerGpu <= 0)
        {
            throw new ArgumentException($"Model '{fleet.Model}' has no measured tokens/s per GPU to plan with.", nameof(fleet));
        }

        double tokensPerGpuHour = TokensPerGpuHour(fleet, targetUtilization);
        var hours = new List<CapacityHour>(forecast.TokensPerHour.Count);
        for (int h = 0; h < forecast.TokensPerHour.Count; h++)
        {
            double tokens = Math.Max(0, forecast.TokensPerHour[h]);
            int needed = GpusFor(tokens, tokensPerGpuHour);
            int neededHigh = GpusFor(Math.Max(0, forecast.UpperBound[h]), tokensPerGpuHour);
            double idle = Math.Max(0, fleet.Gpus - needed);
            hours.Add(new CapacityHour(
                fleet.Model,
                forecast.FirstHour.AddHours(h),
                tokens,
                needed,
                neededHigh,
                fleet.Gpus,
                idle,
                idle * fleet.CostUsdPerGpuHour,
                Math.Max(0, needed - fleet.Gpus)));
        }

        return hours;
    }

    /// <summary>The tokens one GPU of the fleet is planned to serve in an hour: peak tokens/s per GPU × 3,600 × target utilization.</summary>
    public static double TokensPerGpuHour(ModelFleet fleet, double targetUtilization)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return fleet.TokensPerSecondPerGpu * 3600 * targetUtilization;
    }

    /// <summary>⌈tokens / per-GPU⌉, with the quotient's last-bit rounding forgiven (0.7 × 10,800,000 is not exact).</summary>
    private static int GpusFor(double tokens, double tokensPerGpuHour) => (int)Math.Ceiling((tokens / tokensPerGpuHour) - 1e-9);
}
