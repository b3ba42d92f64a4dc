using ObservaCost.Analytics.Planning;

namespace ObservaCost.Analytics.Tests.Planning;

public sealed class CapacityPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Plan_ForecastAgainstFleet_GpusNeededIdleHoursAndDollarsByHand()
    {
        // 3,000 tokens/s per GPU at 70 % → 7,560,000 tokens per GPU-hour.
        var forecast = new DemandForecast("code-llm", T0,
            TokensPerHour: [15_924_948, 7_560_000, 0, 40_000_000],
            LowerBound: [12e6, 6e6, 0, 35e6],
            UpperBound: [20e6, 7_560_001, 1, 45e6]);
        var fleet = new ModelFleet("code-llm", Gpus: 4, TokensPerSecondPerGpu: 3000, CostUsdPerGpuHour: 1.1205479452054794);

        IReadOnlyList<CapacityHour> plan = CapacityPlanner.Plan(forecast, fleet, targetUtilization: 0.7);

        // ⌈15,924,948 / 7,560,000⌉ = 3 (2.106…); exactly 1; 0; ⌈5.29⌉ = 6.
        Assert.Equal([3, 1, 0, 6], plan.Select(p => p.GpusNeeded));
        Assert.Equal([3, 2, 1, 6], plan.Select(p => p.GpusNeededAtUpperBound));
        Assert.Equal([1.0, 3, 4, 0], plan.Select(p => p.ProjectedIdleGpuHours));
        Assert.Equal([0.0, 0, 0, 2], plan.Select(p => p.ShortfallGpus));
        Assert.Equal(8 * 1.1205479452054794, plan.Sum(p => p.ProjectedIdleCostUsd), 12);
        Assert.Equal(T0.AddHours(3), plan[3].Hour);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void Plan_TargetUtilizationOutOfRange_Throws(double target)
    {
        var forecast = new DemandForecast("m", T0, [1], [1], [1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => CapacityPlanner.Plan(forecast, new ModelFleet("m", 1, 100, 1), target));
    }
}
