using System.Formats.Tar;
using System.IO.Compression;
using ObservaCost.Deployment.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Chart;

/// <summary>
/// The Grafana dashboards ship from the chart as one ConfigMap per <c>dashboards/*.json</c>, labelled
/// <c>grafana_dashboard: "1"</c> for Grafana's sidecar. The chart's <c>dashboards</c> folder is a link to the
/// repository's, so the count follows the directory (none today, four once the dashboards land).
/// </summary>
public sealed class DashboardConfigMapTests
{
    private static IEnumerable<RenderedObject> DashboardConfigMaps(IEnumerable<RenderedObject> objects) =>
        objects.Where(o => o.Kind == "ConfigMap" && o.Object.Path("metadata", "labels", "grafana_dashboard") is not null);

    [Fact]
    public async Task Dashboards_EachJsonInTheRepository_OneLabelledConfigMapWithTheFile()
    {
        string[] files = [.. Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "dashboards"), "*.json").Order(StringComparer.Ordinal)];

        RenderedObject[] maps = [.. DashboardConfigMaps(await ChartTools.RenderAsync("default"))];

        Assert.Equal(files.Length, maps.Length);
        Assert.Equal(maps.Length, maps.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            RenderedObject map = Assert.Single(maps, m => m.Object.Path("data", name) is not null);
            Assert.Equal("1", map.Object.Path("metadata", "labels", "grafana_dashboard"));
            Assert.Equal((await File.ReadAllTextAsync(file)).TrimEnd('\n'), map.Object.Path("data", name));
        }
    }

    [Fact]
    public async Task Dashboards_TwoFilesInTheDashboardsFolder_TwoValidConfigMaps()
    {
        // A copy of the chart whose dashboards folder holds two files (what the folder holds after the dashboards merge).
        string chart = CopyChartWithDashboards(("platform.json", """{"uid":"observacost-platform","title":"Platform","panels":[]}"""),
            ("finops_costs.json", """{"uid":"observacost-finops","title":"FinOps","panels":[]}"""));
        try
        {
            IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("default", chart: chart);
            RenderedObject[] maps = [.. DashboardConfigMaps(objects)];

            Assert.Equal(2, maps.Length);
            Assert.All(maps, m => Assert.Empty(m.Errors));
            Assert.Equal(["oc-observacost-dashboards-finops-costs", "oc-observacost-dashboards-platform"], maps.Select(m => m.Name).Order(StringComparer.Ordinal));
            Assert.Equal("""{"uid":"observacost-platform","title":"Platform","panels":[]}""", maps.Single(m => m.Name.EndsWith("-platform", StringComparison.Ordinal)).Object.Path("data", "platform.json"));
            Assert.All(maps, m => Assert.Equal("1", m.Object.Path("metadata", "labels", "grafana_dashboard")));

            Assert.Empty(DashboardConfigMaps(await ChartTools.RenderAsync("default", ["dashboards.enabled=false"], chart)));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(chart)!, recursive: true);
        }
    }

    [Fact]
    public async Task Package_LinkedFolders_PackedWithTheirFiles()
    {
        string output = Directory.CreateTempSubdirectory("observacost-package-").FullName;
        try
        {
            ToolResult package = await ChartTools.HelmAsync("package", ChartTools.ChartDirectory, "--destination", output);
            Assert.True(package.ExitCode == 0, package.ToString());

            string archive = Assert.Single(Directory.GetFiles(output, "observacost-*.tgz"));
            var entries = new List<string>();
            await using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
            await using (var tar = new TarReader(gzip))
            {
                while (await tar.GetNextEntryAsync() is { } entry)
                {
                    entries.Add(entry.Name);
                }
            }

            Assert.Contains("observacost/files/pricing.example.json", entries);
            Assert.Contains("observacost/README.md", entries);
            Assert.Contains("observacost/values.schema.json", entries);
            Assert.Contains("observacost/templates/NOTES.txt", entries);
            foreach (string dashboard in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "dashboards"), "*.json"))
            {
                Assert.Contains("observacost/dashboards/" + Path.GetFileName(dashboard), entries);
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string CopyChartWithDashboards(params (string Name, string Json)[] dashboards)
    {
        string target = Path.Combine(Directory.CreateTempSubdirectory("observacost-chart-").FullName, "observacost");
        Copy(ChartTools.ChartDirectory, target);
        string folder = Path.Combine(target, "dashboards");
        Directory.CreateDirectory(folder);
        foreach ((string name, string json) in dashboards)
        {
            File.WriteAllText(Path.Combine(folder, name), json);
        }

        return target;

        static void Copy(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (string file in Directory.GetFiles(from))
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file))); // follows a linked file (files/pricing.example.json)
            }

            foreach (string directory in Directory.GetDirectories(from).Where(d => Path.GetFileName(d) != "dashboards"))
            {
                Copy(directory, Path.Combine(to, Path.GetFileName(directory)));
            }
        }
    }
}
