using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace ObservaCost.Testing;

/// <summary>A real VictoriaMetrics (Debian's <c>victoria-metrics</c>) on a free loopback port with a temporary data directory.</summary>
public sealed class VictoriaMetricsServer : IAsyncDisposable
{
    private readonly string _root;
    private readonly Process _process;

    private VictoriaMetricsServer(string root, int port, Process process)
    {
        _root = root;
        HttpPort = port;
        _process = process;
    }

    public int HttpPort { get; }

    public Uri Url => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}/"));

    public static async Task<VictoriaMetricsServer> StartAsync()
    {
        string binary = File.Exists("/usr/bin/victoria-metrics")
            ? "/usr/bin/victoria-metrics"
            : throw new InvalidOperationException("victoria-metrics is not installed: run the README's test command (it installs the Debian package 'victoria-metrics').");
        string root = Path.Combine(Path.GetTempPath(), "observacost-vm-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        int port = InfluxDbServer.FreePort();
        var info = new ProcessStartInfo(binary,
        [
            "-httpListenAddr=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "-storageDataPath=" + root,
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-loggerLevel=ERROR",
        ])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process = Process.Start(info) ?? throw new InvalidOperationException("victoria-metrics did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new VictoriaMetricsServer(root, port, process);
        try
        {
            await HttpReadiness.WaitAsync(process, new Uri(server.Url, "health"), HttpStatusCode.OK, TimeSpan.FromSeconds(30), () => string.Empty);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Flushes recent writes and returns <c>/api/v1/export</c> lines for a series selector.</summary>
    public async Task<string[]> ExportAsync(string selector)
    {
        using var client = new HttpClient();
        using (HttpResponseMessage flush = await client.GetAsync(new Uri(Url, "internal/force_flush")))
        {
            flush.EnsureSuccessStatusCode();
        }

        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["match[]"] = selector });
        using HttpResponseMessage response = await client.PostAsync(new Uri(Url, "api/v1/export"), content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Removed with the temp folder later.
        }
    }
}
