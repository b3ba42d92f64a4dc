using System.Text.Json;

namespace ObservaCost.Deployment.Tests.Support;

/// <summary>One stage of a Dockerfile: its base image and the instructions in order (continuation lines joined).</summary>
public sealed record DockerStage(string From, IReadOnlyList<(string Instruction, string Arguments)> Instructions)
{
    public IEnumerable<string> All(string instruction) =>
        Instructions.Where(i => i.Instruction == instruction).Select(i => i.Arguments);

    public string? Last(string instruction) => All(instruction).LastOrDefault();

    /// <summary>The exec form (<c>["a", "b"]</c>) of ENTRYPOINT or CMD as its words; empty when absent.</summary>
    public IReadOnlyList<string> ExecForm(string instruction) =>
        Last(instruction) is { } json ? JsonSerializer.Deserialize<string[]>(json)! : [];

    /// <summary>The ENV pairs (<c>KEY=value</c> form).</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        All("ENV").Select(e => e.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
}

/// <summary>
/// A small reader of the Dockerfiles in hosts/*: enough to run the build stage's <c>dotnet publish</c> as written and
/// start the runtime stage's entry point, so the test and the image cannot drift apart.
/// </summary>
public static class Dockerfile
{
    public static IReadOnlyList<DockerStage> Read(string path)
    {
        var stages = new List<DockerStage>();
        List<(string, string)>? current = null;
        string? from = null;
        string pending = string.Empty;
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (pending.Length == 0 && (line.Length == 0 || line.StartsWith('#')))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            line = pending + line;
            pending = string.Empty;
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            string instruction = line[..space].ToUpperInvariant();
            string arguments = line[(space + 1)..].Trim();
            if (instruction == "FROM")
            {
                if (from is not null)
                {
                    stages.Add(new DockerStage(from, current!));
                }

                from = arguments;
                current = [];
            }
            else
            {
                (current ?? throw new InvalidDataException(path + ": an instruction before FROM")).Add((instruction, arguments));
            }
        }

        stages.Add(new DockerStage(from ?? throw new InvalidDataException(path + " has no FROM"), current!));
        return stages;
    }

    /// <summary>The arguments of the <c>RUN dotnet publish ...</c> line (after <c>dotnet</c>).</summary>
    public static IReadOnlyList<string> PublishArguments(DockerStage build)
    {
        string run = Assert.Single(build.All("RUN"), r => r.StartsWith("dotnet publish ", StringComparison.Ordinal));
        return run.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
    }

    /// <summary>
    /// The build context as Docker sends it: the repository minus what .dockerignore names (patterns <c>**/name</c>
    /// for a folder anywhere, or a path from the root), copied to <paramref name="target"/>.
    /// </summary>
    public static void CopyContext(string root, string target)
    {
        string[] patterns = [.. File.ReadAllLines(Path.Combine(root, ".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        string[] anywhere = [.. patterns.Where(p => p.StartsWith("**/", StringComparison.Ordinal)).Select(p => p[3..])];
        string[] rooted = [.. patterns.Where(p => !p.StartsWith("**/", StringComparison.Ordinal))];
        Copy(root);

        void Copy(string directory)
        {
            string relative = Path.GetRelativePath(root, directory);
            Directory.CreateDirectory(Path.Combine(target, relative));
            foreach (string file in Directory.GetFiles(directory).Where(f => !rooted.Contains(Path.GetRelativePath(root, f))))
            {
                File.Copy(file, Path.Combine(target, Path.GetRelativePath(root, file)));
            }

            foreach (string sub in Directory.GetDirectories(directory))
            {
                if (!anywhere.Contains(Path.GetFileName(sub)) && !rooted.Contains(Path.GetRelativePath(root, sub)) && new DirectoryInfo(sub).LinkTarget is null)
                {
                    Copy(sub);
                }
            }
        }
    }
}
