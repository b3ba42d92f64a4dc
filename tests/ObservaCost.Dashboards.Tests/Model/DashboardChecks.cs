using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace ObservaCost.Dashboards.Tests.Model;

/// <summary>
/// What can be proved of a dashboard without a Grafana server. Each check returns its failures, one readable line each
/// (empty: the check passes), so a broken dashboard names what is wrong.
/// </summary>
public static partial class DashboardChecks
{
    /// <summary>The data-source placeholder every reference uses, resolved by Grafana's import (<c>__inputs</c>) or by the variable of that name when provisioned.</summary>
    public const string DataSourcePlaceholder = "${DS_INFLUXDB}";

    /// <summary>The template variables the dashboards filter by.</summary>
    public static IReadOnlyList<string> FilterVariables { get; } = ["cluster", "pool", "node", "model", "tenant"];

    private static readonly Lazy<JsonSchema> DashboardSchema = new(() => LoadSchema("dashboard.schema.json"));
    private static readonly Lazy<JsonSchema> InfluxQlTargetSchema = new(() => LoadSchema("influxql-target.schema.json"));

    /// <summary>Grafana's global variables (and the InfluxDB data source's <c>$timeFilter</c>): defined without a template variable.</summary>
    private static readonly HashSet<string> BuiltInVariables = new(StringComparer.Ordinal)
    {
        "timeFilter", "__timeFilter", "__interval", "__interval_ms", "interval", "__from", "__to", "__range", "__range_s", "__range_ms",
        "__dashboard", "__org", "__user", "__name", "__rate_interval", "__all",
    };

    /// <summary>The names an InfluxDB alias may use: <c>$tag_x</c>, <c>$col</c>, <c>$m</c>, <c>$measurement</c>, <c>$1</c>…<c>$9</c>.</summary>
    [GeneratedRegex(@"^(tag_\w+|col|m|measurement|[1-9])$", RegexOptions.CultureInvariant)]
    private static partial Regex AliasName();

    /// <summary><c>$name</c>, <c>${name}</c> or <c>${name:format}</c>, <c>[[name]]</c>.</summary>
    [GeneratedRegex(@"\$(?<n>\w+)|\$\{(?<n>\w+)(?::[^}]*)?\}|\[\[(?<n>\w+)(?::[^\]]*)?\]\]", RegexOptions.CultureInvariant)]
    public static partial Regex VariableReference();

    /// <summary>Every check, in the order the tests name them.</summary>
    public static IReadOnlyList<string> All(GrafanaDashboard dashboard) =>
    [
        .. Schema(dashboard), .. InfluxQlTargets(dashboard), .. UniquePanelIds(dashboard), .. NoOverlappingPanels(dashboard),
        .. VariablesDefined(dashboard), .. UnitsSet(dashboard), .. Importable(dashboard),
    ];

    /// <summary>The dashboard against the JSON Schema generated from @grafana/schema (dashboards/schema/dashboard.schema.json).</summary>
    public static IReadOnlyList<string> Schema(GrafanaDashboard dashboard) => Evaluate(DashboardSchema.Value, dashboard.Json, "schema");

    /// <summary>Every panel and annotation target against Grafana's InfluxQL target shape (dashboards/schema/influxql-target.schema.json).</summary>
    public static IReadOnlyList<string> InfluxQlTargets(GrafanaDashboard dashboard)
    {
        var failures = new List<string>();
        foreach (DashboardQuery query in dashboard.Queries)
        {
            failures.AddRange(Evaluate(InfluxQlTargetSchema.Value, query.Target, query.Where + ": InfluxQL target"));
        }

        return failures;
    }

    public static IReadOnlyList<string> UniquePanelIds(GrafanaDashboard dashboard) =>
    [
        .. dashboard.Panels
            .GroupBy(p => p["id"]?.ToJsonString() ?? "(none)", StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => "panel id " + g.Key + " is used by " + string.Join(" and ", g.Select(GrafanaDashboard.Describe))),
    ];

    /// <summary>No two top-level panels (rows included) share a grid cell, and every panel fits the 24-column grid.</summary>
    public static IReadOnlyList<string> NoOverlappingPanels(GrafanaDashboard dashboard)
    {
        var failures = new List<string>();
        var placed = new List<(JsonObject Panel, int X, int Y, int W, int H)>();
        foreach (JsonNode? node in dashboard.Json["panels"]?.AsArray() ?? [])
        {
            JsonObject panel = node!.AsObject();
            if (panel["gridPos"] is not JsonObject grid)
            {
                failures.Add("panel " + GrafanaDashboard.Describe(panel) + " has no gridPos");
                continue;
            }

            (int x, int y, int w, int h) = (Cell(grid, "x"), Cell(grid, "y"), Cell(grid, "w"), Cell(grid, "h"));
            if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > 24)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"panel {GrafanaDashboard.Describe(panel)} at x={x} y={y} w={w} h={h} does not fit the 24-column grid"));
            }

            foreach ((JsonObject other, int ox, int oy, int ow, int oh) in placed)
            {
                if (x < ox + ow && ox < x + w && y < oy + oh && oy < y + h)
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"panel {GrafanaDashboard.Describe(panel)} (x={x} y={y} w={w} h={h}) overlaps panel {GrafanaDashboard.Describe(other)} (x={ox} y={oy} w={ow} h={oh})"));
                }
            }

            placed.Add((panel, x, y, w, h));
        }

        return failures;
    }

    /// <summary>Every <c>$variable</c> in a query, variable query, title or description is a template variable or one of Grafana's own.</summary>
    public static IReadOnlyList<string> VariablesDefined(GrafanaDashboard dashboard)
    {
        var defined = new HashSet<string>(dashboard.Variables.Select(v => GrafanaDashboard.Text(v, "name") ?? string.Empty), StringComparer.Ordinal);
        var failures = new List<string>();
        void Check(string where, string? text, bool alias = false)
        {
            foreach (Match match in VariableReference().Matches(text ?? string.Empty))
            {
                string name = match.Groups["n"].Value;
                if (!defined.Contains(name) && !BuiltInVariables.Contains(name) && !(alias && AliasName().IsMatch(name)))
                {
                    failures.Add(where + " uses $" + name + ", which no template variable defines");
                }
            }
        }

        foreach (JsonObject panel in dashboard.Panels)
        {
            Check("panel " + GrafanaDashboard.Describe(panel) + " title", GrafanaDashboard.Text(panel, "title"));
            Check("panel " + GrafanaDashboard.Describe(panel) + " description", GrafanaDashboard.Text(panel, "description"));
        }

        foreach (DashboardQuery query in dashboard.Queries)
        {
            Check(query.Where + " query", query.Query);
            Check(query.Where + " alias", GrafanaDashboard.Text(query.Target, "alias"), alias: true);
        }

        foreach (JsonObject variable in dashboard.Variables)
        {
            Check("variable " + GrafanaDashboard.Text(variable, "name") + " query", variable["query"] is JsonValue ? GrafanaDashboard.Text(variable, "query") : null);
        }

        return failures;
    }

    /// <summary>Every panel that shows data sets a unit (<c>fieldConfig.defaults.unit</c>).</summary>
    public static IReadOnlyList<string> UnitsSet(GrafanaDashboard dashboard) =>
    [
        .. dashboard.ContentPanels
            .Where(p => p["targets"] is JsonArray { Count: > 0 })
            .Where(p => string.IsNullOrWhiteSpace(p["fieldConfig"]?["defaults"]?["unit"] is JsonValue unit && unit.GetValueKind() == JsonValueKind.String ? unit.GetValue<string>() : null))
            .Select(p => "panel " + GrafanaDashboard.Describe(p) + " sets no unit (fieldConfig.defaults.unit)"),
    ];

    /// <summary>
    /// Importable as it is: <c>"id": null</c>, a stable <c>uid</c>, the <c>DS_INFLUXDB</c> input, every data-source
    /// reference to that placeholder, <c>__requires</c> naming every panel type, and the filter variables as
    /// <c>SHOW TAG VALUES</c> queries.
    /// </summary>
    public static IReadOnlyList<string> Importable(GrafanaDashboard dashboard)
    {
        var failures = new List<string>();
        JsonObject json = dashboard.Json;
        if (!json.ContainsKey("id") || json["id"] is not null)
        {
            failures.Add("\"id\" must be null (Grafana assigns it at import); it is " + (json["id"]?.ToJsonString() ?? "missing"));
        }

        string? uid = GrafanaDashboard.Text(json, "uid");
        if (uid is null || !StableUid().IsMatch(uid))
        {
            failures.Add("\"uid\" must be a stable observacost-… name of at most 40 characters; it is " + (uid ?? "missing"));
        }

        bool hasInput = (json["__inputs"]?.AsArray() ?? []).Any(i => i is JsonObject input
            && GrafanaDashboard.Text(input, "name") == "DS_INFLUXDB" && GrafanaDashboard.Text(input, "type") == "datasource" && GrafanaDashboard.Text(input, "pluginId") == "influxdb");
        if (!hasInput)
        {
            failures.Add("__inputs has no datasource input DS_INFLUXDB for the influxdb plugin");
        }

        var required = new HashSet<string>((json["__requires"]?.AsArray() ?? []).Select(r => r is JsonObject o ? GrafanaDashboard.Text(o, "type") + ":" + GrafanaDashboard.Text(o, "id") : string.Empty), StringComparer.Ordinal);
        foreach (string type in dashboard.ContentPanels.Select(p => GrafanaDashboard.Text(p, "type") ?? string.Empty).Distinct(StringComparer.Ordinal))
        {
            if (!required.Contains("panel:" + type))
            {
                failures.Add("__requires does not name the panel plugin " + type);
            }
        }

        foreach (string needed in new[] { "grafana:grafana", "datasource:influxdb" }.Where(n => !required.Contains(n)))
        {
            failures.Add("__requires does not name " + needed);
        }

        foreach ((string where, JsonNode? reference) in DataSourceReferences(dashboard))
        {
            if (reference is not JsonObject ds || GrafanaDashboard.Text(ds, "type") != "influxdb" || GrafanaDashboard.Text(ds, "uid") != DataSourcePlaceholder)
            {
                failures.Add(where + " datasource must be {\"type\":\"influxdb\",\"uid\":\"" + DataSourcePlaceholder + "\"}; it is " + (reference?.ToJsonString() ?? "missing"));
            }
        }

        foreach (string name in FilterVariables)
        {
            JsonObject? variable = dashboard.Variables.FirstOrDefault(v => GrafanaDashboard.Text(v, "name") == name);
            string? query = variable is null ? null : GrafanaDashboard.Text(variable, "query");
            if (variable is null || GrafanaDashboard.Text(variable, "type") != "query" || query is null || !query.StartsWith("SHOW TAG VALUES", StringComparison.Ordinal))
            {
                failures.Add("template variable " + name + " must be a query variable backed by SHOW TAG VALUES");
            }
        }

        return failures;
    }

    [GeneratedRegex("^observacost-[a-z0-9-]{1,28}$", RegexOptions.CultureInvariant)]
    private static partial Regex StableUid();

    private static IEnumerable<(string Where, JsonNode? Reference)> DataSourceReferences(GrafanaDashboard dashboard)
    {
        foreach (JsonObject panel in dashboard.ContentPanels.Where(p => p["targets"] is JsonArray))
        {
            yield return ("panel " + GrafanaDashboard.Describe(panel), panel["datasource"]);
        }

        foreach (DashboardQuery query in dashboard.Queries)
        {
            yield return (query.Where, query.Target["datasource"]);
        }

        foreach (JsonObject variable in dashboard.Variables.Where(v => GrafanaDashboard.Text(v, "type") == "query"))
        {
            yield return ("variable " + GrafanaDashboard.Text(variable, "name"), variable["datasource"]);
        }

        foreach (JsonObject annotation in dashboard.QueryAnnotations)
        {
            yield return ("annotation \"" + GrafanaDashboard.Text(annotation, "name") + "\"", annotation["datasource"]);
        }
    }

    private static int Cell(JsonObject grid, string property) =>
        grid[property] is JsonValue value && value.TryGetValue(out int cell) ? cell : -1;

    /// <summary>Built once per process (each schema's <c>$id</c> can be registered only once).</summary>
    private static JsonSchema LoadSchema(string fileName) =>
        JsonSchema.FromFile(Path.Combine(GrafanaDashboard.Folder, "schema", fileName));

    private static List<string> Evaluate(JsonSchema schema, JsonNode instance, string what)
    {
        using JsonDocument document = JsonDocument.Parse(instance.ToJsonString());
        EvaluationResults results = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        List<string> failures =
        [
            .. (results.Details ?? [])
                .Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => what + " at " + Location(d.InstanceLocation.ToString()) + ": " + e.Key + ": " + e.Value))
                .Distinct(StringComparer.Ordinal),
        ];
        return failures.Count > 0 ? failures : [what + ": invalid (no detail reported)"];
    }

    private static string Location(string pointer) => pointer.Length == 0 ? "/" : pointer;
}
