using System.Net;
using System.Text.Json;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// The analytics API on a real Kestrel host over the embedded store, checked against the windows the window service
/// computed and stored: totals, grouping, steps, tenant scoping, KPIs.
/// </summary>
public sealed class AnalyticsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private IEnumerable<CostWindow> StoredCosts => fixture.Reports.SelectMany(r => r.Costs);

    private IEnumerable<IdleWindow> StoredIdle => fixture.Reports.SelectMany(r => r.Idle);

    [Fact]
    public async Task Cost_WholeRange_TotalsEqualSumOfStoredWindows()
    {
        JsonElement body = await fixture.Host.GetOkAsync("/api/v1/cost?" + ApiFixture.WholeRange, ApiHost.AdminToken);

        JsonElement row = Assert.Single(body.GetProperty("rows").EnumerateArray());
        Assert.Equal(ApiFleet.Start, row.GetProperty("windowStart").GetDateTimeOffset());
        Assert.Equal(ApiFleet.End, row.GetProperty("windowEnd").GetDateTimeOffset());
        ApiAssert.CostEquals(StoredCosts, row);
        ApiAssert.CostEquals(StoredCosts, body.GetProperty("totals"));
        Assert.Equal(JsonValueKind.Null, body.GetProperty("tenant").ValueKind);
        Assert.True(StoredCosts.Sum(c => c.CostUsd) > 0 && StoredCosts.Sum(c => c.PromptTokens) > 0, "the fleet has cost and tokens");
        // Six GPUs for four hours: every GPU-hour is costed once.
        Precision.Close(24.0, body.GetProperty("totals").GetProperty("gpuHours").GetDouble());
    }

    [Theory]
    [InlineData("model")]
    [InlineData("tenant")]
    [InlineData("pool")]
    [InlineData("node")]
    [InlineData("gpu_model")]
    [InlineData("gpu")]
    public async Task Cost_GroupByTag_EachRowEqualsItsStoredWindows(string tag)
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy={tag}", ApiHost.AdminToken);

        var expected = StoredCosts.GroupBy(c => ApiAssert.TagOf(c, tag)).ToDictionary(g => g.Key ?? "(none)", g => g.ToList(), StringComparer.Ordinal);
        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        Assert.True(expected.Count >= 2, $"the fleet has several {tag} values");
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), rows.Select(r => ApiAssert.Text(r, ApiAssert.JsonName(tag)) ?? "(none)").Order(StringComparer.Ordinal));
        foreach (JsonElement row in rows)
        {
            ApiAssert.CostEquals(expected[ApiAssert.Text(row, ApiAssert.JsonName(tag)) ?? "(none)"], row);
        }

        ApiAssert.CostEquals(StoredCosts, body.GetProperty("totals"));
        Assert.Equal([tag], body.GetProperty("groupBy").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Cost_GroupByGpu_OneRowPerGpuAddingUpToTheFleet()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=gpu", ApiHost.AdminToken);

        // Six GPUs, each costed for its four hours: six rows of 4 GPU-hours, whose costs add up to the fleet's.
        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        Assert.Equal(6, rows.Select(r => r.GetProperty("gpu").GetString()).Distinct(StringComparer.Ordinal).Count());
        Assert.All(rows, r => Precision.Close(4.0, r.GetProperty("gpuHours").GetDouble()));
        Precision.Close(StoredCosts.Sum(c => c.CostUsd), rows.Sum(r => r.GetProperty("costUsd").GetDouble()));
    }

    [Fact]
    public async Task Cost_TenantGroupsByGpu_ForbiddenNamingTheParameter()
    {
        await fixture.Host.GetProblemAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=model,gpu", ApiHost.AcmeToken, HttpStatusCode.Forbidden, "groupBy 'gpu'");
        JsonElement rows = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=model", ApiHost.AcmeToken);
        Assert.All(rows.GetProperty("rows").EnumerateArray(), r => Assert.False(r.TryGetProperty("gpu", out _)));
    }

    [Fact]
    public async Task Cost_HourlyStep_BucketsSumToTheWholeRangeBucket()
    {
        JsonElement hourly = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&step=1h&groupBy=model,tenant", ApiHost.AdminToken);
        JsonElement whole = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=model,tenant", ApiHost.AdminToken);

        Assert.Equal("1h", hourly.GetProperty("step").GetString());
        JsonElement[] buckets = [.. hourly.GetProperty("rows").EnumerateArray()];
        Assert.Equal(Enumerable.Range(0, ApiFleet.Hours).Select(h => ApiFleet.Start.AddHours(h)), buckets.Select(b => b.GetProperty("windowStart").GetDateTimeOffset()).Distinct());
        foreach (JsonElement bucket in buckets)
        {
            DateTimeOffset start = bucket.GetProperty("windowStart").GetDateTimeOffset();
            Assert.Equal(start.AddHours(1), bucket.GetProperty("windowEnd").GetDateTimeOffset());
            ApiAssert.CostEquals(StoredCosts.Where(c => c.WindowStart == start && c.Model == ApiAssert.Text(bucket, "model") && c.Tenant == ApiAssert.Text(bucket, "tenant")), bucket);
        }

        foreach (JsonElement row in whole.GetProperty("rows").EnumerateArray())
        {
            JsonElement[] same = [.. buckets.Where(b => ApiAssert.Text(b, "model") == ApiAssert.Text(row, "model") && ApiAssert.Text(b, "tenant") == ApiAssert.Text(row, "tenant"))];
            Precision.Close(same.Sum(b => b.GetProperty("costUsd").GetDouble()), row.GetProperty("costUsd").GetDouble());
            Precision.Close(same.Sum(b => b.GetProperty("gpuHours").GetDouble()), row.GetProperty("gpuHours").GetDouble());
            Assert.Equal(same.Sum(b => b.GetProperty("completionTokens").GetInt64()), row.GetProperty("completionTokens").GetInt64());
        }

        ApiAssert.TotalsEqual(whole.GetProperty("totals"), hourly.GetProperty("totals"));
        // A day step over this range is one bucket at the UTC midnight.
        JsonElement daily = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&step=1d", ApiHost.AdminToken);
        ApiAssert.CostEquals(StoredCosts, Assert.Single(daily.GetProperty("rows").EnumerateArray()));
    }

    [Theory]
    [InlineData(ApiHost.AcmeToken, "acme")]
    [InlineData(ApiHost.BetaToken, "beta")]
    public async Task Cost_TenantToken_SeesOnlyItsTenantsRowsAndTotals(string token, string tenant)
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&step=1h&groupBy=tenant,model,pool", token);
        JsonElement ungrouped = await fixture.Host.GetOkAsync("/api/v1/cost?" + ApiFixture.WholeRange, token);

        Assert.Equal(tenant, body.GetProperty("tenant").GetString());
        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(tenant, ApiAssert.Text(r, "tenant")));
        CostWindow[] own = [.. StoredCosts.Where(c => c.Tenant == tenant)];
        Assert.True(own.Sum(c => c.CostUsd) < StoredCosts.Sum(c => c.CostUsd) / 1.5, "the tenant's share is well below the fleet's");
        ApiAssert.CostEquals(own, body.GetProperty("totals"));
        ApiAssert.CostEquals(own, ungrouped.GetProperty("totals"));
        ApiAssert.CostEquals(own, Assert.Single(ungrouped.GetProperty("rows").EnumerateArray()));
    }

    [Fact]
    public async Task Cost_AdminToken_SeesEveryTenantAndUnallocatedTime()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=tenant", ApiHost.AdminToken);

        Assert.Equal(["(unallocated)", "acme", "beta"], body.GetProperty("rows").EnumerateArray().Select(r => ApiAssert.Text(r, "tenant") ?? "(unallocated)").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Idle_AdminHourlyByPool_EqualsStoredIdleWindows()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/idle?{ApiFixture.WholeRange}&step=1h&groupBy=pool", ApiHost.AdminToken);

        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        Assert.Equal(ApiFleet.Hours * 2, rows.Length);
        foreach (JsonElement row in rows)
        {
            DateTimeOffset start = row.GetProperty("windowStart").GetDateTimeOffset();
            IdleWindow[] stored = [.. StoredIdle.Where(i => i.WindowStart == start && i.Pool == ApiAssert.Text(row, "pool"))];
            ApiAssert.IdleEquals(stored, row);
        }

        ApiAssert.IdleEquals([.. StoredIdle], body.GetProperty("totals"));
        Assert.True(body.GetProperty("totals").GetProperty("idleGpuHours").GetDouble() > 1, "GPU 3 is idle all along");
    }

    [Fact]
    public async Task Idle_TenantToken_403Problem()
    {
        (HttpResponseMessage response, JsonElement body) = await fixture.Host.GetAsync("/api/v1/idle?" + ApiFixture.WholeRange, ApiHost.AcmeToken);

        using (response)
        {
            ApiAssert.Problem(response, body, HttpStatusCode.Forbidden, "belongs to pools");
        }
    }

    [Fact]
    public async Task Kpis_HourlyStep_EqualTheKpisTheWindowServiceStored()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/kpis?{ApiFixture.WholeRange}&step=1h", ApiHost.AdminToken);

        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        KpiWindow[] stored = [.. fixture.Reports.SelectMany(r => r.Kpis)];
        Assert.Equal(stored.Length, rows.Length);
        foreach (KpiWindow kpi in stored)
        {
            JsonElement row = Assert.Single(rows, r => r.GetProperty("windowStart").GetDateTimeOffset() == kpi.WindowStart
                && r.GetProperty("scope").GetString() == KpiWindow.ScopeTag(kpi.Scope) && r.GetProperty("key").GetString() == kpi.Key);
            ApiAssert.KpiEquals(kpi, row);
        }
    }

    [Fact]
    public async Task Kpis_WholeRange_FleetEqualsCostAndIdleTotals()
    {
        JsonElement kpis = await fixture.Host.GetOkAsync($"/api/v1/kpis?{ApiFixture.WholeRange}&groupBy=pool", ApiHost.AdminToken);

        JsonElement[] rows = [.. kpis.GetProperty("rows").EnumerateArray()];
        Assert.Equal(["fleet", "pool", "pool"], rows.Select(r => r.GetProperty("scope").GetString()));
        JsonElement fleet = rows[0];
        CostWindow[] costs = [.. StoredCosts];
        Precision.Close(costs.Sum(c => c.CostUsd), fleet.GetProperty("costUsd").GetDouble());
        Precision.Close(StoredIdle.Sum(i => i.IdleGpuHours), fleet.GetProperty("idleGpuHours").GetDouble());
        long tokens = costs.Sum(c => c.PromptTokens + c.CompletionTokens);
        Precision.Close(costs.Sum(c => c.CostUsd) / tokens * 1e6, fleet.GetProperty("costPerMillionTokensUsd").GetDouble());
        Precision.Close(tokens / (costs.Sum(c => c.FacilityEnergyJoules) / 3.6e6), fleet.GetProperty("tokensPerKilowattHour").GetDouble());
        Precision.Close(fleet.GetProperty("costUsd").GetDouble(), rows[1].GetProperty("costUsd").GetDouble() + rows[2].GetProperty("costUsd").GetDouble());
    }

    [Fact]
    public async Task Kpis_TenantToken_OnlyItsCostRowsWithoutIdle()
    {
        JsonElement body = await fixture.Host.GetOkAsync($"/api/v1/kpis?{ApiFixture.WholeRange}", ApiHost.BetaToken);

        JsonElement[] rows = [.. body.GetProperty("rows").EnumerateArray()];
        CostWindow[] own = [.. StoredCosts.Where(c => c.Tenant == "beta")];
        JsonElement fleet = Assert.Single(rows, r => r.GetProperty("scope").GetString() == "fleet");
        Precision.Close(own.Sum(c => c.CostUsd), fleet.GetProperty("costUsd").GetDouble());
        Assert.Equal(["beta"], rows.Where(r => r.GetProperty("scope").GetString() == "tenant").Select(r => r.GetProperty("key").GetString()));
        Assert.All(rows, r => Assert.Equal(JsonValueKind.Null, r.GetProperty("idleGpuHours").ValueKind));
    }

    [Theory]
    [InlineData(null, "authorization required")]
    [InlineData("not-a-known-token", "not known")]
    public async Task Auth_MissingOrUnknownToken_401ProblemWithBearerChallenge(string? token, string reason)
    {
        foreach (string path in new[] { "/api/v1/cost", "/api/v1/idle", "/api/v1/kpis" })
        {
            (HttpResponseMessage response, JsonElement body) = await fixture.Host.GetAsync(path + "?" + ApiFixture.WholeRange, token);
            using (response)
            {
                ApiAssert.Problem(response, body, HttpStatusCode.Unauthorized, reason);
                Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            }
        }
    }

    [Theory]
    [InlineData("/api/v1/cost?to=2026-03-02T04:00:00Z", "'from' is required")]
    [InlineData("/api/v1/cost?from=2026-03-02T00:00:00Z", "'to' is required")]
    [InlineData("/api/v1/cost?from=yesterday&to=2026-03-02T04:00:00Z", "got 'yesterday'")]
    [InlineData("/api/v1/cost?from=2026-03-02T00:00:00&to=2026-03-02T04:00:00Z", "with a zone")]
    [InlineData("/api/v1/cost?from=2026-03-02T04:00:00Z&to=2026-03-02T04:00:00Z", "must be after 'from'")]
    [InlineData("/api/v1/cost?from=1772409600&to=1772380800", "must be after 'from'")]
    [InlineData("/api/v1/cost?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&step=15m", "finer than the smallest step served, 1h")]
    [InlineData("/api/v1/idle?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&step=90m", "multiple of the computed window length 1h")]
    [InlineData("/api/v1/cost?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&step=1.5h", "got '1.5h'")]
    [InlineData("/api/v1/cost?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&groupBy=model,region", "groupBy 'region' is not one of: model, tenant, pool, node, gpu_model, gpu, attribution_basis")]
    [InlineData("/api/v1/idle?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&groupBy=tenant", "groupBy 'tenant' is not one of: pool, node, gpu_model")]
    [InlineData("/api/v1/kpis?from=2026-03-02T00:00:00Z&to=2026-03-02T04:00:00Z&groupBy=node", "groupBy 'node' is not one of: pool, model, tenant")]
    [InlineData("/api/v1/kpis?from=2024-01-01T00:00:00Z&to=2026-03-02T00:00:00Z", "the limit is 366 days (Analytics:Api:MaxRange)")]
    [InlineData("/api/v1/cost?from=2025-03-02T00:00:00Z&to=2026-03-02T00:00:00Z&step=1h", "the limit is 1000 (Analytics:Api:MaxBuckets)")]
    public async Task Parameters_Invalid_400ProblemNamingTheReason(string pathAndQuery, string reason)
    {
        (HttpResponseMessage response, JsonElement body) = await fixture.Host.GetAsync(pathAndQuery, ApiHost.AdminToken);

        using (response)
        {
            ApiAssert.Problem(response, body, HttpStatusCode.BadRequest, reason);
        }
    }

    [Fact]
    public async Task Parameters_UnixSecondsAndOffsets_SameAnswerAsUtc()
    {
        JsonElement utc = await fixture.Host.GetOkAsync($"/api/v1/cost?{ApiFixture.WholeRange}&groupBy=pool", ApiHost.AdminToken);
        JsonElement unix = await fixture.Host.GetOkAsync(
            $"/api/v1/cost?from={ApiFleet.Start.ToUnixTimeSeconds()}&to={ApiFleet.End.ToUnixTimeSeconds()}&groupBy=pool", ApiHost.AdminToken);
        JsonElement offset = await fixture.Host.GetOkAsync("/api/v1/cost?from=2026-03-02T01:00:00%2B01:00&to=2026-03-02T05:00:00.000%2B01:00&groupBy=pool", ApiHost.AdminToken);

        Assert.Equal(utc.GetProperty("rows").GetRawText(), unix.GetProperty("rows").GetRawText());
        Assert.Equal(utc.GetProperty("rows").GetRawText(), offset.GetProperty("rows").GetRawText());
    }
}
