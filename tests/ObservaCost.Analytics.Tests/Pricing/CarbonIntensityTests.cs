using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Pricing;

/// <summary>
/// Carbon of one GPU over the hour 16:30–17:30 UTC at a steady 400 W, PUE 1.5: 400 W × 0.5 h = 0.2 kWh at the GPU,
/// × 1.5 = 0.3 kWh of facility energy in each half hour (0.6 kWh in all), priced and carbon-accounted together.
/// </summary>
public sealed class CarbonIntensityTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 16, 30, 0, TimeSpan.Zero); // a Wednesday
    private static readonly DateTimeOffset End = Start.AddHours(1);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-carbon-" + Guid.NewGuid().ToString("N")[..8]);

    public CarbonIntensityTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Compute_ScheduleCrossing17h_EachHalfHourAtItsIntensity()
    {
        // 300 g/kWh until 17:00, 500 g/kWh from 17:00 (a period 17–24 in UTC):
        // 0.3 kWh × 300 = 90 g, then 0.3 kWh × 500 = 150 g: 240 g operational.
        PricingFile pricing = Parse("""
            "carbon": { "gco2ePerKilowattHour": 300, "timeZone": "UTC",
                        "periods": [ { "name": "evening", "gco2ePerKilowattHour": 500, "startHour": 17, "endHour": 24 } ] }
            """);

        GpuCostLine line = Single(pricing);

        Precision.Close(240.0, line.OperationalCo2eGrams);
        Assert.Equal(0.0, line.EmbodiedCo2eGrams);
        Precision.Close(0.6 * 3.6e6, line.FacilityEnergyJoules);
    }

    [Fact]
    public void Compute_ScheduleInBerlinTime_PeriodFollowsTheZone()
    {
        // The same boundary in Europe/Berlin (UTC+1 in November): 17:00 UTC is 18:00 local, so the period is 18–24 local.
        PricingFile pricing = Parse("""
            "carbon": { "gco2ePerKilowattHour": 300, "timeZone": "Europe/Berlin",
                        "periods": [ { "name": "evening", "gco2ePerKilowattHour": 500, "startHour": 18, "endHour": 24 } ] }
            """);

        Precision.Close(240.0, Single(pricing).OperationalCo2eGrams);
    }

    [Fact]
    public void Compute_HourlyFile_SameFiguresAsTheSchedule()
    {
        // The hours 16:00 (300) and 17:00 (500) UTC from a file: 90 g + 150 g = 240 g.
        File.WriteAllText(Path.Combine(_dir, "grid.csv"), "datetime,gco2e_per_kwh\n2026-11-25T16:00:00Z,300\n2026-11-25T17:00:00Z,500\n");
        PricingFile pricing = Parse("""
            "carbon": { "hourlyFile": "grid.csv", "source": "test grid" }
            """);

        Precision.Close(240.0, Single(pricing).OperationalCo2eGrams);
        Assert.Equal("test grid: hourly file grid.csv (2 hours), else unknown (no fallback)", pricing.Energy.Carbon!.Describe());
    }

    [Fact]
    public void Compute_ElectricityMapsExport_ReadsTheLifecycleColumn()
    {
        // An Electricity Maps hourly export's header; the LCA column is read (300, 500), the direct one (250, 450) is not.
        File.WriteAllText(Path.Combine(_dir, "DE_2026_hourly.csv"),
            "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method\n"
            + "2026-11-25 16:00:00,Germany,Germany,DE,250,300,50,45,entsoe.eu,false,\n"
            + "2026-11-25 17:00:00,Germany,Germany,DE,450,500,40,35,entsoe.eu,false,\n");
        PricingFile pricing = Parse("""
            "carbon": { "hourlyFile": "DE_2026_hourly.csv" }
            """);

        Precision.Close(240.0, Single(pricing).OperationalCo2eGrams);
    }

    [Fact]
    public void Compute_HourlyFileMissingAnHour_FallsBackToTheFixedValue()
    {
        // 17:00 is not in the file: 0.3 kWh × 300 + 0.3 kWh × 350 (the fixed value) = 90 + 105 = 195 g.
        File.WriteAllText(Path.Combine(_dir, "grid.csv"), "datetime,gco2e_per_kwh\n2026-11-25T16:00:00Z,300\n");
        PricingFile pricing = Parse("""
            "carbon": { "hourlyFile": "grid.csv", "gco2ePerKilowattHour": 350 }
            """);

        Precision.Close(195.0, Single(pricing).OperationalCo2eGrams);
    }

    [Fact]
    public void Compute_HourlyFileMissingAnHourWithoutFallback_CarbonUnknownNotZero()
    {
        File.WriteAllText(Path.Combine(_dir, "grid.csv"), "datetime,gco2e_per_kwh\n2026-11-25T16:00:00Z,300\n");
        PricingFile pricing = Parse("""
            "carbon": { "hourlyFile": "grid.csv" }
            """);

        Assert.True(double.IsNaN(Single(pricing).OperationalCo2eGrams));
        Assert.Equal([new DateTimeOffset(2026, 11, 25, 17, 0, 0, TimeSpan.Zero)], pricing.Energy.Carbon!.MissingHours(Start, End));
    }

    [Fact]
    public void Compute_FixedIntensityAndEmbodied_OperationalPlusAmortisedEmbodied()
    {
        // 0.6 kWh × 450 g/kWh = 270 g operational. Embodied 1,500 kg over 5 years: 1,500,000 g / (5 × 8,760 h)
        // = 1,500,000 / 43,800 = 34.246575342465754 g per GPU-hour (0.034246… kg), × 1 GPU-hour.
        PricingFile pricing = Parse("""
            "carbon": { "gco2ePerKilowattHour": 450 }
            """, """, "embodiedCarbon": { "kgCo2ePerGpu": 1500, "amortisationYears": 5 }""");

        GpuCostLine line = Single(pricing);

        Precision.Close(270.0, line.OperationalCo2eGrams);
        Precision.Close(1_500_000.0 / 43_800.0, line.EmbodiedCo2eGrams);
        Precision.Close(270.0 + 34.246575342465754, line.Co2eGrams);
        Precision.Close(0.034246575342465754, pricing.Resolve(null, "H100").EmbodiedCo2eGramsPerGpuHour / 1000);
    }

    [Fact]
    public void Compute_EmbodiedWithoutYears_UsesTheDepreciationYears()
    {
        // Owned over 4 years: 1,752 kg / (4 × 8,760 h) = 1,752,000 g / 35,040 h = 50 g per GPU-hour.
        PricingFile pricing = Parse("""
            "carbon": { "gco2ePerKilowattHour": 450 }
            """, """, "embodiedCarbon": { "kgCo2ePerGpu": 1752 }""");

        Precision.Close(50.0, Single(pricing).EmbodiedCo2eGrams);
    }

    [Fact]
    public void Compute_NoCarbonSection_CarbonUnknown()
    {
        PricingFile pricing = PricingFileReader.Parse("""
            { "energy": { "pue": 1.5, "tariff": { "usdPerKilowattHour": 0.1 } },
              "gpus": { "H100": { "owned": { "purchaseUsd": 30000, "depreciationYears": 4 } } } }
            """);

        GpuCostLine line = Single(pricing);

        Assert.True(double.IsNaN(line.OperationalCo2eGrams));
        Assert.True(double.IsNaN(line.Co2eGrams));
    }

    [Fact]
    public void Compute_IdleHalfHour_IdleCarbonIsThatHalfHoursCarbon()
    {
        // Busy until 17:00, idle (0 %) after: idle carbon = the 17:00–17:30 facility energy × 500 = 150 g, plus the
        // half GPU-hour's embodied carbon: 0.5 h × 1,500,000 / 43,800 g/h = 17.123287671232877 g.
        PricingFile pricing = Parse("""
            "carbon": { "gco2ePerKilowattHour": 300, "periods": [ { "name": "evening", "gco2ePerKilowattHour": 500, "startHour": 17, "endHour": 24 } ] }
            """, """, "embodiedCarbon": { "kgCo2ePerGpu": 1500, "amortisationYears": 5 }""");

        GpuWindowCost cost = Compute(pricing, idleAfter: Start.AddMinutes(30));

        Precision.Close(150.0 + (0.5 * 1_500_000.0 / 43_800.0), cost.IdleCo2eGrams);
        Assert.True(cost.IdleCo2eGrams <= cost.Lines.Sum(l => l.Co2eGrams));
    }

    private PricingFile Parse(string carbon, string embodied = "") => PricingFileReader.Parse(
        "{ \"energy\": { \"pue\": 1.5, \"tariff\": { \"usdPerKilowattHour\": 0.1 } }, " + carbon
        + ", \"gpus\": { \"H100\": { \"owned\": { \"purchaseUsd\": 30000, \"depreciationYears\": 4 }" + embodied + " } } }",
        _dir);

    private static GpuCostLine Single(PricingFile pricing) => Assert.Single(Compute(pricing, idleAfter: null).Lines);

    /// <summary>One H100 at a steady 400 W over the window, one model; utilization 100 % (0 % from <paramref name="idleAfter"/>).</summary>
    private static GpuWindowCost Compute(PricingFile pricing, DateTimeOffset? idleAfter)
    {
        var utilization = new List<TimedValue>();
        for (DateTimeOffset t = Start.AddMinutes(-10); t <= End.AddMinutes(10); t = t.AddMinutes(1))
        {
            utilization.Add(new TimedValue(t, idleAfter is { } at && t >= at ? 0 : 100));
        }

        var gpu = new GpuWindowInput
        {
            GpuUuid = "GPU-1",
            Node = "node-1",
            GpuModel = "H100",
            Allocations = [new AllocationSpan(Start, End, "llama", null)],
            PowerWatts = [new TimedValue(Start.AddMinutes(-10), 400), new TimedValue(End.AddMinutes(10), 400)],
            UtilizationPercent = utilization,
        };
        return GpuCostCalculator.Compute(gpu, Start, End, pricing.Resolve(null, "H100"), pricing.Energy, pricing.Energy.ScheduleFor(Start, End), IdleThresholds.Default, TimeSpan.FromHours(2));
    }
}
