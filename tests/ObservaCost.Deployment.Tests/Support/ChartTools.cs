using System.Text.Json;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Support;

/// <summary>One rendered Kubernetes object and what kubernetes-models' <c>validate()</c> said about it.</summary>
public sealed record RenderedObject(string Kind, string Name, IReadOnlyList<string> Errors, JsonElement Object);

/// <summary>
/// helm and node with kubernetes-models, as <c>bash build/install-tools.sh</c> installs them into <c>build/.tools</c>
/// (no test is skipped without them: a missing tool fails the test and says how to install it).
/// </summary>
public static class ChartTools
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string ChartDirectory { get; } = Path.Combine(RepoPaths.Root, "helm", "observacost");

    public static string ToolsDirectory { get; } = Path.Combine(RepoPaths.Root, "build", ".tools");

    public static string Helm
    {
        get
        {
            string helm = Path.Combine(ToolsDirectory, "bin", "helm");
            return File.Exists(helm) ? helm : throw new FileNotFoundException($"helm is missing at {helm}: run bash build/install-tools.sh (build/test.sh runs it).");
        }
    }

    /// <summary>The values files the chart is tested with, by name: none (the defaults) and the files in <c>helm/observacost/ci</c>.</summary>
    public static string? ValuesFile(string name) => name == "default" ? null : Path.Combine(ChartDirectory, "ci", name + "-values.yaml");

    public static TheoryData<string> ValuesFiles => ["default", "ha", "influxdb", "victoriametrics"];

    public static Task<ToolResult> HelmAsync(params string[] arguments) =>
        ToolRun.RunAsync(Helm, arguments, RepoPaths.Root, Timeout);

    /// <summary><c>helm template</c> of the chart (or of <paramref name="chart"/>) with a values file by name and <c>--set</c> pairs.</summary>
    public static Task<ToolResult> TemplateAsync(string valuesName, IEnumerable<string>? sets = null, string? chart = null)
    {
        var arguments = new List<string> { "template", "oc", chart ?? ChartDirectory, "--namespace", "gpu-cost" };
        if (ValuesFile(valuesName) is { } file)
        {
            arguments.AddRange(["--values", file]);
        }

        foreach (string set in sets ?? [])
        {
            arguments.AddRange(["--set", set]);
        }

        return HelmAsync([.. arguments]);
    }

    /// <summary>Renders, requires success, and validates every object with kubernetes-models.</summary>
    public static async Task<IReadOnlyList<RenderedObject>> RenderAsync(string valuesName, IEnumerable<string>? sets = null, string? chart = null)
    {
        ToolResult rendered = await TemplateAsync(valuesName, sets, chart);
        Assert.True(rendered.ExitCode == 0, "helm template failed: " + rendered);
        return await ValidateAsync(rendered.Output);
    }

    /// <summary>Runs Validation/validate-objects.mjs over a multi-document YAML text; one entry per object.</summary>
    public static async Task<IReadOnlyList<RenderedObject>> ValidateAsync(string yaml)
    {
        string file = Path.Combine(Path.GetTempPath(), "observacost-rendered-" + Guid.NewGuid().ToString("N") + ".yaml");
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            string script = Path.Combine(AppContext.BaseDirectory, "Validation", "validate-objects.mjs");
            Assert.True(Directory.Exists(Path.Combine(ToolsDirectory, "node_modules", "kubernetes-models")), $"kubernetes-models is missing under {ToolsDirectory}: run bash build/install-tools.sh.");
            ToolResult result = await ToolRun.RunAsync("node", [script, ToolsDirectory, file], RepoPaths.Root, Timeout);
            Assert.True(result.ExitCode is 0 or 1, "validate-objects.mjs failed: " + result);
            return [.. result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)];
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static RenderedObject Parse(string line)
    {
        JsonElement report = JsonDocument.Parse(line).RootElement;
        string Text(string property) => report.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
        return new RenderedObject(Text("kind"), Text("name"), [.. report.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!)],
            report.TryGetProperty("object", out JsonElement obj) ? obj.Clone() : default);
    }
}
