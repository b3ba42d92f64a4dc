using System.Text.Json;

namespace ObservaCost.Deployment.Tests.Support;

/// <summary>Reading rendered workloads (DaemonSet, Deployment): their pod spec, containers and environment.</summary>
public static class Workloads
{
    public static readonly string[] Kinds = ["DaemonSet", "Deployment"];

    public static IEnumerable<RenderedObject> Of(IEnumerable<RenderedObject> objects) => objects.Where(o => Kinds.Contains(o.Kind));

    public static RenderedObject Single(IEnumerable<RenderedObject> objects, string kind, string component) =>
        Assert.Single(objects, o => o.Kind == kind && o.Name.EndsWith("-" + component, StringComparison.Ordinal));

    public static JsonElement PodSpec(this RenderedObject workload) =>
        workload.Object.GetProperty("spec").GetProperty("template").GetProperty("spec");

    public static IEnumerable<JsonElement> Containers(this RenderedObject workload) => workload.PodSpec().GetProperty("containers").EnumerateArray();

    public static IEnumerable<JsonElement> InitContainers(this RenderedObject workload) =>
        workload.PodSpec().TryGetProperty("initContainers", out JsonElement init) ? init.EnumerateArray() : [];

    public static IEnumerable<JsonElement> Env(this JsonElement container) =>
        container.TryGetProperty("env", out JsonElement env) ? env.EnumerateArray() : [];

    public static JsonElement? EnvVar(this JsonElement container, string name) =>
        container.Env().Cast<JsonElement?>().FirstOrDefault(e => e!.Value.GetProperty("name").GetString() == name);

    public static string? Path(this JsonElement element, params string[] path)
    {
        JsonElement current = element;
        foreach (string step in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(step, out current))
            {
                return null;
            }
        }

        return current.ValueKind switch
        {
            JsonValueKind.String => current.GetString(),
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            _ => current.GetRawText(),
        };
    }
}
