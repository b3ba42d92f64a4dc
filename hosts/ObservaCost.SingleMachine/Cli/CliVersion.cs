using System.Reflection;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// The version <c>observacost --version</c> prints: the assembly's informational version, <c>&lt;version&gt;+&lt;commit&gt;</c>,
/// where the build stamps the git commit (SourceRevisionId, see the .csproj); <c>unknown</c> when it was built without git.
/// </summary>
public static class CliVersion
{
    public const string UnknownCommit = "unknown";

    /// <summary>The line printed: <c>observacost 0.11.0 (commit 0123…)</c>.</summary>
    public static string Line => Describe(typeof(CliVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>The line for an informational version such as <c>0.11.0+0123abcd…</c>.</summary>
    public static string Describe(string? informationalVersion)
    {
        string text = informationalVersion ?? "0.0.0";
        int plus = text.IndexOf('+', StringComparison.Ordinal);
        string version = plus < 0 ? text : text[..plus];
        string commit = plus < 0 || plus == text.Length - 1 ? UnknownCommit : text[(plus + 1)..];
        return $"{ObservaCostCli.Name} {version} (commit {commit})";
    }
}
