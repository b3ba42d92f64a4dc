using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ObservaCost.Dashboards.Tests.Model;
using Xunit.Abstractions;

namespace ObservaCost.Dashboards.Tests.Queries;

/// <summary>
/// Every query of every dashboard — panel targets, annotation targets and variable queries — turned into the InfluxQL
/// Grafana sends (<see cref="GrafanaInterpolation"/>) and run against a real influxd holding the demo fleet written
/// through the collector and computed by the analytics jobs (<see cref="DemoFleetOnInfluxDb"/>), with the dashboards'
/// "now" at the end of that history. Each must return rows; the FinOps figures must equal the API's.
/// </summary>
public sealed class DashboardQueryTests(DemoFleetOnInfluxDb fleet, ITestOutputHelper output) : IClassFixture<DemoFleetOnInfluxDb>
{
    /// <summary>Every (dashboard, query) pair, named as the failures name them.</summary>
    public static TheoryData<string, string> PanelAndAnnotationQueries
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string file in GrafanaDashboard.FileNames)
            {
                foreach (DashboardQuery query in GrafanaDashboard.Load(file).Queries)
                {
                    data.Add(file, query.Where);
                }
            }

            return data;
        }
    }

    public static TheoryData<string, string> VariableQueries
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string file in GrafanaDashboard.FileNames)
            {
                foreach (JsonObject variable in GrafanaDashboard.Load(file).Variables.Where(v => GrafanaDashboard.Text(v, "type") == "query"))
                {
                    data.Add(file, GrafanaDashboard.Text(variable, "name")!);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(PanelAndAnnotationQueries))]
    public async Task DashboardQuery_EveryVariableAll_ReturnsRows(string file, string where)
    {
        GrafanaDashboard dashboard = GrafanaDashboard.Load(file);
        DashboardQuery query = dashboard.Queries.Single(q => q.Where == where);
        string influxQl = Interpolated(dashboard, query, AllChosen(dashboard));
        output.WriteLine(influxQl);

        int rows = await RowCountAsync(influxQl);
        Assert.True(rows > 0, where + " returned no rows for: " + influxQl);
    }

    [Theory]
    [MemberData(nameof(VariableQueries))]
    public async Task VariableQuery_EveryOtherVariableAll_ListsTheFleetsValues(string file, string name)
    {
        GrafanaDashboard dashboard = GrafanaDashboard.Load(file);
        JsonObject variable = dashboard.Variables.Single(v => GrafanaDashboard.Text(v, "name") == name);
        string influxQl = GrafanaInterpolation.Interpolate(
            GrafanaDashboard.Text(variable, "query")!, new TimeRange(fleet.From, fleet.Now), 60_000, AllChosen(dashboard), AllValues(dashboard));
        IReadOnlyList<string> values = await TagValuesAsync(influxQl);
        output.WriteLine(influxQl + " → " + string.Join(", ", values));

        // The demo fleet (DemoFleet.Default): cluster "simulated"; four pools of one node each; three served models
        // and three tenants (cost windows of a GPU whose served model has no requests still carry that model).
        string[] expected = name switch
        {
            "cluster" => ["simulated"],
            "pool" => ["chat-h100", "chat-h200", "small-l40s", "small-l4"],
            "node" => ["sim-chat-h100-01", "sim-chat-h200-01", "sim-small-l40s-01", "sim-small-l4-01"],
            "model" => ["llama-3.1-70b", "mistral-7b", "qwen2.5-coder-7b"],
            "tenant" => ["acme", "globex", "initech"],
            _ => throw new InvalidOperationException("No expectation for variable " + name),
        };
        Assert.Subset(values.ToHashSet(StringComparer.Ordinal), expected.ToHashSet(StringComparer.Ordinal));
        if (name is "cluster" or "pool" or "node")
        {
            Assert.Equal(expected.Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task PlatformHeatmap_OneNodeChosen_OnlyThatNodesFourGpus()
    {
        // The regex the node variable becomes must select exactly the chosen node: 4 GPUs, one series each.
        GrafanaDashboard dashboard = GrafanaDashboard.Load("platform.json");
        DashboardQuery heatmap = dashboard.Queries.First(q => q.Panel is not null && GrafanaDashboard.Text(q.Panel, "type") == "heatmap");
        Dictionary<string, VariableChoice> choices = AllChosen(dashboard);
        choices["node"] = VariableChoice.Of("sim-chat-h100-01");
        using JsonDocument result = await fleet.QueryAsync(Interpolated(dashboard, heatmap, choices));
        string[] series = [.. Series(result).Select(s => s.GetProperty("tags").GetProperty("node").GetString() + "/" + s.GetProperty("tags").GetProperty("gpu").GetString())];
        Assert.Equal(["sim-chat-h100-01/0", "sim-chat-h100-01/1", "sim-chat-h100-01/2", "sim-chat-h100-01/3"], series.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FinOpsCostPerMillionTokens_OneModelOneHour_EqualsTheApi()
    {
        const string Model = "llama-3.1-70b";
        DateTimeOffset hour = ComparedHour();
        Dictionary<string, VariableChoice> choices = AllChosen(GrafanaDashboard.Load("finops.json"));
        choices["model"] = VariableChoice.Of(Model);
        Dictionary<string, double> dashboard = await FinOpsHourAsync("Cost per 1M tokens by model", hour, choices, "model");
        double dashboardValue = Assert.Single(dashboard, kv => kv.Key == Model).Value;
        Assert.Single(dashboard); // the chosen model only

        using JsonDocument api = await GetJsonAsync(CostPath(hour, "model"));
        JsonElement row = api.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("model").GetString() == Model);
        double apiValue = row.GetProperty("costPerMillionTokensUsd").GetDouble();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{hour:u} {Model}: dashboard {dashboardValue:R} $/1M tokens, API {apiValue:R}"));

        // Both are sum(cost_usd) / sum(tokens) × 1e6 over the same stored float64 rows; only the order of the additions
        // may differ: equal to 1e-9 relative.
        Assert.True(apiValue > 0, api.RootElement.ToString());
        Assert.Equal(apiValue, dashboardValue, apiValue * 1e-9);
    }

    [Fact]
    public async Task FinOpsCostPerMillionTokensByTenant_OneHour_EqualsTheApiPerModelAndTenant()
    {
        // Every (model, tenant) row the API prices for the hour, against the panel's series with every variable at All:
        // the three served models × the three tenants at least.
        DateTimeOffset hour = ComparedHour();
        Dictionary<string, double> dashboard = await FinOpsHourAsync("Cost per 1M tokens by model and tenant", hour, AllChosen(GrafanaDashboard.Load("finops.json")), "model", "tenant");
        using JsonDocument api = await GetJsonAsync(CostPath(hour, "model,tenant"));
        var compared = new List<string>();
        foreach (JsonElement row in api.RootElement.GetProperty("rows").EnumerateArray())
        {
            string model = Tag(row, "model"), tenant = Tag(row, "tenant");
            if (model.Length == 0 || !row.TryGetProperty("costPerMillionTokensUsd", out JsonElement value) || value.ValueKind != JsonValueKind.Number)
            {
                continue; // no model (idle, unallocated) or no tokens: the panel has no series for it either
            }

            string key = model + " / " + tenant;
            Assert.True(dashboard.TryGetValue(key, out double panel), key + " is missing from the panel: " + string.Join(", ", dashboard.Keys));
            Assert.Equal(value.GetDouble(), panel, value.GetDouble() * 1e-9);
            compared.Add(key);
        }

        output.WriteLine(string.Join(", ", compared));
        Assert.True(compared.Count >= 9, "compared only " + string.Join(", ", compared));
    }

    [Fact]
    public async Task FinOpsCarbon_OneHour_FacilityEnergyTimesTheMiddayIntensityPlusEmbodied()
    {
        // The compared hour is a Wednesday 12:00–13:00 UTC: 13:00–14:00 in Berlin in winter, 14:00–15:00 in summer,
        // inside the example pricing's "midday-solar" period (10–16 local): 250 gCO2e/kWh for the whole hour.
        // Embodied: H100 1,500 kg over its 4 depreciation years = 1,500,000 g / 35,040 h = 42.808219… g per GPU-hour;
        // L40S 600 kg over 3 years = 600,000 / 26,280 = 22.831050… g; the rented H200 and L4 (default entry) none.
        // So kgCO2e = (facility J / 3.6e6 × 250 + H100 GPU-h × 42.808219… + L40S GPU-h × 22.831050…) / 1,000, and the
        // panel's gCO2e per 1M tokens = grams / tokens × 1e6.
        DateTimeOffset hour = ComparedHour();
        GrafanaDashboard finops = GrafanaDashboard.Load("finops.json");
        DashboardQuery panel = finops.Queries.Single(q => q.Panel is not null && GrafanaDashboard.Text(q.Panel, "title") == "Carbon and carbon per 1M tokens");
        var range = new TimeRange(hour, hour.AddHours(1));
        using JsonDocument result = await fleet.QueryAsync(GrafanaInterpolation.Interpolate(panel.Query, range, GrafanaInterpolation.IntervalMs(range, panel.Panel), AllChosen(finops), AllValues(finops)));
        JsonElement series = Assert.Single(Series(result));
        Assert.Equal(["time", "kgCO2e", "gCO2e per 1M tokens"], series.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        JsonElement row = series.GetProperty("values").EnumerateArray().Single(r => r[0].GetInt64() == hour.ToUnixTimeMilliseconds() * 1_000_000);

        using JsonDocument api = await GetJsonAsync(CostPath(hour, "gpu_model"));
        JsonElement totals = api.RootElement.GetProperty("totals");
        double GpuHours(string model) => api.RootElement.GetProperty("rows").EnumerateArray().Where(r => Tag(r, "gpuModel") == model).Sum(r => r.GetProperty("gpuHours").GetDouble());
        double h100 = GpuHours("H100"), l40s = GpuHours("L40S");
        Assert.True(h100 > 0 && l40s > 0, "the demo fleet has H100s and L40S");
        double grams = (totals.GetProperty("facilityEnergyJoules").GetDouble() / 3.6e6 * 250) + (h100 * 1_500_000 / 35_040) + (l40s * 600_000 / 26_280);
        double tokens = totals.GetProperty("promptTokens").GetDouble() + totals.GetProperty("completionTokens").GetDouble();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{hour:u}: panel {row[1].GetDouble():R} kg, {row[2].GetDouble():R} g/1M; by hand {grams / 1000:R} kg over {tokens} tokens, H100 {h100} GPU-h, L40S {l40s} GPU-h"));

        Assert.Equal(grams / 1000, row[1].GetDouble(), grams / 1000 * 1e-9);
        Assert.Equal(grams / tokens * 1e6, row[2].GetDouble(), grams / tokens * 1e6 * 1e-9);
        Assert.Equal(grams, totals.GetProperty("co2eGrams").GetDouble(), grams * 1e-9);
    }

    /// <summary>The hour 3 h before the end of the history: whole, and served (every model runs all day).</summary>
    private DateTimeOffset ComparedHour() =>
        new DateTimeOffset(fleet.Now.UtcTicks - (fleet.Now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddHours(-3);

    private static string CostPath(DateTimeOffset hour, string groupBy) =>
        string.Create(CultureInfo.InvariantCulture, $"/api/v1/cost?from={hour:yyyy-MM-ddTHH:mm:ssZ}&to={hour.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}&groupBy={groupBy}");

    private static string Tag(JsonElement row, string name) =>
        row.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;

    /// <summary>
    /// A FinOps panel's values for one hour, by its series' tags joined with " / ". Over a 1 h range the panel's
    /// interval is its min interval, 1h: one bucket per hour. Grafana's time filter includes its end, so the next
    /// hour's bucket can come too; the bucket at the hour's start is the hour.
    /// </summary>
    private async Task<Dictionary<string, double>> FinOpsHourAsync(string title, DateTimeOffset hour, Dictionary<string, VariableChoice> choices, params string[] tags)
    {
        GrafanaDashboard finops = GrafanaDashboard.Load("finops.json");
        DashboardQuery panel = finops.Queries.Single(q => q.Panel is not null && GrafanaDashboard.Text(q.Panel, "title") == title);
        var range = new TimeRange(hour, hour.AddHours(1));
        string influxQl = GrafanaInterpolation.Interpolate(panel.Query, range, GrafanaInterpolation.IntervalMs(range, panel.Panel), choices, AllValues(finops));
        Assert.Contains("GROUP BY time(1h)", influxQl, StringComparison.Ordinal);
        using JsonDocument result = await fleet.QueryAsync(influxQl);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (JsonElement series in Series(result))
        {
            JsonElement row = series.GetProperty("values").EnumerateArray().Single(r => r[0].GetInt64() == hour.ToUnixTimeMilliseconds() * 1_000_000);
            values.Add(string.Join(" / ", tags.Select(t => series.GetProperty("tags").GetProperty(t).GetString())), row[1].GetDouble());
        }

        return values;
    }

    [Fact]
    public async Task FinOpsSpendInRange_AllVariables_EqualsTheApisTotal()
    {
        // The whole history: with every variable at All (".*"), the stat must count every cost window — those without
        // a model or tenant (idle, unallocated GPUs) too — so it equals the API's fleet total.
        var range = new TimeRange(fleet.From, fleet.Now);
        using JsonDocument result = await FinOpsPanelAsync("Spend in range", range);
        double dashboardValue = Assert.Single(Series(result)).GetProperty("values")[0][1].GetDouble();

        using JsonDocument api = await GetJsonAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/cost?from={range.From:yyyy-MM-ddTHH:mm:ssZ}&to={range.To:yyyy-MM-ddTHH:mm:ssZ}"));
        double apiValue = api.RootElement.GetProperty("totals").GetProperty("costUsd").GetDouble();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"spend over {History()}: dashboard {dashboardValue:R} $, API {apiValue:R} $; {fleet.Timings}"));
        Assert.True(apiValue > 0);
        Assert.Equal(apiValue, dashboardValue, apiValue * 1e-9);
    }

    [Fact]
    public async Task FinOpsSpendByComponent_AllVariables_RentalSeriesEqualsTheApisRental()
    {
        // The demo fleet rents chat-h200 and small-l4 (the pricing file's default entry, 2.5 $/GPU-hour) and owns the
        // rest: the panel's rental series, summed over the whole history, is the API's rentalUsd, and capex + opex +
        // rental + energy is its costUsd (all four are sums of the same stored float64 rows: equal to 1e-9).
        var range = new TimeRange(fleet.From, fleet.Now);
        using JsonDocument result = await FinOpsPanelAsync("Spend by component", range);
        JsonElement series = Assert.Single(Series(result));
        string[] columns = [.. series.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!)];
        Assert.Equal(["time", "capex", "opex", "rental", "energy"], columns);
        double[] sums = new double[columns.Length];
        foreach (JsonElement row in series.GetProperty("values").EnumerateArray())
        {
            for (int i = 1; i < columns.Length; i++)
            {
                sums[i] += row[i].ValueKind == JsonValueKind.Number ? row[i].GetDouble() : 0;
            }
        }

        using JsonDocument api = await GetJsonAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/cost?from={range.From:yyyy-MM-ddTHH:mm:ssZ}&to={range.To:yyyy-MM-ddTHH:mm:ssZ}"));
        JsonElement totals = api.RootElement.GetProperty("totals");
        double apiRental = totals.GetProperty("rentalUsd").GetDouble(), apiCost = totals.GetProperty("costUsd").GetDouble();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rental over {History()}: dashboard {sums[3]:R} $, API {apiRental:R} $ of {apiCost:R} $"));
        Assert.True(apiRental > 0 && apiRental < apiCost, "the demo fleet rents some GPUs and owns others");
        Assert.Equal(apiRental, sums[3], apiRental * 1e-9);
        Assert.Equal(apiCost, sums[1] + sums[2] + sums[3] + sums[4], apiCost * 1e-9);
        Assert.Equal(totals.GetProperty("opexUsd").GetDouble(), sums[2], apiCost * 1e-9);
    }

    /// <summary>A FinOps panel's query over <paramref name="range"/> with every variable at All, run on influxd.</summary>
    private Task<JsonDocument> FinOpsPanelAsync(string title, TimeRange range)
    {
        GrafanaDashboard finops = GrafanaDashboard.Load("finops.json");
        DashboardQuery panel = finops.Queries.Single(q => q.Panel is not null && GrafanaDashboard.Text(q.Panel, "title") == title);
        return fleet.QueryAsync(GrafanaInterpolation.Interpolate(panel.Query, range, GrafanaInterpolation.IntervalMs(range, panel.Panel), AllChosen(finops), AllValues(finops)));
    }

    private string History() => string.Create(CultureInfo.InvariantCulture, $"{fleet.From:u} – {fleet.Now:u}");

    private string Interpolated(GrafanaDashboard dashboard, DashboardQuery query, IReadOnlyDictionary<string, VariableChoice> choices)
    {
        TimeRange range = GrafanaInterpolation.PanelRange(dashboard, query.Panel, fleet.Now);
        return GrafanaInterpolation.Interpolate(query.Query, range, GrafanaInterpolation.IntervalMs(range, query.Panel), choices, AllValues(dashboard));
    }

    private static Dictionary<string, VariableChoice> AllChosen(GrafanaDashboard dashboard) =>
        dashboard.Variables.ToDictionary(v => GrafanaDashboard.Text(v, "name")!, _ => VariableChoice.AllValues, StringComparer.Ordinal);

    private static Dictionary<string, string> AllValues(GrafanaDashboard dashboard) =>
        dashboard.Variables.Where(v => GrafanaDashboard.Text(v, "allValue") is not null)
            .ToDictionary(v => GrafanaDashboard.Text(v, "name")!, v => GrafanaDashboard.Text(v, "allValue")!, StringComparer.Ordinal);

    private async Task<int> RowCountAsync(string influxQl)
    {
        using JsonDocument result = await fleet.QueryAsync(influxQl);
        return Series(result).Sum(s => s.GetProperty("values").GetArrayLength());
    }

    private async Task<IReadOnlyList<string>> TagValuesAsync(string influxQl)
    {
        using JsonDocument result = await fleet.QueryAsync(influxQl);
        return [.. Series(result).SelectMany(s => s.GetProperty("values").EnumerateArray().Select(row => row[1].GetString()!)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The series of the single statement's result; an InfluxQL error fails the test with influxd's message.</summary>
    private static List<JsonElement> Series(JsonDocument result)
    {
        JsonElement statement = result.RootElement.GetProperty("results")[0];
        if (statement.TryGetProperty("error", out JsonElement error))
        {
            Assert.Fail("influxd: " + error.GetString());
        }

        return statement.TryGetProperty("series", out JsonElement series) ? [.. series.EnumerateArray()] : [];
    }

    private async Task<JsonDocument> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await fleet.Host.Client.GetAsync(new Uri(path, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, path + ": " + body);
        return JsonDocument.Parse(body);
    }
}
