using System.Reflection;

namespace ObservaCost.Reporting.Reports;

/// <summary>
/// The software a report was made with: the version and the git commit of the informational version
/// <c>&lt;version&gt;+&lt;commit&gt;</c> the build stamps (SourceRevisionId), <c>unknown</c> without one.
/// </summary>
public sealed record ReportSoftware(string Version, string Commit)
{
    public const string UnknownCommit = "unknown";

    /// <summary>Splits an informational version such as <c>0.11.0+0123abcd…</c>.</summary>
    public static ReportSoftware Parse(string? informationalVersion)
    {
        string text = informationalVersion ?? "0.0.0";
        int plus = text.IndexOf('+', StringComparison.Ordinal);
        string version = plus < 0 ? text : text[..plus];
        string commit = plus < 0 || plus == text.Length - 1 ? UnknownCommit : text[(plus + 1)..];
        return new ReportSoftware(version, commit);
    }

    /// <summary>The version of an assembly (the entry assembly: the host that runs the report).</summary>
    public static ReportSoftware Of(Assembly? assembly) =>
        Parse(assembly?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
}
