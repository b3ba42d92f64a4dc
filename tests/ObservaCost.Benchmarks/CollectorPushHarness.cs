using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// Line protocol pushed through the collector (a separate process: HTTP → parse → spool → forwarder → InfluxDB)
/// against the same lines posted to InfluxDB directly, in one run; then the collector's RSS under a steady
/// 100k points/s, first with the store up and then with it stopped.
/// </summary>
internal static class CollectorPushHarness
{
    internal const string Token = "bench-token";

    public static async Task<int> RunAsync(int points, int rounds)
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        var start = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        List<byte[]> batches = HarnessMath.Encode(Fleet.Samples(points, start), 5000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"influxd {influx.Url}; {points} points in {batches.Count} batches of 5000; {Environment.ProcessorCount} cores"));

        string dir = Path.Combine(Path.GetTempPath(), "observacost-push-" + Guid.NewGuid().ToString("N")[..8]);
        int port = InfluxDbServer.FreePort();
        using Process collector = await StartCollectorAsync(dir, port,
            ["--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", influx.Url.ToString(), "--Storage:InfluxDb:Database", "observacost",
             "--Storage:InfluxDb:RetryMaxElapsed", "00:00:02", "--Storage:InfluxDb:Gzip", "false"]);
        using var toCollector = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")) };
        using var toInflux = new HttpClient { BaseAddress = influx.Url };
        try
        {
            var direct = new List<double>();
            var through = new List<double>();
            for (int round = -1; round < rounds; round++)
            {
                string db = string.Create(CultureInfo.InvariantCulture, $"direct_{round + 1}");
                await influx.QueryAsync($"CREATE DATABASE \"{db}\"");
                double d = await TimeAsync(() => PostAllAsync(toInflux, $"write?db={db}&precision=n", batches, token: null), influx, db, points);

                // Through the collector: each round writes into a fresh measurement of the collector's database.
                List<byte[]> renamed = batches.Select(b => Rename(b, round + 1)).ToList();
                double c = await TimeAsync(() => PostAllAsync(toCollector, "write?precision=n", renamed, Token), influx, "observacost", points, Measure(round + 1));
                if (round >= 0)
                {
                    direct.Add(points / d);
                    through.Add(points / c);
                }
            }

            double md = HarnessMath.Median(direct), mc = HarnessMath.Median(through);
            Console.WriteLine("| path | points/s (median) | runs | ratio |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| InfluxDB /write directly | {md:N0} | {string.Join(", ", direct.Select(x => x.ToString("N0", CultureInfo.InvariantCulture)))} | 1.00 |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| through the collector (spool fsync on, gzip off like the direct path) | {mc:N0} | {string.Join(", ", through.Select(x => x.ToString("N0", CultureInfo.InvariantCulture)))} | {mc / md:F2} |"));

            await SteadyLoadAsync(toCollector, collector, influx, start);
        }
        finally
        {
            collector.Kill();
            await collector.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    private static string Measure(int round) => string.Create(CultureInfo.InvariantCulture, $"gpu_push_{round}");

    private static byte[] Rename(byte[] batch, int round) =>
        Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(batch).Replace(Measurements.GpuSample + ",", Measure(round) + ",", StringComparison.Ordinal));

    /// <summary>100k points/s for 20 s with the store up, then 20 s with it stopped; RSS sampled every second.</summary>
    private static async Task SteadyLoadAsync(HttpClient client, Process collector, InfluxDbServer influx, DateTimeOffset start)
    {
        const int PerSecond = 100_000;
        List<byte[]> second = HarnessMath.Encode(Fleet.Samples(PerSecond, start.AddDays(10)), 5000);
        var up = new List<double>();
        var down = new List<double>();
        for (int s = 0; s < 40; s++)
        {
            if (s == 20)
            {
                await influx.StopAsync();
            }

            var clock = Stopwatch.StartNew();
            List<byte[]> shifted = second.Select(b => Shift(b, s)).ToList();
            await PostAllAsync(client, "write?precision=n", shifted, Token);
            double rssMb = Rss(collector.Id) / 1024.0 / 1024.0;
            (s < 20 ? up : down).Add(rssMb);
            TimeSpan left = TimeSpan.FromSeconds(1) - clock.Elapsed;
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left);
            }
        }

        Console.WriteLine("| phase (100k points/s) | RSS MB min | RSS MB max | RSS MB last |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| store up, 20 s | {up.Min():F0} | {up.Max():F0} | {up[^1]:F0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| store down, 20 s | {down.Min():F0} | {down.Max():F0} | {down[^1]:F0} |"));
        await influx.RestartAsync();
    }

    private static byte[] Shift(byte[] batch, int seconds)
    {
        // Move every timestamp by whole days so each second writes new points.
        string text = Encoding.UTF8.GetString(batch);
        var sb = new StringBuilder(text.Length + 1024);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.LastIndexOf(' ');
            long ts = long.Parse(line.AsSpan(space + 1), CultureInfo.InvariantCulture) + (seconds * 86_400L * 1_000_000_000);
            sb.Append(line, 0, space + 1).Append(ts.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    internal static long Rss(int pid, string key = "VmRSS:")
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static async Task<double> TimeAsync(Func<Task> post, InfluxDbServer influx, string database, int expected, string measurement = Measurements.GpuSample)
    {
        var store = new InfluxDbStore(new HttpClient(), new InfluxDbOptions { Url = influx.Url, Database = database, CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        TimeSeriesQuery count = TimeSeriesQueryBuilder.From(measurement).Count(Fields.PowerWatts, "n")
            .Between(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)).Build();
        var clock = Stopwatch.StartNew();
        await post();
        while (true)
        {
            QueryResult r = await store.QueryAsync(count);
            if (r.Series.Count > 0 && r.Series[0].Rows[0][0].Integer >= expected)
            {
                return clock.Elapsed.TotalSeconds;
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"{database}/{measurement}: not all {expected} points arrived");
            }

            await Task.Delay(20);
        }
    }

    private static async Task PostAllAsync(HttpClient client, string path, List<byte[]> batches, string? token)
    {
        foreach (byte[] body in batches)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using HttpResponseMessage response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }
    }



    /// <summary>Starts the Release collector as its own process with token <see cref="Token"/> and the given storage settings.</summary>
    internal static async Task<Process> StartCollectorAsync(string dir, int port, IEnumerable<string> storageArgs)
    {
        Directory.CreateDirectory(dir);
        string dll = Path.Combine(RepoPaths.Root, "hosts", "ObservaCost.NodeCollector", "bin", "Release", "net10.0", "ObservaCost.NodeCollector.dll");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Token)));
        foreach (string arg in new[]
        {
            dll, "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
            "--Collector:Spool:Directory", Path.Combine(dir, "spool"), "--Collector:Spool:MaxBytes", "4294967296",
            "--Collector:Limits:MaxAge", "365.00:00:00", "--Collector:Limits:MaxFutureSkew", "400.00:00:00",
            "--Collector:Auth:Tokens:0:Name", "bench", "--Collector:Auth:Tokens:0:Sha256", hash,
            "--Logging:LogLevel:Default", "Warning",
        }.Concat(storageArgs))
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await HttpReadiness.WaitAsync(process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/healthz")), System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(60), () => string.Empty);
        return process;
    }
}
