using ObservaCost.Analytics.Energy;

namespace ObservaCost.Analytics.Tests.Energy;

public sealed class EnergyIntegrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static TimedValue At(double seconds, double value) => new(T0.AddSeconds(seconds), value);

    [Fact]
    public void CounterIncreaseJoules_Monotonic_IsLastMinusFirst()
    {
        Precision.Close(700.0, EnergyIntegration.CounterIncreaseJoules([At(0, 1_000), At(10, 1_300), At(20, 1_700)]));
    }

    [Fact]
    public void CounterIncreaseJoules_Reset_CountsValueAfterResetAsDelta()
    {
        // 100 → 300 (+200), drop to 50 is a reset (+50), 50 → 150 (+100).
        Precision.Close(350.0, EnergyIntegration.CounterIncreaseJoules([At(0, 100), At(10, 300), At(20, 50), At(30, 150)]));
    }

    [Fact]
    public void CounterIncreaseJoules_ResetToZero_CountsNothingForTheDrop()
    {
        Precision.Close(200.0, EnergyIntegration.CounterIncreaseJoules([At(0, 500), At(10, 600), At(20, 0), At(30, 100)]));
    }

    [Fact]
    public void CounterIncreaseJoules_FewerThanTwoSamples_IsZero()
    {
        Assert.Equal(0.0, EnergyIntegration.CounterIncreaseJoules([]));
        Assert.Equal(0.0, EnergyIntegration.CounterIncreaseJoules([At(0, 42)]));
    }

    [Fact]
    public void CounterIncreaseJoules_OutOfOrder_Throws()
    {
        Assert.Throws<ArgumentException>(() => EnergyIntegration.CounterIncreaseJoules([At(10, 1), At(0, 2)]));
    }

    [Fact]
    public void TrapezoidJoules_IrregularSamples_UsesActualSampleTimes()
    {
        // (100+200)/2 × 10 s + (200+200)/2 × 10 s + (200+400)/2 × 5 s = 1,500 + 2,000 + 1,500
        Precision.Close(5_000.0, EnergyIntegration.TrapezoidJoules([At(0, 100), At(10, 200), At(20, 200), At(25, 400)], TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void TrapezoidJoules_GapLongerThanLimit_IsNotBridged()
    {
        // 0–10 s and 100–110 s count (1,000 J each); the 90 s gap is longer than 30 s and counts nothing.
        Precision.Close(2_000.0, EnergyIntegration.TrapezoidJoules([At(0, 100), At(10, 100), At(100, 100), At(110, 100)], TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void TrapezoidJoules_GapEqualToLimit_IsBridged()
    {
        Precision.Close(3_000.0, EnergyIntegration.TrapezoidJoules([At(0, 100), At(30, 100)], TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void TrapezoidJoules_NonPositiveGapLimit_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EnergyIntegration.TrapezoidJoules([At(0, 1)], TimeSpan.Zero));
    }
}
