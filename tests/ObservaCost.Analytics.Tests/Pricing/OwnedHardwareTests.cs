using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Pricing;

public sealed class OwnedHardwareTests
{
    [Fact]
    public void CapexUsdPerGpuHour_ThirtyThousandFourYears_IsStraightLineOverHours()
    {
        var owned = new OwnedHardware(30_000, 3_000, 4, 0.35);

        // (30,000 − 3,000) / (4 × 8,760) = 27,000 / 35,040 = 0.770547945205479…
        Precision.Close(27_000.0 / 35_040.0, owned.CapexUsdPerGpuHour);
        Precision.Close(0.7705479452054794, owned.CapexUsdPerGpuHour);
    }

    [Fact]
    public void HardwareUsdPerGpuHour_Owned_IsCapexPlusOpex()
    {
        var entry = new PriceEntry("gpus.L40S", new OwnedHardware(9_000, 900, 3, 0.15), null);

        // 8,100 / 26,280 = 0.308219178…; + 0.15
        Precision.Close((8_100.0 / 26_280.0) + 0.15, entry.HardwareUsdPerGpuHour);
        Assert.True(entry.EnergyBilledSeparately);
    }

    [Fact]
    public void HardwareUsdPerGpuHour_RentedWithEnergy_IsRentalAndEnergyNotBilled()
    {
        var entry = new PriceEntry("default", null, new RentedHardware(2.5, RentalCommitment.OnDemand, EnergyIncluded: true));

        Precision.Close(2.5, entry.HardwareUsdPerGpuHour);
        Assert.Equal(0.0, entry.CapexUsdPerGpuHour);
        Assert.False(entry.EnergyBilledSeparately);
    }
}
