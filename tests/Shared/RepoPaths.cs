namespace ObservaCost.Testing;

/// <summary>Locates the repository and the shared real-data folder (<c>../shared/data</c> beside the repository).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string SharedData
    {
        get
        {
            string? overridePath = Environment.GetEnvironmentVariable("OBSERVACOST_SHARED_DATA");
            string path = string.IsNullOrEmpty(overridePath) ? Path.GetFullPath(Path.Combine(Root, "..", "shared", "data")) : overridePath;
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"The shared data folder is missing at {path} (set OBSERVACOST_SHARED_DATA to move it).");
            }

            return path;
        }
    }

    public static string Data(params string[] parts) => Path.Combine([SharedData, .. parts]);

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir, "ObservaCost.sln")))
            {
                return dir;
            }

            dir = Path.GetDirectoryName(dir);
        }

        throw new DirectoryNotFoundException("ObservaCost.sln was not found above " + AppContext.BaseDirectory);
    }
}
