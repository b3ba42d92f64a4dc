using ObservaCost.Collector.NvidiaSmi;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>run</c> without <c>--demo</c> collects the machine's own GPUs: when nvidia-smi is on the PATH and the
/// configuration does not set <c>Collector:NvidiaSmi:Enabled</c> itself, the poller is switched on for this node.
/// </summary>
public static class LocalGpus
{
    public const string ExecutableName = "nvidia-smi";

    /// <summary>The full path of nvidia-smi in the directories of <paramref name="searchPath"/> (PATH syntax), or null.</summary>
    public static string? FindNvidiaSmi(string searchPath)
    {
        ArgumentNullException.ThrowIfNull(searchPath);
        foreach (string directory in searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            foreach (string name in OperatingSystem.IsWindows() ? [ExecutableName + ".exe"] : new[] { ExecutableName })
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The configuration pairs that switch the poller on (placed before the user's, so that theirs win), and the
    /// start-up line that says what <c>run</c> collects. Nothing is added when the configuration already decides.
    /// </summary>
    public static (string[] Pairs, string Message) Configure(IReadOnlyList<string> configuration, string searchPath)
    {
        IConfiguration given = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. configuration])
            .Build();
        string enabledKey = NvidiaSmiScheduleOptions.SectionName + ":Enabled";
        if (given[enabledKey] is { Length: > 0 } setting)
        {
            return ([], $"Local GPUs: {enabledKey} is set to {setting} by the configuration.");
        }

        if (FindNvidiaSmi(searchPath) is not { } path)
        {
            return ([], $"Local GPUs: no {ExecutableName} on the PATH, so no local GPU is collected (the ingest endpoints and scrape targets still are; `observacost run --demo` shows a simulated fleet).");
        }

        string node = given[NvidiaSmiScheduleOptions.SectionName + ":Node"] is { Length: > 0 } configured ? configured : Environment.MachineName;
        return (
            [$"--{enabledKey}=true", $"--{NvidiaSmiScheduleOptions.SectionName}:CommandPath={path}", $"--{NvidiaSmiScheduleOptions.SectionName}:Node={node}"],
            $"Local GPUs: collecting with {path} as node {node} ({enabledKey} switched on because nvidia-smi is on the PATH).");
    }
}
