using System.Globalization;
using ObservaCost.Simulator;
using ObservaCost.Simulator.Driving;
using Spectre.Console;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>simulate --collector URL</c>: drives the demo fleet against any running collector, through its real interfaces
/// only (the load generator for demos, benchmarks and fault tests). Writes <c>--history</c> of history (none with 0)
/// to <c>/write</c> and <c>/api/v1/requests/import</c>, then runs live until Ctrl+C: it serves the nodes'
/// dcgm-exporter pages on loopback and prints the scrape-target configuration that points the collector at them, and
/// posts the requests to <c>/api/v1/requests</c> every step.
/// </summary>
public static class SimulateVerb
{
    public static async Task<int> RunAsync(Uri collector, long seed, TimeSpan history, string? token, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(context);
        var simulator = new FleetSimulator(DemoFleet.Create(seed), context.Time);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var driver = new SimulatorDriver(simulator, http, context.Time, token);
        IAnsiConsole console = context.Console;
        var baseUri = new Uri(collector.ToString().TrimEnd('/') + "/");
        try
        {
            if (history > TimeSpan.Zero)
            {
                TimeSpan step = simulator.Options.HistorySampleStep;
                var to = new DateTimeOffset(simulator.Anchor.UtcTicks - (simulator.Anchor.UtcTicks % step.Ticks), TimeSpan.Zero);
                DateTimeOffset from = to - TimeSpan.FromTicks(history.Ticks - (history.Ticks % step.Ticks));
                HistorySummary written = await DemoRun.WithProgressAsync(console, "history", (progress, ct) => driver.WriteHistoryAsync(baseUri, from, to, progress, ct), cancellationToken);
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"History [{from:yyyy-MM-ddTHH:mm}Z, {to:yyyy-MM-ddTHH:mm}Z) written: {written.GpuSamplesWritten:N0} GPU samples, {written.RequestsImported:N0} requests ({written.RequestsRefused} refused). Backfill it on the analytics side: observacost backfill --from {from:yyyy-MM-ddTHH:mm:ssZ} --to {to:yyyy-MM-ddTHH:mm:ssZ}"));
            }

            SimulatorPageServer pages = await driver.StartPagesAsync(cancellationToken: cancellationToken);
            console.WriteLine($"Serving the simulated nodes' dcgm-exporter pages at {pages.BaseAddress}nodes/NODE/metrics. Point the collector's scraper at them with:");
            foreach (KeyValuePair<string, string?> pair in SimulatorDriver.ScrapeTargetConfiguration(simulator, pages.BaseAddress, simulator.Options.LiveSampleStep))
            {
                console.WriteLine($"  --{pair.Key} {pair.Value}");
            }

            console.WriteLine($"Posting live requests to {baseUri}api/v1/requests every {simulator.Options.LiveSampleStep.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; Ctrl+C stops.");
            await driver.RunLiveAsync(baseUri, cancellationToken);
            return 0;
        }
        catch (HttpRequestException ex)
        {
            await context.Errors.WriteLineAsync($"simulate: {baseUri}: {ex.Message}");
            return 1;
        }
        finally
        {
            if (driver.Pages is { } started)
            {
                await started.DisposeAsync();
            }
        }
    }
}
