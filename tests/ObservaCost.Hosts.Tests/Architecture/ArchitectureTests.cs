using System.Reflection;
using System.Xml.Linq;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Collector;
using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Architecture;

/// <summary>
/// The dependency rules of issue 11, read from the compiled assemblies' references and the .csproj files: the
/// collector library references storage and the token authentication library only, that library storage only, the
/// analytics domain storage and the time-series library only, and nothing references a deployable under hosts/.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>The deployables: composition roots, referenced by tests only.</summary>
    private static readonly string[] Deployables = ["ObservaCost.NodeCollector", "ObservaCost.AnalyticsService", "ObservaCost.SingleMachine"];

    private static readonly string[] HostConcerns = ["Microsoft.AspNetCore", "Quartz", "Npgsql"];

    private static readonly string[] AnalyticsOnly = ["Quartz", "Npgsql", "MathNet"];

    private static List<string> References(Assembly assembly) => [.. assembly.GetReferencedAssemblies().Select(a => a.Name!)];

    private static bool StartsWithAny(string name, IEnumerable<string> prefixes) => prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    [Fact]
    public void CollectorLibrary_ReferencesStorageAndSecurityOnly_AndNoAnalyticsPackage()
    {
        List<string> references = References(typeof(CollectorApplication).Assembly);

        Assert.Equal(["ObservaCost.Security", "ObservaCost.Storage"], references.Where(n => n.StartsWith("ObservaCost.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(references, n => StartsWithAny(n, AnalyticsOnly));
    }

    [Fact]
    public void SecurityLibrary_ReferencesStorageOnly_AndNoAnalyticsPackage()
    {
        List<string> references = References(typeof(ObservaCost.Security.TokenAuthenticationHandler).Assembly);

        Assert.Equal(["ObservaCost.Storage"], references.Where(n => n.StartsWith("ObservaCost.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(references, n => StartsWithAny(n, AnalyticsOnly));
    }

    [Fact]
    public void AnalyticsDomain_ReferencesStorageAndTimeSeriesOnly_AndNoHostConcern()
    {
        List<string> references = References(typeof(AnalyticsHosting).Assembly);

        Assert.Equal(
            ["ObservaCost.Analytics.TimeSeries", "ObservaCost.Storage"],
            references.Where(n => n.StartsWith("ObservaCost.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(references, n => StartsWithAny(n, HostConcerns));
    }

    [Fact]
    public void Projects_NoProductProjectReferencesADeployable_AndNoLibraryReferencesTheHostingHelper()
    {
        var violations = new List<string>();
        int checkedProjects = 0;
        foreach (string folder in new[] { "storage", "security", "collector", "analytics", "hosts" })
        {
            foreach (string project in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.csproj", SearchOption.AllDirectories))
            {
                checkedProjects++;
                bool isHost = folder == "hosts";
                foreach (string reference in ProjectReferences(project))
                {
                    if (Deployables.Contains(reference, StringComparer.Ordinal) || (!isHost && reference == "ObservaCost.Hosting"))
                    {
                        violations.Add($"{Path.GetRelativePath(RepoPaths.Root, project)} -> {reference}");
                    }
                }
            }
        }

        // storage, security, collector, 4 analytics libraries, 4 projects under hosts/: the walk found them all.
        Assert.True(checkedProjects >= 11, $"only {checkedProjects} projects found under {RepoPaths.Root}");
        Assert.Empty(violations);
    }

    [Fact]
    public void Deployables_EachReferencesTheHostingHelper()
    {
        foreach (string deployable in Deployables)
        {
            string project = Path.Combine(RepoPaths.Root, "hosts", deployable, deployable + ".csproj");
            Assert.Contains("ObservaCost.Hosting", ProjectReferences(project));
        }
    }

    /// <summary>The project names (file names without .csproj) of a project's ProjectReference items.</summary>
    private static IEnumerable<string> ProjectReferences(string project) =>
        XDocument.Load(project).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension((string)r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();
}
