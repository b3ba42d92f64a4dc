using System.Net;
using System.Text.Json;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>Compares API JSON with the stored windows it must sum, and checks problem details.</summary>
internal static class ApiAssert
{
    public static string? Text(JsonElement row, string name) =>
        row.GetProperty(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>The JSON property of a groupBy tag key.</summary>
    public static string JsonName(string tag) => tag == Tags.GpuModel ? "gpuModel" : tag;

    public static string? TagOf(CostWindow window, string tag) => tag switch
    {
        Tags.Model => window.Model,
        Tags.Tenant => window.Tenant,
        Tags.Pool => window.Pool,
        Tags.Node => window.Node,
        Tags.GpuModel => window.GpuModel,
        "gpu" => window.GpuUuid,
        _ => throw new ArgumentOutOfRangeException(nameof(tag), tag, "not a cost tag"),
    };

    /// <summary>The row holds exactly the sums of <paramref name="windows"/> and the ratios of those sums.</summary>
    public static void CostEquals(IEnumerable<CostWindow> windows, JsonElement row)
    {
        CostWindow[] w = [.. windows];
        Assert.NotEmpty(w);
        Precision.Close(w.Sum(c => c.CostUsd), row.GetProperty("costUsd").GetDouble());
        Precision.Close(w.Sum(c => c.GpuHours), row.GetProperty("gpuHours").GetDouble());
        Precision.Close(w.Sum(c => c.UtilizedGpuHours), row.GetProperty("utilizedGpuHours").GetDouble());
        Precision.Close(w.Sum(c => c.CapexUsd), row.GetProperty("capexUsd").GetDouble());
        Precision.Close(w.Sum(c => c.OpexUsd), row.GetProperty("opexUsd").GetDouble());
        Precision.Close(w.Sum(c => c.EnergyCostUsd), row.GetProperty("energyCostUsd").GetDouble());
        Precision.Close(w.Sum(c => c.PromptCostUsd), row.GetProperty("promptCostUsd").GetDouble());
        Precision.Close(w.Sum(c => c.GpuEnergyJoules), row.GetProperty("gpuEnergyJoules").GetDouble());
        Precision.Close(w.Sum(c => c.FacilityEnergyJoules), row.GetProperty("facilityEnergyJoules").GetDouble());
        Precision.Close(w.Sum(c => c.MaxTokens), row.GetProperty("maxTokens").GetDouble());
        long prompt = w.Sum(c => c.PromptTokens);
        long completion = w.Sum(c => c.CompletionTokens);
        Assert.Equal(prompt, row.GetProperty("promptTokens").GetInt64());
        Assert.Equal(completion, row.GetProperty("completionTokens").GetInt64());
        Assert.Equal(w.Sum(c => c.RequestCount), row.GetProperty("requestCount").GetInt64());
        double? revenue = w.Any(c => c.RevenueUsd is not null) ? w.Sum(c => c.RevenueUsd ?? 0) : null;
        Nullable(revenue, row.GetProperty("revenueUsd"));
        long tokens = prompt + completion;
        double cost = w.Sum(c => c.CostUsd);
        Nullable(tokens > 0 ? cost / tokens * 1e6 : null, row.GetProperty("costPerMillionTokensUsd"));
        Nullable(prompt > 0 ? w.Sum(c => c.PromptCostUsd) / prompt * 1e6 : null, row.GetProperty("costPerMillionPromptTokensUsd"));
        Nullable(completion > 0 ? w.Sum(c => c.CompletionCostUsd) / completion * 1e6 : null, row.GetProperty("costPerMillionCompletionTokensUsd"));
        Nullable(tokens > 0 ? w.Sum(c => c.FacilityEnergyJoules) / tokens : null, row.GetProperty("joulesPerToken"));
        Nullable(tokens > 0 ? tokens / w.Sum(c => c.GpuHours) : null, row.GetProperty("tokensPerGpuHour"));
        Nullable(w.Sum(c => c.MaxTokens) > 0 ? tokens / w.Sum(c => c.MaxTokens) : null, row.GetProperty("capacityUtilizationRatio"));
        Nullable(tokens > 0 ? tokens / (w.Sum(c => c.FacilityEnergyJoules) / 3.6e6) : null, row.GetProperty("tokensPerKilowattHour"));
    }

    public static void IdleEquals(IReadOnlyList<IdleWindow> windows, JsonElement row)
    {
        Assert.NotEmpty(windows);
        Precision.Close(windows.Sum(i => i.GpuHours), row.GetProperty("gpuHours").GetDouble());
        Precision.Close(windows.Sum(i => i.IdleGpuHours), row.GetProperty("idleGpuHours").GetDouble());
        Precision.Close(windows.Sum(i => i.IdleCostUsd), row.GetProperty("idleCostUsd").GetDouble());
        Precision.Close(windows.Sum(i => i.IdleEnergyJoules), row.GetProperty("idleEnergyJoules").GetDouble());
        Precision.Close(windows.Sum(i => i.IdleGpuHours) / windows.Sum(i => i.GpuHours), row.GetProperty("idleShare").GetDouble());
    }

    public static void KpiEquals(KpiWindow kpi, JsonElement row)
    {
        Precision.Close(kpi.CostUsd, row.GetProperty("costUsd").GetDouble());
        Precision.Close(kpi.GpuHours, row.GetProperty("gpuHours").GetDouble());
        Precision.Close(kpi.UtilizationPercent, row.GetProperty("utilizationPercent").GetDouble());
        Precision.Close(kpi.FacilityEnergyJoules, row.GetProperty("facilityEnergyJoules").GetDouble());
        Assert.Equal(kpi.Tokens, row.GetProperty("tokens").GetInt64());
        Nullable(kpi.IdleGpuHours, row.GetProperty("idleGpuHours"));
        Nullable(kpi.IdleCostUsd, row.GetProperty("idleCostUsd"));
        Nullable(kpi.CostPerMillionTokensUsd, row.GetProperty("costPerMillionTokensUsd"));
        Nullable(kpi.TokensPerKilowattHour, row.GetProperty("tokensPerKilowattHour"));
        Nullable(kpi.CapacityUtilizationRatio, row.GetProperty("capacityUtilizationRatio"));
        Nullable(kpi.Pue, row.GetProperty("pue"));
        Nullable(kpi.Roi, row.GetProperty("roiRatio"));
    }

    /// <summary>Two totals objects agree on every number (to rounding) and every null.</summary>
    public static void TotalsEqual(JsonElement expected, JsonElement actual)
    {
        foreach (JsonProperty property in expected.EnumerateObject())
        {
            JsonElement other = actual.GetProperty(property.Name);
            if (property.Value.ValueKind == JsonValueKind.Number)
            {
                Assert.Equal(JsonValueKind.Number, other.ValueKind);
                Precision.Close(property.Value.GetDouble(), other.GetDouble());
            }
            else
            {
                Assert.Equal(property.Value.GetRawText(), other.GetRawText());
            }
        }
    }

    /// <summary>An RFC 7807 answer with the status, a title, and a detail that says <paramref name="reason"/>.</summary>
    public static void Problem(HttpResponseMessage response, JsonElement body, HttpStatusCode status, string reason)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("title").GetString()));
        Assert.StartsWith("https://tools.ietf.org/html/rfc9110#section-15.", body.GetProperty("type").GetString(), StringComparison.Ordinal);
        string detail = body.GetProperty("detail").GetString() ?? string.Empty;
        Assert.True(detail.Contains(reason, StringComparison.Ordinal), $"'{detail}' should say '{reason}'");
    }

    /// <summary>A number equal to <paramref name="expected"/> (to rounding), or JSON null when it is null.</summary>
    public static void Nullable(double? expected, JsonElement actual)
    {
        if (expected is double value)
        {
            Assert.Equal(JsonValueKind.Number, actual.ValueKind);
            Precision.Close(value, actual.GetDouble());
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, actual.ValueKind);
        }
    }
}
