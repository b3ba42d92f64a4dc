using System.Reflection;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// The version <c>observacost --version</c> prints: the assembly's informational version, <c>&lt;version&gt;+&lt;commit&gt;</c>,
/// where the build stamps the git commit (SourceRevisionId, see the .csproj); <c>unknown</c> when it was built without git.
/// </summary>
public static class CliVersion
{
    public const string UnknownCommit = ReportSoftware.UnknownCommit;

    /// <summary>The line printed: <c>observacost 0.11.0 (commit 0123…)</c>.</summary>
    public static string Line => Describe(typeof(CliVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>The line for an informational version such as <c>0.11.0+0123abcd…</c>.</summary>
    public static string Describe(string? informationalVersion)
    {
        // One parser for the CLI line and the reports' reproducibility footer.
        ReportSoftware software = ReportSoftware.Parse(informationalVersion);
        return $"{ObservaCostCli.Name} {software.Version} (commit {software.Commit})";
    }
}
