using ObservaCost.Analytics.Pricing;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Pricing;

public sealed class PricingFileReaderTests
{
    private const string MinimalEnergy = """
        "energy": { "pue": 1.2, "tariff": { "usdPerKilowattHour": 0.1 } }
        """;

    private static string ExamplePath => Path.Combine(RepoPaths.Root, "docs", "pricing.example.json");

    [Fact]
    public void Load_ExampleFile_IsValid()
    {
        PricingFile file = PricingFileReader.Load(ExamplePath);

        Assert.Equal(1.3, file.Energy.Pue);
        Assert.Equal(800.0, file.Energy.NodePowerWatts);
        Assert.Equal("Europe/Berlin", file.Energy.Tariff.TimeZone.Id);
        Assert.Equal(2, file.Energy.Tariff.Periods.Count);
        Precision.Close(27_000.0 / 35_040.0, file.Resolve("chat-h100", "H100").CapexUsdPerGpuHour);
        Assert.Equal(0.9, file.RevenueUsdPerMillionTokens("llama-3.1-70b"));
        Assert.Null(file.RevenueUsdPerMillionTokens("unknown"));
        Assert.Equal("mistral-7b", file.ServedModelForPool("small-l40s"));
        Assert.Null(file.ServedModelForPool("nowhere"));
    }

    [Fact]
    public void Resolve_ExampleFile_PoolThenGpuModelThenDefault()
    {
        PricingFile file = PricingFileReader.Load(ExamplePath);

        Assert.Equal("pools.batch-spot", file.Resolve("batch-spot", "H100").Key);
        Assert.Equal(RentalCommitment.Spot, file.Resolve("batch-spot", "H100").Rented!.Commitment);
        Assert.Equal("gpus.H100", file.Resolve("chat-h100", "H100").Key);
        Assert.Equal("gpus.T4", file.Resolve(null, "T4").Key);
        Assert.Equal("default", file.Resolve("other", "A10G").Key);
        Assert.Equal("default", file.Resolve(null, null).Key);
    }

    [Fact]
    public void Resolve_NoMatchAndNoDefault_Fails()
    {
        PricingFile file = PricingFileReader.Parse("{" + MinimalEnergy + """
            , "gpus": { "H100": { "rented": { "usdPerGpuHour": 3, "energyIncluded": false } } } }
            """);

        Assert.True(file.TryResolve(null, "H100", out _));
        Assert.False(file.TryResolve("pool", "T4", out _));
        Assert.Throws<KeyNotFoundException>(() => file.Resolve("pool", "T4"));
    }

    [Fact]
    public void IdleThresholdsFor_PoolOverride_FallsBackPerValue()
    {
        PricingFile file = PricingFileReader.Parse("{" + MinimalEnergy + """
            , "default": { "rented": { "usdPerGpuHour": 3, "energyIncluded": false } },
              "idle": { "utilizationPercent": 7, "pools": { "batch": { "minimumDurationSeconds": 60 } } } }
            """);

        Assert.Equal(new IdleThresholds(7, TimeSpan.FromMinutes(5)), file.IdleThresholdsFor("chat"));
        Assert.Equal(new IdleThresholds(7, TimeSpan.FromMinutes(1)), file.IdleThresholdsFor("batch"));
        Assert.Equal(new IdleThresholds(7, TimeSpan.FromMinutes(5)), file.IdleThresholdsFor(null));
    }

    [Fact]
    public void IdleThresholdsFor_NotConfigured_IsFivePercentFiveMinutes()
    {
        PricingFile file = PricingFileReader.Parse("{" + MinimalEnergy + """
            , "default": { "rented": { "usdPerGpuHour": 3, "energyIncluded": false } } }
            """);

        Assert.Equal(IdleThresholds.Default, file.IdleThresholdsFor("any"));
        Assert.Equal(0.1, file.Energy.Tariff.UsdPerKilowattHourAt(DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void Parse_ManyProblems_ReportsEveryPathAtOnce()
    {
        const string json = """
            {
              "energy": {
                "pue": 0.9,
                "tariff": {
                  "usdPerKilowattHour": -1,
                  "timeZone": "Mars/Olympus_Mons",
                  "periods": [
                    { "name": "peak", "usdPerKilowattHour": 0.3, "startHour": 8, "endHour": 20 },
                    { "name": "evening", "usdPerKilowattHour": 0.2, "startHour": 19, "endHour": 23, "days": ["Mon", "Funday"] },
                    { "name": "backwards", "usdPerKilowattHour": 0.2, "startHour": 23, "endHour": 2 }
                  ]
                }
              },
              "gpus": {
                "H100": { "owned": { "purchaseUsd": 30000, "salvageUsd": 40000, "depreciationYears": 0 } },
                "A100": { "owned": { "purchaseUsd": 10000, "depreciationYears": 3 }, "rented": { "usdPerGpuHour": 1, "energyIncluded": true } },
                "T4": { "rented": { "usdPerGpuHour": "cheap", "commitment": "forever" } }
              },
              "pools": { "chat-h100": { "owned": { "purchaseUsd": 1, "depreciationYears": 1, "opexUsdPerGpuHuor": 1 } } },
              "revenueUsdPerMillionTokens": { "llama": -2 },
              "idle": { "utilizationPercent": 150 },
              "extra": true
            }
            """;

        var ex = Assert.Throws<PricingValidationException>(() => PricingFileReader.Parse(json));
        string[] paths = ex.Errors.Select(e => e.Path).ToArray();

        string[] expected =
        [
            "$.energy.pue",
            "$.energy.tariff.usdPerKilowattHour",
            "$.energy.tariff.timeZone",
            "$.energy.tariff.periods[1].days[1]",
            "$.energy.tariff.periods[2].endHour",
            "$.gpus.H100.owned.salvageUsd",
            "$.gpus.H100.owned.depreciationYears",
            "$.gpus.A100",
            "$.gpus.T4.rented.usdPerGpuHour",
            "$.gpus.T4.rented.commitment",
            "$.gpus.T4.rented.energyIncluded",
            "$.pools['chat-h100'].owned.opexUsdPerGpuHuor",
            "$.revenueUsdPerMillionTokens.llama",
            "$.idle.utilizationPercent",
            "$.extra",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
        Assert.Contains("$.gpus.H100.owned.salvageUsd: must not exceed purchaseUsd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OverlappingPeriods_NamesBothPeriodsDayAndHour()
    {
        const string json = """
            {
              "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1, "periods": [
                { "name": "peak", "usdPerKilowattHour": 0.3, "startHour": 8, "endHour": 20, "days": ["Mon"] },
                { "name": "evening", "usdPerKilowattHour": 0.2, "startHour": 19, "endHour": 23 } ] } },
              "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } }
            }
            """;

        Assert.False(PricingFileReader.TryParse(json, out PricingFile? file, out IReadOnlyList<PricingError> errors));
        Assert.Null(file);
        PricingError error = Assert.Single(errors);
        Assert.Equal("$.energy.tariff.periods[1]", error.Path);
        Assert.Equal("overlaps periods[0] on Mon at hour 19", error.Message);
    }

    [Fact]
    public void Parse_MissingSections_NamesRequiredPaths()
    {
        Assert.False(PricingFileReader.TryParse("{}", out _, out IReadOnlyList<PricingError> errors));

        Assert.Equal(["$", "$.energy"], errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Parse_OnlyEmptyPriceSections_SaysThereIsNoPrice()
    {
        Assert.False(PricingFileReader.TryParse("{" + MinimalEnergy + ", \"gpus\": {}, \"pools\": {} }", out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$", error.Path);
        Assert.Equal("no price entry: give a default entry, gpus or pools", error.Message);
    }

    [Fact]
    public void Parse_OwnedAndRentedBothMissing_IsAnError()
    {
        Assert.False(PricingFileReader.TryParse("{" + MinimalEnergy + ", \"default\": {} }", out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$.default", error.Path);
    }

    [Fact]
    public void Parse_InvalidJson_ReportsLine()
    {
        Assert.False(PricingFileReader.TryParse("{\n  \"energy\": ,\n}", out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$", error.Path);
        Assert.StartsWith("not valid JSON at line 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("+5:30")]
    [InlineData("+05:20")]
    [InlineData("+15:00")]
    [InlineData("05:30")]
    public void Parse_BadUtcOffset_NamesOffsetPath(string offset)
    {
        string json = "{ \"energy\": { \"pue\": 1, \"tariff\": { \"usdPerKilowattHour\": 0.1, \"utcOffset\": \"" + offset
            + "\" } }, \"default\": { \"rented\": { \"usdPerGpuHour\": 1, \"energyIncluded\": true } } }";

        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));

        Assert.Equal("$.energy.tariff.utcOffset", Assert.Single(errors).Path);
    }

    [Fact]
    public void Parse_TimeZoneAndUtcOffsetBoth_IsAnError()
    {
        string json = "{ \"energy\": { \"pue\": 1, \"tariff\": { \"usdPerKilowattHour\": 0.1, \"utcOffset\": \"+01:00\", \"timeZone\": \"UTC\" } },"
            + " \"default\": { \"rented\": { \"usdPerGpuHour\": 1, \"energyIncluded\": true } } }";

        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));

        Assert.Equal("$.energy.tariff", Assert.Single(errors).Path);
    }

    [Fact]
    public void Resolve_GpuKeysInEitherForm_MatchEveryNameOfTheModel()
    {
        // One file keyed by the marketing name, one by the canonical key: both price a GPU reported either way.
        foreach (string key in new[] { "NVIDIA H100 80GB HBM3", "H100" })
        {
            PricingFile file = PricingFileReader.Parse("{" + MinimalEnergy + ", \"gpus\": { \"" + key + "\": { \"rented\": { \"usdPerGpuHour\": 2.1, \"commitment\": \"on-demand\", \"energyIncluded\": true } } } }");
            Assert.Equal(2.1, file.Resolve(null, "H100").Rented!.UsdPerGpuHour);
            Assert.Equal(2.1, file.Resolve(null, "NVIDIA H100 80GB HBM3").Rented!.UsdPerGpuHour);
            Assert.False(file.TryResolve(null, "NVIDIA H200", out _));
        }
    }

    [Fact]
    public void Parse_TwoGpuKeysForOneModel_IsAnErrorNamingBoth()
    {
        string json = "{" + MinimalEnergy + """
            , "gpus": { "H100": { "rented": { "usdPerGpuHour": 2, "commitment": "on-demand", "energyIncluded": true } }, "NVIDIA H100 80GB HBM3": { "rented": { "usdPerGpuHour": 3, "commitment": "on-demand", "energyIncluded": true } } } }
            """;

        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));

        PricingError error = Assert.Single(errors);
        Assert.Equal("$.gpus", error.Path);
        Assert.Contains("'H100', 'NVIDIA H100 80GB HBM3'", error.Message, StringComparison.Ordinal);
    }
}
