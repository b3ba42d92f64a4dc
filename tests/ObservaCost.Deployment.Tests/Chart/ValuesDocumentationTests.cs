using ObservaCost.Deployment.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Chart;

/// <summary>
/// helm/README.md's values table is what the <c># --</c> comments in values.yaml say (build/helm-values-table.mjs
/// generates it; helm-docs is not available here), and every value has such a comment.
/// </summary>
public sealed class ValuesDocumentationTests
{
    private static string Generator => Path.Combine(RepoPaths.Root, "build", "helm-values-table.mjs");

    [Fact]
    public async Task ReadmeTable_Committed_EqualsTheValuesComments()
    {
        ToolResult check = await ToolRun.RunAsync("node", [Generator, "--check"], RepoPaths.Root, ChartTools.Timeout);

        Assert.True(check.ExitCode == 0, check.ToString());
    }

    [Fact]
    public async Task ReadmeTable_ValueWithoutComment_CheckFails()
    {
        string folder = Directory.CreateTempSubdirectory("observacost-values-").FullName;
        try
        {
            string values = Path.Combine(folder, "values.yaml");
            string readme = Path.Combine(folder, "README.md");
            string text = await File.ReadAllTextAsync(Path.Combine(ChartTools.ChartDirectory, "values.yaml"));
            const string Comment = "    # -- Largest spool on disk in bytes";
            Assert.Contains(Comment, text, StringComparison.Ordinal);
            await File.WriteAllTextAsync(values, text.Replace(Comment, "    # Largest spool on disk in bytes", StringComparison.Ordinal));
            File.Copy(Path.Combine(RepoPaths.Root, "helm", "README.md"), readme);

            ToolResult check = await ToolRun.RunAsync("node", [Generator, "--check", "--values", values, "--readme", readme], RepoPaths.Root, ChartTools.Timeout);

            Assert.Equal(1, check.ExitCode);
            Assert.Contains("collector.spool.maxBytes", check.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
