using System.Text.Json;
using System.Text.Json.Nodes;
using ObservaCost.Testing;

namespace ObservaCost.Dashboards.Tests.Model;

/// <summary>One dashboard file of <c>dashboards/</c> as Grafana reads it: its panels (rows' nested panels included), targets, variables and annotations.</summary>
public sealed class GrafanaDashboard
{
    public GrafanaDashboard(string name, JsonObject json)
    {
        Name = name;
        Json = json;
    }

    /// <summary>The file name, e.g. <c>finops.json</c>.</summary>
    public string Name { get; }

    public JsonObject Json { get; }

    public static string Folder => Path.Combine(RepoPaths.Root, "dashboards");

    /// <summary>The four dashboard files, by file name.</summary>
    public static IReadOnlyList<string> FileNames { get; } = ["anomalies.json", "executive.json", "finops.json", "platform.json"];

    public static GrafanaDashboard Load(string fileName) =>
        new(fileName, JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, fileName)))!.AsObject());

    /// <summary>A deep copy, to be broken by a test.</summary>
    public GrafanaDashboard Copy() => new(Name, Json.DeepClone().AsObject());

    /// <summary>Every panel, rows included, with the panels nested in collapsed rows.</summary>
    public IEnumerable<JsonObject> Panels
    {
        get
        {
            foreach (JsonNode? node in Json["panels"]?.AsArray() ?? [])
            {
                JsonObject panel = node!.AsObject();
                yield return panel;
                foreach (JsonNode? nested in panel["panels"]?.AsArray() ?? [])
                {
                    yield return nested!.AsObject();
                }
            }
        }
    }

    /// <summary>Panels that are not rows.</summary>
    public IEnumerable<JsonObject> ContentPanels => Panels.Where(p => Text(p, "type") != "row");

    public IEnumerable<JsonObject> Variables => (Json["templating"]?["list"]?.AsArray() ?? []).Select(v => v!.AsObject());

    /// <summary>The annotations with a query of their own (not the built-in Grafana one).</summary>
    public IEnumerable<JsonObject> QueryAnnotations =>
        (Json["annotations"]?["list"]?.AsArray() ?? []).Select(a => a!.AsObject()).Where(a => a["builtIn"] is null);

    /// <summary>Every query Grafana sends to the data source: panel targets and annotation targets, with where they are.</summary>
    public IEnumerable<DashboardQuery> Queries
    {
        get
        {
            foreach (JsonObject panel in ContentPanels)
            {
                foreach (JsonNode? target in panel["targets"]?.AsArray() ?? [])
                {
                    yield return new DashboardQuery(this, "panel " + Describe(panel) + " target " + Text(target!.AsObject(), "refId"), panel, target.AsObject());
                }
            }

            foreach (JsonObject annotation in QueryAnnotations)
            {
                if (annotation["target"] is JsonObject target)
                {
                    yield return new DashboardQuery(this, "annotation \"" + Text(annotation, "name") + "\"", null, target);
                }
            }
        }
    }

    public static string? Text(JsonObject node, string property) =>
        node[property] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    public static string Describe(JsonObject panel) => "#" + (panel["id"]?.ToJsonString() ?? "?") + " \"" + Text(panel, "title") + "\"";

    public override string ToString() => Name;
}

/// <summary>One target of a dashboard: a panel's (with its panel) or an annotation's.</summary>
public sealed record DashboardQuery(GrafanaDashboard Dashboard, string Where, JsonObject? Panel, JsonObject Target)
{
    public string Query => GrafanaDashboard.Text(Target, "query") ?? string.Empty;

    public override string ToString() => Dashboard.Name + " " + Where;
}
