using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace ObservaCost.Testing;

/// <summary>
/// A real PostgreSQL 15 (Debian's postgresql-15) started on a free loopback port with a temporary data directory.
/// <c>initdb</c> refuses root, so when the tests run as root the cluster is created and run as the postgres user.
/// Stopped by PID (SIGKILL when asked, as a crash would).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly string _root;
    private Process? _process;

    private PostgresServer(string root, int port)
    {
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = false }.ConnectionString;

    public static async Task<PostgresServer> StartAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")))
        {
            throw new InvalidOperationException("postgresql-15 is not installed: run the README's test command (it installs the Debian package).");
        }

        string root = Path.Combine(Path.GetTempPath(), "observacost-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var server = new PostgresServer(root, InfluxDbServer.FreePort());
        try
        {
            bool asRoot = Environment.UserName == "root";
            if (asRoot)
            {
                await RunAsync("chown", ["postgres:postgres", root]);
            }

            string data = Path.Combine(root, "data");
            await RunAsync(asRoot ? "runuser" : Path.Combine(BinDirectory, "initdb"),
                asRoot ? ["-u", "postgres", "--", Path.Combine(BinDirectory, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"] : ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
            string[] postgresArgs = ["-D", data, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-h", "127.0.0.1", "-k", root, "-c", "fsync=off", "-c", "max_connections=100"];
            var info = asRoot
                ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, "postgres"), .. postgresArgs])
                : new ProcessStartInfo(Path.Combine(BinDirectory, "postgres"), postgresArgs);
            info.UseShellExecute = false;
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            server._process = Process.Start(info)!;
            server._process.OutputDataReceived += (_, _) => { };
            server._process.ErrorDataReceived += (_, _) => { };
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            await server.WaitReadyAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Creates a database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using NpgsqlCommand command = connection.CreateCommand();
        command.CommandText = "CREATE DATABASE \"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            // runuser forwards the signal; kill the whole tree so no postgres child is left behind.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Removed with the temp folder later.
        }
    }

    private async Task WaitReadyAsync()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with {_process.ExitCode} at start.");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString());
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"postgres did not accept connections on port {Port} within 60 s.");
    }

    private static async Task RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
