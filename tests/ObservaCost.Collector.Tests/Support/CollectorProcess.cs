using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>The built node collector started as a user starts it: <c>dotnet path/to/ObservaCost.NodeCollector.dll</c> from a working directory.</summary>
internal static class CollectorProcess
{
    /// <summary>The node collector's own build output (with its shipped appsettings.json), in this test run's configuration.</summary>
    public static string Dll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoPaths.Root, "hosts", "ObservaCost.NodeCollector", "bin", configuration, "net10.0", "ObservaCost.NodeCollector.dll");
        }
    }

    /// <summary>Starts the binary in <paramref name="workingDirectory"/> on <paramref name="port"/> and waits for /healthz.</summary>
    public static async Task<Process> StartAsync(string workingDirectory, int port, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(Dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await HttpReadiness.WaitAsync(process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/healthz")), HttpStatusCode.OK, TimeSpan.FromSeconds(60), () => log.ToString());
        return process;
    }
}
