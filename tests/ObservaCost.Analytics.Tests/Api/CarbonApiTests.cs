using System.Text.Json;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// Carbon in the API's cost rows, totals, idle rows and KPIs, on the <see cref="ApiFleet"/> (400 gCO2e/kWh fixed;
/// each H100 embodies 1,200 kg over its 5 depreciation years, the rented L40S pool none).
/// </summary>
public sealed class CarbonApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    // 1,200,000 g / (5 × 8,760 h) = 27.397260273972602 g per H100-hour; four H100s for four hours: 16 GPU-hours.
    private const double EmbodiedGrams = 16 * 1_200_000.0 / 43_800.0;

    private IEnumerable<CostWindow> StoredCosts => fixture.Reports.SelectMany(r => r.Costs);

    [Fact]
    public async Task Cost_WholeRange_OperationalIsFacilityKwhTimesIntensity_EmbodiedIsAmortised()
    {
        JsonElement totals = (await fixture.Host.GetOkAsync("/api/v1/cost?" + ApiFixture.WholeRange, ApiHost.AdminToken)).GetProperty("totals");

        // Operational = facility kWh × 400 g/kWh; embodied = 16 × 27.397260273972602 = 438.35616438356163 g.
        double facilityKwh = totals.GetProperty("facilityEnergyJoules").GetDouble() / 3.6e6;
        Precision.Close(facilityKwh * 400, totals.GetProperty("operationalCo2eGrams").GetDouble());
        Precision.Close(438.35616438356163, totals.GetProperty("embodiedCo2eGrams").GetDouble());
        Precision.Close(EmbodiedGrams, totals.GetProperty("embodiedCo2eGrams").GetDouble());
        double grams = (facilityKwh * 400) + EmbodiedGrams;
        Precision.Close(grams, totals.GetProperty("co2eGrams").GetDouble());
        Precision.Close(StoredCosts.Sum(c => c.Co2eGrams!.Value), grams);
        long tokens = totals.GetProperty("promptTokens").GetInt64() + totals.GetProperty("completionTokens").GetInt64();
        Precision.Close(grams / tokens * 1e6, totals.GetProperty("co2eGramsPerMillionTokens").GetDouble());
    }

    [Fact]
    public async Task Cost_GroupByPool_RowsAddUpToTheTotal()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=pool", ApiHost.AdminToken);

        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        Precision.Close(body.GetProperty("totals").GetProperty("co2eGrams").GetDouble(), rows.Sum(r => r.GetProperty("co2eGrams").GetDouble()));
        // The rented batch pool has no embodied carbon: 0, not null.
        Assert.Equal(0.0, rows.Single(r => r.GetProperty("pool").GetString() == "batch").GetProperty("embodiedCo2eGrams").GetDouble());
    }

    [Fact]
    public async Task Kpis_WholeRange_GramsPerMillionTokensFromTheSums_IdleWithinTotal()
    {
        JsonElement kpis = await fixture.Host.GetOkAsync($"/api/v1/kpis?{ApiFixture.WholeRange}&groupBy=model", ApiHost.AdminToken);
        JsonElement idle = (await fixture.Host.GetOkAsync("/api/v1/idle?" + ApiFixture.WholeRange, ApiHost.AdminToken)).GetProperty("totals");

        JsonElement[] rows = [.. kpis.GetProperty("rows").EnumerateArray()];
        JsonElement fleet = rows.Single(r => r.GetProperty("scope").GetString() == "fleet");
        double grams = fleet.GetProperty("co2eGrams").GetDouble();
        Precision.Close(StoredCosts.Sum(c => c.Co2eGrams!.Value), grams);
        Precision.Close(grams / fleet.GetProperty("tokens").GetInt64() * 1e6, fleet.GetProperty("co2eGramsPerMillionTokens").GetDouble());
        foreach (JsonElement model in rows.Where(r => r.GetProperty("scope").GetString() == "model"))
        {
            Precision.Close(model.GetProperty("co2eGrams").GetDouble() / model.GetProperty("tokens").GetInt64() * 1e6, model.GetProperty("co2eGramsPerMillionTokens").GetDouble());
        }

        double idleGrams = idle.GetProperty("idleCo2eGrams").GetDouble();
        Precision.Close(idleGrams, fleet.GetProperty("idleCo2eGrams").GetDouble());
        Assert.InRange(idleGrams, 1e-9, grams);
    }

    [Fact]
    public async Task Kpis_TenantToken_NoIdleCarbon()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/kpis?{ApiFixture.WholeRange}", ApiHost.BetaToken);

        Assert.All(body.GetProperty("rows").EnumerateArray(), r =>
        {
            Assert.Equal(JsonValueKind.Null, r.GetProperty("idleCo2eGrams").ValueKind);
            Assert.Equal(JsonValueKind.Number, r.GetProperty("co2eGrams").ValueKind);
        });
    }
}
