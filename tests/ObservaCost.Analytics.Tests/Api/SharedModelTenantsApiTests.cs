using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>The shared-model hour of <see cref="SharedModelTenantsApiTests"/> in an embedded store, and the API over it.</summary>
public sealed class SharedModelFixture : EmbeddedApiFixture
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private const string PricingJson = """
        {
          "energy": { "pue": 1.0, "tariff": { "usdPerKilowattHour": 0.10, "timeZone": "UTC" } },
          "gpus": { "H100": { "owned": { "purchaseUsd": 28000, "salvageUsd": 2000, "depreciationYears": 5, "opexUsdPerGpuHour": 0.3 } } }
        }
        """;

    protected override async Task PopulateAsync(SqliteStore store)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-shared-0", GpuModel = "H100", Pool = "chat",
                Pod = "vllm-0", Namespace = "llm", ServedModel = "llama", PowerWatts = 500, UtilizationPercent = 80,
            }.WriteTo(writer);
        }

        // Per minute, 60 minutes: acme 10,000 prompt + 2,500 completion, beta 5,000 + 1,250, no tenant 0 + 2,500.
        for (DateTimeOffset t = T0; t < T0.AddHours(1); t = t.AddMinutes(1))
        {
            foreach ((string? tenant, long prompt, long completion) in new (string?, long, long)[] { ("acme", 10_000, 2_500), ("beta", 5_000, 1_250), (null, 0, 2_500) })
            {
                new InferenceWindow
                {
                    WindowStart = t, WindowLength = TimeSpan.FromMinutes(1), Model = "llama", Tenant = tenant, Source = "request_log", Status = "ok",
                    RequestCount = 10, PromptTokens = prompt, CompletionTokens = completion,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        await service.ComputeAndWriteAsync(T0);
    }
}

/// <summary>
/// One model deployment in namespace <c>llm</c> serving two customers who are not namespaces (acme, beta) and requests
/// without a tenant: pushed as samples and request windows, priced by <see cref="CostWindowService"/> and read through
/// the API, per tenant.
/// </summary>
public sealed class SharedModelTenantsApiTests(SharedModelFixture fixture) : IClassFixture<SharedModelFixture>
{
    // The hour's cost of the one H100: capex (28,000 − 2,000) / (5 × 8,760) = 0.593607305936073 + opex 0.30 +
    // energy 500 W × 1 h = 0.5 kWh × $0.10 = 0.05 → $0.943607305936073, all of it the model's (llama, namespace llm).
    private const double ModelCostUsd = (26_000.0 / 43_800) + 0.3 + 0.05;

    private const string Range = "from=2026-03-02T10:00:00Z&to=2026-03-02T11:00:00Z";

    [Fact]
    public async Task CostByTenant_TenantsOfASharedModel_ShareItsCostByWeightedTokens()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{Range}&groupBy=tenant", ApiHost.AdminToken);

        // Weighted tokens (w = 4): acme 60 × (10,000 + 4 × 2,500) = 1,200,000; beta 60 × (5,000 + 4 × 1,250) = 600,000;
        // no tenant 60 × 4 × 2,500 = 600,000; 2,400,000 in all → acme 1/2, beta 1/4, the llm remainder 1/4.
        // acme: $0.4718036529680365 for 60 × 12,500 = 750,000 tokens → $0.629071537290715 per 1M tokens.
        // beta: $0.23590182648401826 for 375,000 tokens → the same $0.629071537290715 per 1M.
        // llm (the model's remainder, requests without a tenant): $0.23590182648401826 for 150,000 tokens → $1.5727 per 1M.
        Dictionary<string, JsonElement> rows = body.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("tenant").GetString()!, StringComparer.Ordinal);
        Assert.Equal(["acme", "beta", "llm"], rows.Keys.Order(StringComparer.Ordinal));
        Precision.Close(ModelCostUsd / 2, rows["acme"].GetProperty("costUsd").GetDouble());
        Precision.Close(ModelCostUsd / 4, rows["beta"].GetProperty("costUsd").GetDouble());
        Precision.Close(ModelCostUsd / 4, rows["llm"].GetProperty("costUsd").GetDouble());
        Assert.Equal(750_000, rows["acme"].GetProperty("promptTokens").GetInt64() + rows["acme"].GetProperty("completionTokens").GetInt64());
        Assert.Equal(375_000, rows["beta"].GetProperty("promptTokens").GetInt64() + rows["beta"].GetProperty("completionTokens").GetInt64());
        Assert.Equal(150_000, rows["llm"].GetProperty("completionTokens").GetInt64());
        Precision.Close(ModelCostUsd / 2 / 0.75, rows["acme"].GetProperty("costPerMillionTokensUsd").GetDouble());
        Precision.Close(ModelCostUsd / 4 / 0.375, rows["beta"].GetProperty("costPerMillionTokensUsd").GetDouble());
        Precision.Close(ModelCostUsd / 4 / 0.15, rows["llm"].GetProperty("costPerMillionTokensUsd").GetDouble());
        Precision.Close(0.5, rows["acme"].GetProperty("gpuHours").GetDouble());
        Precision.Close(ModelCostUsd, body.GetProperty("totals").GetProperty("costUsd").GetDouble());

        // A tenant's token reads its own share only.
        JsonElement acme = await fixture.Host.GetOkAsync($"/api/v1/cost?{Range}", ApiHost.AcmeToken);
        Precision.Close(ModelCostUsd / 2, Assert.Single(acme.GetProperty("rows").EnumerateArray()).GetProperty("costUsd").GetDouble());
    }

    [Fact]
    public async Task KpisByTenant_TenantsOfASharedModel_CostPerMillionTokensPerTenant()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/kpis?{Range}&groupBy=tenant,model", ApiHost.AdminToken);

        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        JsonElement Kpi(string scope, string key) => rows.Single(r => r.GetProperty("scope").GetString() == scope && r.GetProperty("key").GetString() == key);
        Precision.Close(ModelCostUsd, Kpi("model", "llama").GetProperty("costUsd").GetDouble());
        Assert.Equal(1_275_000, Kpi("model", "llama").GetProperty("tokens").GetInt64());
        Precision.Close(ModelCostUsd / 2, Kpi("tenant", "acme").GetProperty("costUsd").GetDouble());
        Assert.Equal(750_000, Kpi("tenant", "acme").GetProperty("tokens").GetInt64());
        Precision.Close(ModelCostUsd / 2 / 0.75, Kpi("tenant", "acme").GetProperty("costPerMillionTokensUsd").GetDouble());
        Precision.Close(ModelCostUsd / 4 / 0.375, Kpi("tenant", "beta").GetProperty("costPerMillionTokensUsd").GetDouble());
        // Facility energy 1.8e6 J = 0.5 kWh: acme has half, 0.25 kWh, for 750,000 tokens → 3,000,000 tokens per kWh.
        Precision.Close(3_000_000, Kpi("tenant", "acme").GetProperty("tokensPerKilowattHour").GetDouble());

        JsonElement beta = await fixture.Host.GetOkAsync($"/api/v1/kpis?{Range}&groupBy=tenant", ApiHost.BetaToken);
        JsonElement betaTenant = beta.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("scope").GetString() == "tenant");
        Assert.Equal("beta", betaTenant.GetProperty("key").GetString());
        Precision.Close(ModelCostUsd / 4, betaTenant.GetProperty("costUsd").GetDouble());
    }
}
