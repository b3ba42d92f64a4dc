using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Architecture;

/// <summary>
/// What a GPU node runs carries no analytics: the node collector's own build output (built before this test project,
/// which references it) holds no Quartz, Npgsql or MathNet assembly.
/// </summary>
public sealed class NodeCollectorOutputTests
{
    private static string OutputFolder
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoPaths.Root, "hosts", "ObservaCost.NodeCollector", "bin", configuration, "net10.0");
        }
    }

    [Fact]
    public void NodeCollectorBuildOutput_HasNoQuartzNpgsqlOrMathNetAssembly()
    {
        // The folder is the right one: it holds the node collector and the collector library it composes.
        Assert.True(File.Exists(Path.Combine(OutputFolder, "ObservaCost.NodeCollector.dll")), "no node collector build at " + OutputFolder);
        Assert.True(File.Exists(Path.Combine(OutputFolder, "ObservaCost.Collector.dll")));

        string[] analyticsAssemblies = [.. Directory.EnumerateFiles(OutputFolder, "*.dll", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(name => name!.StartsWith("Quartz", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Npgsql", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("MathNet", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("ObservaCost.Analytics", StringComparison.OrdinalIgnoreCase))
            .Select(name => name!)];
        Assert.Empty(analyticsAssemblies);
    }
}
