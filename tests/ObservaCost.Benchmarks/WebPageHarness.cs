using System.Diagnostics;
using System.Globalization;
using ObservaCost.SingleMachine;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// Each web overview page's server time on the demo fleet: <c>observacost run --demo --history H</c> in process (the
/// demo fleet's history written through the collector and backfilled into the embedded store, the fleet then live),
/// then every page fetched over loopback as the anonymous loopback admin of the shipped configuration, timed from the
/// request to the last byte of the body (the loopback round trip included), after warm-up rounds.
/// </summary>
internal static class WebPageHarness
{
    private static readonly string[] Pages = ["/", "/fleet", "/cost", "/efficiency", "/fleet?last=48h", "/cost?last=48h", "/efficiency?last=48h"];

    public static async Task<int> RunAsync(string history, int rounds)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-webbench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        string url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{InfluxDbServer.FreePort()}");
        var text = new StringWriter(CultureInfo.InvariantCulture);
        TextWriter output = TextWriter.Synchronized(text);
        using var stop = new CancellationTokenSource();
        string[] args =
        [
            "run", "--demo", "--history", history, "--urls", url,
            "--Storage:Embedded:Path", Path.Combine(dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
            "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
            "--Logging:LogLevel:Default", "Warning",
        ];
        var clock = Stopwatch.StartNew();
        Task<int> run = Task.Run(() => SingleMachineApplication.RunAsync(args, output, output: output, cancellationToken: stop.Token));
        try
        {
            // The demo announces its URLs once the newest history is in; a longer history fills on in the background.
            string wanted = TimeSpan.FromHours(49) < ParseHistory(history) ? "Older history complete" : "Where to look";
            while (!Read(output, text).Contains(wanted, StringComparison.Ordinal))
            {
                if (run.IsCompleted || clock.Elapsed > TimeSpan.FromMinutes(30))
                {
                    Console.Error.WriteLine("The demo did not come up:\n" + Read(output, text));
                    return 1;
                }

                await Task.Delay(500);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"demo fleet, {history} of history, ready after {clock.Elapsed.TotalSeconds:F0} s ; {Environment.ProcessorCount} cores ; load average {LoadAverage()} ; {rounds} rounds per page after 3 warm-up rounds"));
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
            Console.WriteLine("page                       median ms    p95 ms    max ms    KiB");
            foreach (string page in Pages)
            {
                var times = new List<double>();
                long bytes = 0;
                for (int i = 0; i < rounds + 3; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    using HttpResponseMessage response = await http.GetAsync(new Uri(page, UriKind.Relative));
                    byte[] body = await response.Content.ReadAsByteArrayAsync();
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    response.EnsureSuccessStatusCode();
                    bytes = body.Length;
                    if (i >= 3)
                    {
                        times.Add(ms);
                    }
                }

                double[] sorted = [.. times.Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{page,-24} {HarnessMath.Median(times),10:F1} {sorted[(int)Math.Ceiling(sorted.Length * 0.95) - 1],9:F1} {sorted[^1],9:F1} {bytes / 1024.0,6:F0}"));
            }

            return 0;
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static TimeSpan ParseHistory(string history) =>
        history.EndsWith('d') ? TimeSpan.FromDays(int.Parse(history[..^1], CultureInfo.InvariantCulture)) : TimeSpan.FromHours(int.Parse(history[..^1], CultureInfo.InvariantCulture));

    private static string Read(TextWriter writer, StringWriter text)
    {
        lock (writer)
        {
            return text.ToString();
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
