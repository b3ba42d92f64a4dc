using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Pricing;

/// <summary>The pricing file's <c>carbon</c> section and <c>embodiedCarbon</c> entries: each form read, each error at its JSON path.</summary>
public sealed class CarbonPricingFileReaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-carbon-reader-" + Guid.NewGuid().ToString("N")[..8]);

    public CarbonPricingFileReaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parse_FixedIntensity_IsConstant()
    {
        CarbonIntensity carbon = Read("""{ "gco2ePerKilowattHour": 350, "source": "national average 2025" }""").Energy.Carbon!;

        Assert.True(carbon.IsConstant);
        Assert.Equal(350.0, carbon.GramsCo2ePerKilowattHourAt(DateTimeOffset.UnixEpoch));
        Assert.Equal("national average 2025: fixed 350 gCO2e/kWh", carbon.Describe());
    }

    [Fact]
    public void Parse_Schedule_PeriodsInTheirTimeZone()
    {
        CarbonIntensity carbon = Read("""
            { "gco2ePerKilowattHour": 400, "utcOffset": "+02:00",
              "periods": [ { "name": "solar", "gco2ePerKilowattHour": 150, "startHour": 10, "endHour": 16, "days": ["Sat", "Sun"] } ] }
            """).Energy.Carbon!;

        // Saturday 2026-11-28 09:00 UTC is 11:00 at +02:00: in the solar period; 14:00 UTC is 16:00 local: not.
        Assert.Equal(150.0, carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero)));
        Assert.Equal(400.0, carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 11, 28, 14, 0, 0, TimeSpan.Zero)));
        // Friday at 11:00 local is outside the period's days.
        Assert.Equal(400.0, carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Parse_HourlyFileRelativeToThePricingFile_ReadFromItsFolder()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "carbon"));
        File.WriteAllText(Path.Combine(_dir, "carbon", "grid.csv"), "datetime,gco2e_per_kwh\n2026-11-25T16:00:00+01:00,320.5\n");
        File.WriteAllText(Path.Combine(_dir, "pricing.json"), Document("""{ "hourlyFile": "carbon/grid.csv" }"""));

        CarbonIntensity carbon = PricingFileReader.Load(Path.Combine(_dir, "pricing.json")).Energy.Carbon!;

        // 16:00 at +01:00 is 15:00 UTC.
        Assert.Equal(320.5, carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 11, 25, 15, 59, 0, TimeSpan.Zero)));
        Assert.True(double.IsNaN(carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 11, 25, 16, 0, 0, TimeSpan.Zero))));
    }

    [Fact]
    public void Parse_HourlyColumnNamed_ReadsThatColumn()
    {
        File.WriteAllText(Path.Combine(_dir, "em.csv"), "Datetime (UTC),Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA)\n2026-01-01 00:00:00,210,260\n");

        CarbonIntensity carbon = Read("""{ "hourlyFile": "em.csv", "hourlyColumn": "Carbon Intensity gCO₂eq/kWh (direct)" }""").Energy.Carbon!;

        Assert.Equal(210.0, carbon.GramsCo2ePerKilowattHourAt(new DateTimeOffset(2026, 1, 1, 0, 30, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Parse_NoCarbonSection_CarbonNull()
    {
        Assert.Null(PricingFileReader.Parse(Document(null)).Energy.Carbon);
    }

    [Theory]
    [InlineData("""{ }""", "$.carbon", "give gco2ePerKilowattHour, hourlyFile or both")]
    [InlineData("""{ "gco2ePerKilowattHour": -1 }""", "$.carbon.gco2ePerKilowattHour", "must not be negative")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "gramsPerKwh": 3 }""", "$.carbon.gramsPerKwh", "unknown property")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "timeZone": "Mars/Olympus" }""", "$.carbon.timeZone", "unknown time zone 'Mars/Olympus' (use an IANA id such as 'Europe/Berlin')")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "timeZone": "UTC", "utcOffset": "+01:00" }""", "$.carbon", "give at most one of 'timeZone' and 'utcOffset'")]
    [InlineData("""{ "hourlyFile": "grid.csv", "periods": [ { "name": "a", "gco2ePerKilowattHour": 1, "startHour": 1, "endHour": 2 } ] }""", "$.carbon.gco2ePerKilowattHour", "is required with periods (the intensity outside them)")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "periods": [ { "name": "a", "gco2ePerKilowattHour": 1, "startHour": 1, "endHour": 5 }, { "name": "b", "gco2ePerKilowattHour": 2, "startHour": 4, "endHour": 6 } ] }""", "$.carbon.periods[1]", "overlaps periods[0] on Sun at hour 4")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "periods": [ { "name": "a", "startHour": 1, "endHour": 5 } ] }""", "$.carbon.periods[0].gco2ePerKilowattHour", "is required")]
    [InlineData("""{ "gco2ePerKilowattHour": 300, "periods": [ { "name": "a", "gco2ePerKilowattHour": 1, "startHour": 5, "endHour": 5 } ] }""", "$.carbon.periods[0].endHour", "must be after startHour (split a period that crosses midnight in two)")]
    [InlineData("""{ "hourlyFile": "absent.csv" }""", "$.carbon.hourlyFile", "absent.csv: cannot be read")]
    public void Parse_InvalidCarbon_ErrorAtItsPath(string carbon, string path, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "grid.csv"), "datetime,gco2e_per_kwh\n2026-01-01T00:00:00Z,1\n");

        Assert.False(PricingFileReader.TryParse(Document(carbon), out _, out IReadOnlyList<PricingError> errors, _dir));

        PricingError error = Assert.Single(errors);
        Assert.Equal(path, error.Path);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("when,value\n", "grid.csv: line 1: no time column (expected one of 'datetime', 'Datetime (UTC)')")]
    [InlineData("datetime,value\n", "grid.csv: line 1: no intensity column (expected 'gco2e_per_kwh' or 'Carbon Intensity gCO₂eq/kWh (LCA)' or 'Carbon intensity gCO₂eq/kWh (Life cycle)')")]
    [InlineData("datetime,gco2e_per_kwh\n2026-01-01T00:30:00Z,300\n", "grid.csv: line 2: 2026-01-01T00:30:00.0000000+00:00 is not a whole UTC hour")]
    [InlineData("datetime,gco2e_per_kwh\n2026-01-01T00:00:00Z,lots\n", "grid.csv: line 2: 'lots' is not an intensity in gCO2e/kWh (a number, not negative)")]
    [InlineData("datetime,gco2e_per_kwh\n2026-01-01T00:00:00Z,-3\n", "grid.csv: line 2: '-3' is not an intensity in gCO2e/kWh (a number, not negative)")]
    [InlineData("datetime,gco2e_per_kwh\nyesterday,3\n", "grid.csv: line 2: 'yesterday' is not a date and time")]
    [InlineData("datetime,gco2e_per_kwh\n2026-01-01T00:00:00Z,3\n2026-01-01T01:00:00+01:00,4\n", "grid.csv: line 3: the hour 2026-01-01T00:00:00.0000000+00:00 appears twice")]
    [InlineData("datetime,gco2e_per_kwh\n", "grid.csv: has no rows")]
    public void Parse_InvalidHourlyFile_ErrorAtHourlyFileWithItsLine(string csv, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "grid.csv"), csv);

        Assert.False(PricingFileReader.TryParse(Document("""{ "hourlyFile": "grid.csv" }"""), out _, out IReadOnlyList<PricingError> errors, _dir));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$.carbon.hourlyFile", error.Path);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Parse_RentedEmbodiedWithoutYears_ErrorAtAmortisationYears()
    {
        string json = """
            { "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } },
              "pools": { "spot": { "rented": { "usdPerGpuHour": 2, "energyIncluded": true }, "embodiedCarbon": { "kgCo2ePerGpu": 1500 } } } }
            """;

        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$.pools.spot.embodiedCarbon.amortisationYears", error.Path);
    }

    [Fact]
    public void Parse_EmbodiedWithoutKilograms_ErrorAtKgCo2ePerGpu()
    {
        string json = """
            { "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } },
              "gpus": { "H100": { "owned": { "purchaseUsd": 30000, "depreciationYears": 4 }, "embodiedCarbon": { "amortisationYears": 5 } } } }
            """;

        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$.gpus.H100.embodiedCarbon.kgCo2ePerGpu", error.Path);
        Assert.Equal("is required", error.Message);
    }

    private PricingFile Read(string carbon) => PricingFileReader.Parse(Document(carbon), _dir);

    private static string Document(string? carbon) =>
        "{ \"energy\": { \"pue\": 1.2, \"tariff\": { \"usdPerKilowattHour\": 0.1 } }, "
        + (carbon is null ? string.Empty : "\"carbon\": " + carbon + ", ")
        + "\"default\": { \"rented\": { \"usdPerGpuHour\": 2, \"energyIncluded\": false } } }";
}
