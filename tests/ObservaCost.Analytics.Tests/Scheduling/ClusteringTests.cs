using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>
/// Two analytics service processes (the built executable) clustered on one real PostgreSQL, computing 5-second
/// windows from one real InfluxDB while GPU samples stream in. Each window is computed exactly once across both
/// (read from each process's own log), and after one process is killed with SIGKILL the other computes the
/// following windows.
/// </summary>
public sealed class ClusteringTests
{
    private const string Job = "cost-window";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task TwoServicesOnOnePostgres_EachWindowComputedOnce_SurvivorCarriesOnAfterKill()
    {
        await using PostgresServer postgres = await PostgresServer.StartAsync();
        string quartz = await postgres.CreateDatabaseAsync("quartz");
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        string dir = Path.Combine(Path.GetTempPath(), "observacost-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var stop = new CancellationTokenSource();
        Task samples = WriteSamplesAsync(influx.Url, stop.Token);
        ServiceProcess? a = null;
        ServiceProcess? b = null;
        try
        {
            a = await ServiceProcess.StartAsync(dir, influx.Url, quartz);
            b = await ServiceProcess.StartAsync(dir, influx.Url, quartz);

            // Both running: wait for enough windows, then check that none was computed twice and none is missing.
            await WaitUntilAsync(() => a.Computed().Count + b.Computed().Count >= 5, TimeSpan.FromSeconds(40), () => Describe(a, b));
            List<DateTimeOffset> both = [.. a.Computed(), .. b.Computed()];
            AssertContiguousOnce(both, Describe(a, b));
            int beforeKillA = a.Computed().Count;
            int beforeKillB = b.Computed().Count;

            // Kill the process that computed the latest window (the one most likely to hold the job's trigger).
            (ServiceProcess victim, ServiceProcess survivor) = a.Computed().Max() > b.Computed().DefaultIfEmpty().Max() ? (a, b) : (b, a);
            victim.Kill();
            List<DateTimeOffset> victimWindows = victim.Computed();
            DateTimeOffset lastBeforeKill = both.Concat(victimWindows).Max();
            int survivorBefore = survivor.Computed().Count;

            await WaitUntilAsync(() => survivor.Computed().Count(w => w > lastBeforeKill) >= 3, TimeSpan.FromSeconds(40), () => Describe(a, b));
            List<DateTimeOffset> all = [.. victimWindows, .. survivor.Computed()];

            // A window the killed process finished but whose cursor it had not stored yet may be computed again; nothing else.
            List<DateTimeOffset> repeated = all.GroupBy(w => w).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(repeated.All(w => w == victimWindows.Max()), $"computed twice: {string.Join(", ", repeated.Select(w => w.ToString("o", CultureInfo.InvariantCulture)))}\n{Describe(a, b)}");
            AssertContiguousOnce(all.Distinct().ToList(), Describe(a, b));
            Assert.True(survivor.Computed().Count - survivorBefore >= 3);

            // The figures for the report.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"clustering: before kill A={beforeKillA} B={beforeKillB} windows; killed {victim.Name}; after kill {survivor.Name} computed {survivor.Computed().Count - survivorBefore} more, first {survivor.Computed().Where(w => w > lastBeforeKill).Min():o}"));
        }
        finally
        {
            await stop.CancelAsync();
            await samples;
            a?.Kill();
            b?.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertContiguousOnce(List<DateTimeOffset> windows, string diagnostics)
    {
        Assert.True(windows.Count == windows.Distinct().Count(), "a window was computed twice:\n" + diagnostics);
        List<DateTimeOffset> ordered = [.. windows.Order()];
        for (int i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i] - ordered[i - 1] == Window, $"window {ordered[i - 1] + Window:o} was not computed:\n{diagnostics}");
        }
    }

    private static string Describe(ServiceProcess a, ServiceProcess b) =>
        $"A: {string.Join(", ", a.Computed().Select(w => w.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}\nB: {string.Join(", ", b.Computed().Select(w => w.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}\n--- A log tail ---\n{a.Tail()}\n--- B log tail ---\n{b.Tail()}";

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> diagnostics)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"not reached within {timeout.TotalSeconds} s:\n{diagnostics()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Two GPUs sampled every second, written to InfluxDB as the collector would.</summary>
    private static async Task WriteSamplesAsync(Uri influx, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var store = new InfluxDbStore(http, new InfluxDbOptions { Url = influx, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        DateTimeOffset from = TimeProvider.System.GetUtcNow().AddSeconds(-30);
        await SchedulingFixtures.WriteFleetAsync(store, from, TimeProvider.System.GetUtcNow(), TimeSpan.FromSeconds(1));
        while (!cancellationToken.IsCancellationRequested)
        {
            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            await SchedulingFixtures.WriteFleetAsync(store, now, now.AddSeconds(1), TimeSpan.FromSeconds(1));
            try
            {
                await Task.Delay(1000, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The analytics service's built executable, run with <c>dotnet</c>; its output kept (bounded) for the test to read.</summary>
    private sealed class ServiceProcess
    {
        private const int MaxLines = 20_000;
        private static int s_started;
        private readonly Process _process;
        private readonly List<string> _lines = [];

        private ServiceProcess(Process process, string name)
        {
            _process = process;
            Name = name;
        }

        public string Name { get; }

        public static async Task<ServiceProcess> StartAsync(string dir, Uri influx, string quartz)
        {
            string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            string dll = Path.Combine(RepoPaths.Root, "hosts", "ObservaCost.AnalyticsService", "bin", configuration, "net10.0", "ObservaCost.AnalyticsService.dll");
            int port = InfluxDbServer.FreePort();
            var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            foreach (string arg in new[]
            {
                dll,
                "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
                "--Storage:Backend", "InfluxDb",
                "--Storage:InfluxDb:Url", influx.ToString(),
                "--Analytics:PricingFile", SchedulingFixtures.PricingFile,
                "--Analytics:Windows:WindowLength", "00:00:05",
                "--Analytics:Windows:Resolution", "00:00:05",
                "--Analytics:Windows:GpuSource", "Raw",
                "--Analytics:Windows:MaxSampleGap", "00:00:30",
                "--Analytics:Windows:Lateness", "00:00:01",
                "--Analytics:Scheduler:CostCron", "* * * * * ?",
                "--Analytics:Scheduler:RollupCron", "0/5 * * * * ?",
                "--Analytics:Scheduler:KpiCron", "0/5 * * * * ?",
                "--Analytics:Scheduler:InitialLookback", "00:00:05",
                "--Analytics:Scheduler:PostgresConnectionString", quartz,
                "--Analytics:Scheduler:ClusterCheckinInterval", "00:00:01",
                "--Analytics:Scheduler:ClusterCheckinMisfireThreshold", "00:00:02",
                "--Logging:Console:FormatterOptions:SingleLine", "true",
                "--Logging:LogLevel:ObservaCost.Analytics.Windows", "Warning",
            })
            {
                info.ArgumentList.Add(arg);
            }

            var service = new ServiceProcess(Process.Start(info)!, Interlocked.Increment(ref s_started) == 1 ? "A" : "B");
            service._process.OutputDataReceived += (_, e) => service.Add(e.Data);
            service._process.ErrorDataReceived += (_, e) => service.Add(e.Data);
            service._process.BeginOutputReadLine();
            service._process.BeginErrorReadLine();
            await HttpReadiness.WaitAsync(service._process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/readyz")), HttpStatusCode.OK, TimeSpan.FromSeconds(60), service.Tail);
            return service;
        }

        public List<DateTimeOffset> Computed()
        {
            lock (_lines)
            {
                return SchedulingFixtures.Computed(_lines, Job);
            }
        }

        public string Tail()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines.TakeLast(30));
            }
        }

        /// <summary>SIGKILL, as a crash would.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                if (_lines.Count < MaxLines)
                {
                    _lines.Add(line);
                }
            }
        }
    }
}
