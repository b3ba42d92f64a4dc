using System.Diagnostics;
using System.Globalization;
using System.Net;
using ObservaCost.Deployment.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Docker;

/// <summary>
/// The build context (the repository minus .dockerignore), copied once for the Dockerfile tests, as the sdk stage's
/// <c>COPY . .</c> sees it; the publishes run in it one after another (shared obj folders, as a warm build cache).
/// </summary>
public sealed class DockerContextFixture : IDisposable
{
    public DockerContextFixture()
    {
        Root = Directory.CreateTempSubdirectory("observacost-docker-").FullName;
        Source = Path.Combine(Root, "src");
        Dockerfile.CopyContext(RepoPaths.Root, Source);
    }

    public string Root { get; }

    public string Source { get; }

    public SemaphoreSlim PublishLock { get; } = new(1, 1);

    public void Dispose()
    {
        PublishLock.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}

/// <summary>
/// Base images cannot be pulled here, so each deployable's Dockerfile is checked by running its build stage's
/// <c>dotnet publish</c> exactly as written (only the output folder moved into a temp folder) on a copy of the build
/// context, and starting the runtime stage's entry point on the output until <c>/healthz</c> answers 200.
/// </summary>
public sealed class DockerfilePublishTests(DockerContextFixture context) : IClassFixture<DockerContextFixture>
{
    public static TheoryData<string, string> Deployables => new()
    {
        { "ObservaCost.NodeCollector", "ObservaCost.NodeCollector.dll" },
        { "ObservaCost.AnalyticsService", "ObservaCost.AnalyticsService.dll" },
        { "ObservaCost.SingleMachine", "observacost.dll" },
    };

    private static string DockerfileOf(string host) => Path.Combine(RepoPaths.Root, "hosts", host, "Dockerfile");

    [Theory]
    [MemberData(nameof(Deployables))]
    public void Dockerfile_Stages_SdkPublishThenAspnetRuntimeAsNonRoot(string host, string dll)
    {
        IReadOnlyList<DockerStage> stages = Dockerfile.Read(DockerfileOf(host));

        Assert.Equal(2, stages.Count);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0 AS build", stages[0].From);
        Assert.Equal(["publish", $"hosts/{host}/{host}.csproj", "-c", "Release", "-o", "/app", "-p:UseAppHost=false"], Dockerfile.PublishArguments(stages[0]));
        DockerStage runtime = stages[1];
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", runtime.From);
        Assert.Equal("--from=build /app /app", runtime.Last("COPY"));
        Assert.Equal("1654:1654", runtime.Last("USER")); // the .NET images' non-root 'app' user, numeric for runAsNonRoot
        Assert.Equal("/var/lib/observacost", runtime.Last("WORKDIR"));
        Assert.Equal(["dotnet", "/app/" + dll], runtime.ExecForm("ENTRYPOINT"));
    }

    [Theory]
    [MemberData(nameof(Deployables))]
    public async Task Dockerfile_PublishedOutput_AnswersHealthz(string host, string dll)
    {
        IReadOnlyList<DockerStage> stages = Dockerfile.Read(DockerfileOf(host));
        DockerStage runtime = stages[^1];
        string output = Path.Combine(context.Root, host, "app");
        string work = Path.Combine(context.Root, host, "work");
        Directory.CreateDirectory(work);

        // The build stage's publish, as written; its -o folder (/app) becomes the temp output.
        List<string> publish = [.. Dockerfile.PublishArguments(stages[0])];
        int o = publish.IndexOf("-o");
        string imageOutput = publish[o + 1];
        publish[o + 1] = output;
        await context.PublishLock.WaitAsync();
        try
        {
            // No build server, compiler server or reused MSBuild node outlives the publish (as in a container build).
            ToolResult publishRun = await ToolRun.RunAsync("dotnet", publish, context.Source, TimeSpan.FromMinutes(9), new Dictionary<string, string>
            {
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
                ["MSBUILDDISABLENODEREUSE"] = "1",
                ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
                ["UseSharedCompilation"] = "false",
            });
            Assert.True(publishRun.ExitCode == 0, publishRun.ToString());
        }
        finally
        {
            context.PublishLock.Release();
        }

        Assert.True(File.Exists(Path.Combine(output, dll)), dll + " is not in the published output");
        Assert.True(File.Exists(Path.Combine(output, "appsettings.json")));
        string[] published = [.. Directory.GetFileSystemEntries(output, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

        // The runtime stage's ENTRYPOINT + CMD with /app mapped to the output, in its WORKDIR (a temp folder), with its
        // ENV; only the listen address moves from the container's port to a free loopback one.
        string[] command = [.. runtime.ExecForm("ENTRYPOINT").Concat(runtime.ExecForm("CMD")).Select(a => a.Replace(imageOutput + "/", output + "/", StringComparison.Ordinal))];
        int port = InfluxDbServer.FreePort();
        var start = new ProcessStartInfo(command[0]) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in runtime.Environment)
        {
            start.Environment[key] = value;
        }

        Assert.True(start.Environment.ContainsKey("Urls"), "the Dockerfile sets no Urls");
        start.Environment["Urls"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        using Process process = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await HttpReadiness.WaitAsync(process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/healthz")), HttpStatusCode.OK, TimeSpan.FromMinutes(2),
                () => { lock (log) { return log.ToString(); } });
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Nothing was written beside the binaries (/app is on the image's read-only root file system in the chart).
        Assert.Equal(published, Directory.GetFileSystemEntries(output, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
    }
}
