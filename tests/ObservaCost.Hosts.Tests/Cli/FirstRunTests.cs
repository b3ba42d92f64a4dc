using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ObservaCost.Analytics.Signals;
using ObservaCost.Simulator;
using ObservaCost.SingleMachine;
using ObservaCost.SingleMachine.Cli;
using ObservaCost.Testing;
using Xunit.Abstractions;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary>
/// The README's first command, <c>observacost run --demo</c>, through the CLI entry point in process: once it prints
/// where to look, the API answers cost, idle, KPIs, anomalies and the forecast with plausible figures for the demo
/// fleet priced by the shipped example file, then the host stops cleanly (exit code 0) through its own shutdown.
/// The demo writes the newest 49 h first and announces the API while the older days fill in the background: the test
/// checks every answer over the newest 49 h before the fill reports done, then the whole history's GPU-hours after.
/// Four days of history rather than the default seven keep the run short (47 h of them in the background); how long the
/// default takes is a speed figure, measured outside unit tests (docs/performance.md), so the limit here only catches a hang.
/// </summary>
public sealed partial class FirstRunTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(10);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-firstrun-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task RunDemo_ThroughTheCli_AnswersEveryEndpoint_ThenStopsCleanly()
    {
        Directory.CreateDirectory(_dir);
        int port = InfluxDbServer.FreePort();
        using var outputText = new StringWriter(CultureInfo.InvariantCulture);
        using var errorText = new StringWriter(CultureInfo.InvariantCulture);
        TextWriter output = TextWriter.Synchronized(outputText), errors = TextWriter.Synchronized(errorText);

        // The synchronized writers lock themselves while writing: read under the same lock.
        string Text(TextWriter writer, StringWriter text)
        {
            lock (writer)
            {
                return text.ToString();
            }
        }

        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        string[] args =
        [
            "run", "--demo", "--history", "4d",
            "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
            // This test project's output folder holds the appsettings.json of the three hosts; give the single machine's prices.
            "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
            "--Logging:LogLevel:Default", "Warning",
        ];
        Task<int> run = Task.Run(() => SingleMachineApplication.RunAsync(args, errors, output: output, cancellationToken: stop.Token));
        try
        {
            await CheckAnswersAsync(port, run, clock, () => Text(output, outputText));
        }
        finally
        {
            // Ctrl+C: the host stops through its own shutdown, which drains the spool into the store.
            await stop.CancelAsync();
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Demo stopped.", Text(output, outputText), StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", Text(errors, errorText), StringComparison.Ordinal);
    }

    private async Task CheckAnswersAsync(int port, Task<int> run, Stopwatch clock, Func<string> outputText)
    {
        // The demo prints the API's URLs once the newest part of the history is written and backfilled.
        await WaitForAsync("Where to look", run, clock, outputText);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready after {clock.Elapsed.TotalSeconds:F1} s"));
        log.WriteLine(outputText());
        Match printed = PrintedRange().Match(outputText());
        Assert.True(printed.Success, outputText());
        DateTimeOffset to = DateTimeOffset.Parse(printed.Groups["to"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        DateTimeOffset from = DateTimeOffset.Parse(printed.Groups["from"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.Equal(TimeSpan.FromDays(4), to - from);
        Assert.Contains("is still filling in the background", outputText(), StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/api/v1/")) };

        // The newest 49 h (the forecast's 48 h minimum plus the hour it is issued in): 16 GPUs × 49 h = 784 GPU-hours.
        DateTimeOffset newestFrom = to - DemoRun.NewestHistory(new ObservaCost.Analytics.Forecasts.ForecastOptions());
        Assert.Equal(TimeSpan.FromHours(49), to - newestFrom);
        await CheckNewestAsync(http, Range(newestFrom, to));
        // Every answer above came while the older days were still filling.
        Assert.DoesNotContain("Older history complete", outputText(), StringComparison.Ordinal);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"every endpoint answered after {clock.Elapsed.TotalSeconds:F1} s, before the older history was complete"));

        // Once the fill is done, the whole history: 16 GPUs × 96 h = 1,536 GPU-hours, priced as above (96 × [26.315, 28.43] = [2,526.2, 2,729.3] $).
        await WaitForAsync("Older history complete", run, clock, outputText);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"older history complete after {clock.Elapsed.TotalSeconds:F1} s"));
        using JsonDocument whole = await GetAsync(http, "cost?" + printed.Value + "&groupBy=node");
        JsonElement wholeTotals = whole.RootElement.GetProperty("totals");
        Assert.Equal(1_536.0, wholeTotals.GetProperty("gpuHours").GetDouble(), 6);
        Assert.InRange(wholeTotals.GetProperty("costUsd").GetDouble(), 2_526.2, 2_729.3);
        // Idle over 96 h: at least the spare H200 all along and the spare H100 but the zombie's 2 h (96 + 94 = 190), at
        // most the three spares all along plus the Xid'd L4's 45 min (3 × 96 + 0.75 = 288.75).
        using JsonDocument wholeIdle = await GetAsync(http, "idle?" + printed.Value);
        Assert.InRange(wholeIdle.RootElement.GetProperty("totals").GetProperty("idleGpuHours").GetDouble(), 190, 288.75);
    }

    private static async Task WaitForAsync(string line, Task<int> run, Stopwatch clock, Func<string> outputText)
    {
        while (!outputText().Contains(line, StringComparison.Ordinal))
        {
            Assert.False(run.IsCompleted, $"the demo ended:\n{outputText()}");
            Assert.True(clock.Elapsed < HangLimit, "no answer:\n" + outputText());
            await Task.Delay(250);
        }
    }

    private static string Range(DateTimeOffset from, DateTimeOffset to) =>
        string.Create(CultureInfo.InvariantCulture, $"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={to:yyyy-MM-ddTHH:mm:ssZ}");

    private static async Task CheckNewestAsync(HttpClient http, string range)
    {
        // Cost: 16 GPUs × 49 h = 784 GPU-hours. The example prices give the fleet 26.32–28.43 $/h:
        // 4 owned H100 at 0.7705 capex + 0.35 opex, 4 owned L40S at 0.3082 + 0.15 (26.315 $/h with the rented
        // H200 and L4 pools at the default 2.5 $/h, energy included), plus the owned GPUs' energy, at most
        // (700 + 200 W node share) × 1.3 × 0.28 $/kWh = 0.3276 $/h per H100 and (350 + 200) × 1.3 × 0.28 = 0.2002 per L40S
        // (2.11 $/h for the eight): 49 h × [26.315, 28.43] = [1,289.4, 1,393.1] $.
        using JsonDocument cost = await GetAsync(http, "cost?" + range + "&groupBy=node");
        JsonElement costTotals = cost.RootElement.GetProperty("totals");
        Assert.Equal(784.0, costTotals.GetProperty("gpuHours").GetDouble(), 6);
        Assert.InRange(costTotals.GetProperty("costUsd").GetDouble(), 1_289.4, 1_393.1);
        // The demo serves ≈ 2.9 M tokens/h on weekdays and 60 % of that at weekends: 9–16 $ per 1M tokens (5–25 for the mix and the noise).
        Assert.InRange(costTotals.GetProperty("costPerMillionTokensUsd").GetDouble(), 5, 25);
        // The API exposes no source field; the rows are the simulated nodes (sim-*, cluster "simulated"), four of them.
        string[] nodes = [.. cost.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("node").GetString()!).Distinct().Order(StringComparer.Ordinal)];
        Assert.Equal(["sim-chat-h100-01", "sim-chat-h200-01", "sim-small-l4-01", "sim-small-l40s-01"], nodes); // ordinal: '-' sorts before '0'

        // Idle: the spare H200 all along (49 h) and the spare H100 but for the zombie's 2 h (47 h) at least; at most
        // the three spares all along (3 × 49 = 147 h) plus the Xid'd L4's 45 min at 0 % (0.75 h): the serving GPUs'
        // night troughs stay above the 5 % threshold (85 % × 0.35 × 0.6 ≈ 18 %).
        using JsonDocument idle = await GetAsync(http, "idle?" + range);
        Assert.InRange(idle.RootElement.GetProperty("totals").GetProperty("idleGpuHours").GetDouble(), 96, 147.75);

        using JsonDocument kpis = await GetAsync(http, "kpis?" + range);
        Assert.NotEmpty(kpis.RootElement.GetProperty("rows").EnumerateArray());

        // The rules find the zombie on the spare H100 (GPU 3 of sim-chat-h100-01) and the canary stuck at 0 % on the spare L40S.
        using JsonDocument anomalies = await GetAsync(http, "anomalies?" + range + "&severity=info");
        var flagged = anomalies.RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (Detector: e.GetProperty("detector").GetString(), Entity: e.GetProperty("entity").GetString()))
            .ToList();
        var fleet = new FleetSimulator(DemoFleet.Default, TimeProvider.System);
        string zombie = "sim-chat-h100-01/" + fleet.Gpus.Single(g => g.Node == "sim-chat-h100-01" && g.Index == 3).Uuid;
        string stuck = "sim-small-l40s-01/" + fleet.Gpus.Single(g => g.Node == "sim-small-l40s-01" && g.Index == 3).Uuid;
        Assert.Contains((CrossSignalRules.ZombieDetector, zombie), flagged);
        Assert.Contains((CrossSignalRules.UnusedAllocationDetector, stuck), flagged);
        Assert.DoesNotContain(flagged, f => f.Detector == CrossSignalRules.ZombieDetector && f.Entity != zombie);

        // The forecast issued at the end of the history: the demo's served models, hour by hour from now on.
        using JsonDocument forecast = await GetAsync(http, "forecast");
        JsonElement[] forecasts = [.. forecast.RootElement.GetProperty("forecasts").EnumerateArray()];
        Assert.NotEmpty(forecasts);
        Assert.All(forecasts, f => Assert.NotEmpty(f.GetProperty("points").EnumerateArray()));
        Assert.Contains(forecasts, f => f.GetProperty("model").GetString() == "llama-3.1-70b");
    }

    private static async Task<JsonDocument> GetAsync(HttpClient http, string path)
    {
        using HttpResponseMessage response = await http.GetAsync(new Uri(path, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, path + ": " + body);
        return JsonDocument.Parse(body);
    }

    [GeneratedRegex("from=(?<from>[0-9TZ:-]+)&to=(?<to>[0-9TZ:-]+)")]
    private static partial Regex PrintedRange();
}
