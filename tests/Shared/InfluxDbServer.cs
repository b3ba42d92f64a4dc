using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace ObservaCost.Testing;

/// <summary>
/// A real <c>influxd</c> (Debian's InfluxDB 1.x) started on a free loopback port with a temporary data directory,
/// stopped by PID. It can be stopped and started again on the same port and data, and run with authentication.
/// </summary>
public sealed class InfluxDbServer : IAsyncDisposable
{
    public const string AdminUser = "admin";
    public const string AdminPassword = "s3cret-pa55";

    private readonly string _root;
    private readonly string _configPath;
    private readonly string _logPath;
    private Process? _process;

    private InfluxDbServer(bool authEnabled)
    {
        AuthEnabled = authEnabled;
        _root = Path.Combine(Path.GetTempPath(), "observacost-influx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_root);
        HttpPort = FreePort();
        int rpcPort = FreePort();
        _configPath = Path.Combine(_root, "influxdb.conf");
        _logPath = Path.Combine(_root, "influxd.log");
        File.WriteAllText(_configPath, string.Create(CultureInfo.InvariantCulture, $"""
            reporting-disabled = true
            bind-address = "127.0.0.1:{rpcPort}"
            [meta]
              dir = "{_root}/meta"
            [data]
              dir = "{_root}/data"
              wal-dir = "{_root}/wal"
              query-log-enabled = false
              cache-snapshot-write-cold-duration = "10s"
            [coordinator]
              log-queries-after = "0s"
            [http]
              bind-address = "127.0.0.1:{HttpPort}"
              auth-enabled = {(authEnabled ? "true" : "false")}
              log-enabled = false
              max-row-limit = 0
              max-body-size = 0
            [monitor]
              store-enabled = false
            [continuous_queries]
              enabled = false
            [subscriber]
              enabled = false
            """));
    }

    public int HttpPort { get; }

    public bool AuthEnabled { get; }

    public Uri Url => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}/"));

    public int? ProcessId => _process?.Id;

    public static async Task<InfluxDbServer> StartAsync(bool authEnabled = false)
    {
        var server = new InfluxDbServer(authEnabled);
        try
        {
            // A free port can be taken by another test process between FreePort() and influxd's bind (test assemblies
            // run in parallel): then influxd exits with "address already in use", and a fresh pair of ports is tried.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await server.StartProcessAsync();
                    break;
                }
                catch (InvalidOperationException ex) when (attempt < 5 && ex.Message.Contains("address already in use", StringComparison.Ordinal))
                {
                    await server.DisposeAsync();
                    server = new InfluxDbServer(authEnabled);
                }
            }

            if (authEnabled)
            {
                // With no users yet, InfluxDB accepts this one statement without credentials.
                await server.QueryAsync($"CREATE USER {AdminUser} WITH PASSWORD '{AdminPassword}' WITH ALL PRIVILEGES", authenticate: false);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Starts influxd again on the same port and data directory.</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Stops influxd by PID (SIGKILL when <paramref name="hard"/>, as a crash would).</summary>
    public async Task StopAsync(bool hard = false)
    {
        Process? process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            if (hard)
            {
                process.Kill(entireProcessTree: true);
            }
            else
            {
                using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (term is not null)
                {
                    await term.WaitForExitAsync();
                }
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        process.Dispose();
    }

    /// <summary>Runs raw InfluxQL (for fixture set-up and independent checks) and returns the JSON text.</summary>
    public async Task<string> QueryAsync(string influxQl, string? database = null, bool authenticate = true)
    {
        using var client = new HttpClient();
        var form = new Dictionary<string, string> { ["q"] = influxQl, ["epoch"] = "ns" };
        if (database is not null)
        {
            form["db"] = database;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Url, "query")) { Content = new FormUrlEncodedContent(form) };
        if (authenticate && AuthEnabled)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AdminUser}:{AdminPassword}")));
        }

        using HttpResponseMessage response = await client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"influxd answered {(int)response.StatusCode} to '{influxQl}': {body}");
        }

        return body;
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logPath)
        {
            try
            {
                File.AppendAllText(_logPath, line + "\n");
            }
            catch (IOException)
            {
                // The temp folder is being removed at disposal.
            }
            catch (UnauthorizedAccessException)
            {
                // Same.
            }
        }
    }

    public string ReadLog() => File.Exists(_logPath) ? File.ReadAllText(_logPath) : string.Empty;

    public async ValueTask DisposeAsync()
    {
        await StopAsync(hard: true);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open is removed with the temp folder later.
        }
    }

    private async Task StartProcessAsync()
    {
        string influxd = FindInfluxd();
        var info = new ProcessStartInfo(influxd, ["run", "-config", _configPath])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = new Process { StartInfo = info };
        // Output can still arrive after Exited; each line opens the log for append, so nothing is written to a closed file.
        process.OutputDataReceived += (_, e) => AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        await HttpReadiness.WaitAsync(process, new Uri(Url, "ping"), HttpStatusCode.NoContent, TimeSpan.FromSeconds(60), ReadLog);

        // The ping may have been answered by another test's influxd that took the same free port first; ours then
        // fails to bind and exits. Only our own log saying it listens on the port proves the answer was ours.
        string listening = string.Create(CultureInfo.InvariantCulture, $"addr=127.0.0.1:{HttpPort} ");
        var clock = Stopwatch.StartNew();
        while (!ReadLog().Contains(listening, StringComparison.Ordinal))
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"influxd on port {HttpPort} did not report listening (another server may hold the port): {ReadLog()}");
            }

            await Task.Delay(50);
        }
    }

    private static string FindInfluxd()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            string candidate = Path.Combine(dir, "influxd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("influxd is not installed: run the README's test command (it installs the Debian package 'influxdb').");
    }

    /// <summary>A TCP port free on 127.0.0.1 at the time of the call.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
