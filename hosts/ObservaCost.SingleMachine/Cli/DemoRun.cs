using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Windows;
using ObservaCost.Hosting;
using ObservaCost.Simulator;
using ObservaCost.Simulator.Driving;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using Spectre.Console;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>run --demo</c>: the single-machine host on its own embedded store (<c>data/demo/</c>, apart from a real
/// fleet's) with the demo fleet (<see cref="DemoFleet"/>, every point tagged <c>source=simulated</c>). The simulator
/// speaks only through the host's collector: it writes the history to <c>/write</c> and
/// <c>/api/v1/requests/import</c> (a progress bar), the host backfills it (rollup, cost windows, KPI days), runs the
/// anomaly rules over the history's last day (where the demo's faults are) and issues the demand forecast from its
/// end; then the simulator goes live (dcgm-style pages the host scrapes, requests posted every step) while the jobs run
/// on their schedules. Prints where to look, and stops on Ctrl+C (or <c>cancellationToken</c>) through the host's own
/// shutdown, which flushes the spool.
/// </summary>
public static partial class DemoRun
{
    /// <summary>How long the demo waits for the forwarder to move the history from the spool into the store.</summary>
    public static readonly TimeSpan MaxForwardWait = TimeSpan.FromMinutes(5);

    /// <summary>The anomaly rules run over this much of the history's end before going live (the demo's faults lie within it).</summary>
    public static readonly TimeSpan AnomalyHistory = TimeSpan.FromDays(1);

    public static Task<int> RunAsync(TimeSpan history, long seed, string[] configuration, CliContext context, CancellationToken cancellationToken) =>
        HostRun.RunAsync(() => RunHostAsync(history, seed, configuration, context, cancellationToken), context.Errors);

    /// <summary>
    /// The demo's configuration, before the user's pairs (which win): its own store, spool and forecast model under <c>data/demo</c>,
    /// the jobs' first run looking back 15 minutes only (the backfill has the history), logs from warnings up (the
    /// demo's own output is the story), and one scrape target per simulated node at the live step, each tagging its
    /// samples <c>source=simulated</c>.
    /// </summary>
    public static string[] Configuration(FleetSimulator simulator, Uri pages)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        var pairs = new List<string>
        {
            "--Storage:Embedded:Path=" + Path.Combine("data", "demo", "observacost.db"),
            "--Collector:Spool:Directory=" + Path.Combine("data", "demo", "spool"),
            "--Analytics:Forecast:ModelDirectory=" + Path.Combine("data", "demo", "forecast-model"),
            "--Analytics:Scheduler:InitialLookback=00:15:00",
            "--Logging:LogLevel:Default=Warning",
        };
        pairs.AddRange(SimulatorDriver.ScrapeTargetConfiguration(simulator, pages, simulator.Options.LiveSampleStep).Select(p => $"--{p.Key}={p.Value}"));
        return [.. pairs];
    }

    private static async Task<int> RunHostAsync(TimeSpan history, long seed, string[] configuration, CliContext context, CancellationToken cancellationToken)
    {
        var simulator = new FleetSimulator(DemoFleet.Create(seed), context.Time);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var driverLog = new DeferredLogger();
        var driver = new SimulatorDriver(simulator, http, context.Time, logger: driverLog);
        await using SimulatorPageServer pages = await driver.StartPagesAsync(cancellationToken: cancellationToken);
        await using WebApplication app = SingleMachineApplication.Build([.. Configuration(simulator, pages.BaseAddress), .. configuration], context.Configure);
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DemoRun));
        driverLog.Target = app.Services.GetRequiredService<ILogger<SimulatorDriver>>();
        await app.StartAsync(cancellationToken);
        var collector = new Uri(app.Urls.First().TrimEnd('/') + "/");

        TimeSpan step = simulator.Options.HistorySampleStep;
        var to = new DateTimeOffset(simulator.Anchor.UtcTicks - (simulator.Anchor.UtcTicks % step.Ticks), TimeSpan.Zero);
        DateTimeOffset from = to - history;
        TimeSpan newest = NewestHistory(app.Services.GetRequiredService<ForecastOptions>());
        DateTimeOffset split = history > newest ? to - newest : from;
        IAnsiConsole console = context.Console;
        console.WriteLine($"Demo fleet: {simulator.Gpus.Count} simulated GPUs on {simulator.Nodes.Count} nodes (seed {seed}, source=simulated), store {app.Configuration["Storage:Embedded:Path"]}.");
        console.WriteLine(split > from
            ? Invariant($"Writing the newest {newest.TotalHours:0.##} h of {history.TotalDays:0.##} days of history [{split:yyyy-MM-ddTHH:mm}Z, {to:yyyy-MM-ddTHH:mm}Z) through {collector}write and {collector}api/v1/requests/import; the older part [{from:yyyy-MM-ddTHH:mm}Z, {split:yyyy-MM-ddTHH:mm}Z) follows in the background once the API answers ...")
            : Invariant($"Writing {history.TotalDays:0.##} days of history [{from:yyyy-MM-ddTHH:mm}Z, {to:yyyy-MM-ddTHH:mm}Z) through {collector}write and {collector}api/v1/requests/import ..."));

        // The newest part is written by a simulator stepped through the older part first (no sends), so its energy
        // counters are the ones a front-to-back write gives; the older part comes from a second simulator of the same
        // seed and anchor (a simulator steps forward only, and the live phase steps the first one).
        driver.SkipHistory(from, split);
        HistorySummary written = await WithProgressAsync(console, "history", (progress, ct) => driver.WriteHistoryAsync(collector, split, to, progress, ct), cancellationToken);
        console.WriteLine(Invariant($"History written: {written.GpuSamplesWritten:N0} GPU samples, {written.RequestsImported:N0} requests ({written.RequestsRefused} refused) in {written.Elapsed.TotalSeconds:F1} s (waiting on /write {written.WriteTime.TotalSeconds:F1} s, on the imports {written.ImportTime.TotalSeconds:F1} s)."));
        await WaitForStoreAsync(app.Services.GetRequiredService<ITimeSeriesStore>(), split, to, written.GpuSamplesWritten, context.Time, cancellationToken);

        console.WriteLine("Backfilling the history (rollup, cost windows, KPI days) ...");
        AnalyticsBackfill.Summary backfilled = await app.Services.GetRequiredService<AnalyticsBackfill>()
            .RunAsync(split, to, new BackfillProgress(context.Output, redraw: context.IsTerminal, context.Time), cancellationToken);
        int events = await DetectAnomaliesAsync(app.Services, to - (history < AnomalyHistory ? history : AnomalyHistory), to, cancellationToken);
        int forecast = (await app.Services.GetRequiredService<DemandForecastService>().ForecastAndWriteAsync(to, cancellationToken)).Count;
        console.WriteLine(Invariant($"Backfilled {backfilled.Windows} windows and {backfilled.Days} days in {backfilled.Elapsed.TotalSeconds:F1} s; {events} anomaly events in the last day; {forecast} forecast points."));
        LogDemoReady(logger, split, to);

        WhereToLook(console, collector, from, to);
        if (split > from)
        {
            console.WriteLine(Invariant($"Older history [{from:yyyy-MM-ddTHH:mm}Z, {split:yyyy-MM-ddTHH:mm}Z) is still filling in the background (progress below); until it is done, the figures cover [{split:yyyy-MM-ddTHH:mm}Z, {to:yyyy-MM-ddTHH:mm}Z) only."));
        }

        using var live = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        Task liveRun = driver.RunLiveAsync(collector, live.Token);
        Task olderRun = split > from
            ? FillOlderAsync(app.Services, new SimulatorDriver(new FleetSimulator(simulator.Options, new FixedClock(simulator.Anchor)), http, context.Time, logger: driverLog), collector, from, split, to, context, logger, live.Token)
            : Task.CompletedTask;
        try
        {
            await app.WaitForShutdownAsync(cancellationToken);
        }
        finally
        {
            await live.CancelAsync();
            await liveRun;
            await olderRun;
            // The host's own shutdown stops the collector and flushes the spool: nothing written is lost.
            await app.StopAsync(CancellationToken.None);
        }

        console.WriteLine("Demo stopped.");
        return 0;
    }

    /// <summary>
    /// How much of the history's end is written and backfilled before the API is announced: the forecast's minimum
    /// history (<c>Analytics:Forecast:MinimumHistoryHours</c>) plus one hour (the forecast counts whole hours before
    /// the hour it is issued in), and at least <see cref="AnomalyHistory"/>.
    /// </summary>
    public static TimeSpan NewestHistory(ForecastOptions forecast)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        TimeSpan forForecast = TimeSpan.FromHours(forecast.MinimumHistoryHours + 1);
        return forForecast > AnomalyHistory ? forForecast : AnomalyHistory;
    }

    /// <summary>
    /// The background fill of [<paramref name="from"/>, <paramref name="split"/>) while the fleet runs live: history
    /// write and request import (through the collector, like the newest part), backfill, then the anomaly pass over the
    /// last day again (its baselines now see the whole history; a recompute replaces). Progress is one line per tenth.
    /// It does not fight the jobs: their cursors start at the live end and only move forward, the backfill replaces
    /// what it computes (it runs past <paramref name="split"/> by the cost windows' look-around, so the windows at the
    /// seam see both sides), and the imports carry their own range, apart from the live path's close watermark.
    /// </summary>
    private static async Task FillOlderAsync(IServiceProvider services, SimulatorDriver driver, Uri collector, DateTimeOffset from, DateTimeOffset split, DateTimeOffset to, CliContext context, ILogger logger, CancellationToken cancellationToken)
    {
        TextWriter output = context.Output;
        try
        {
            long started = context.Time.GetTimestamp();
            int lastTenth = 0;
            var progress = new SynchronousProgress(report =>
            {
                int tenth = report.Total == 0 ? 10 : report.Done * 10 / report.Total;
                if (tenth > lastTenth)
                {
                    lastTenth = tenth;
                    WriteLine(output, Invariant($"Older history: {report.Done}/{report.Total} hours written ({tenth * 10} %)."));
                }
            });
            HistorySummary written = await driver.WriteHistoryAsync(collector, from, split, progress, cancellationToken);
            await WaitForStoreAsync(services.GetRequiredService<ITimeSeriesStore>(), from, split, written.GpuSamplesWritten, context.Time, cancellationToken);
            TimeSpan window = services.GetRequiredService<AnalyticsWindowOptions>().WindowLength;
            DateTimeOffset backfillTo = PeriodPlan.AlignUp(split + services.GetRequiredService<CostWindowService>().LookAround, window) + window;
            WriteLine(output, "Older history: backfilling ...");
            AnalyticsBackfill.Summary backfilled = await services.GetRequiredService<AnalyticsBackfill>()
                .RunAsync(from, backfillTo < to ? backfillTo : to, new BackfillProgress(TextWriter.Null, redraw: false, context.Time), cancellationToken);
            int events = await DetectAnomaliesAsync(services, to - AnomalyHistory, to, cancellationToken);
            TimeSpan elapsed = context.Time.GetElapsedTime(started);
            WriteLine(output, Invariant($"Older history complete: [{from:yyyy-MM-ddTHH:mm}Z, {split:yyyy-MM-ddTHH:mm}Z) written ({written.GpuSamplesWritten:N0} GPU samples, {written.RequestsImported:N0} requests) and backfilled ({backfilled.Windows} windows, {backfilled.Days} days), {events} anomaly events in the last day, in {elapsed.TotalSeconds:F1} s; the URLs above now cover the whole history."));
            LogOlderHistoryDone(logger, from, split, elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            WriteLine(output, "Older history: stopped before it was complete (run the demo again to refill it).");
        }
        catch (HttpRequestException ex)
        {
            // The collector refused a whole body: the newest part and the live fleet go on; say what is missing.
            WriteLine(output, Invariant($"Older history: failed, [{from:yyyy-MM-ddTHH:mm}Z, {split:yyyy-MM-ddTHH:mm}Z) is incomplete: {ex.Message}"));
            LogOlderHistoryFailed(logger, ex, from, split);
        }
    }

    /// <summary>One whole line on the shared output (the live phase and the host write to it too).</summary>
    private static void WriteLine(TextWriter output, string line)
    {
        lock (output)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    /// <summary>Polls the store until it holds every history sample (the forwarder drains the spool asynchronously), for at most <see cref="MaxForwardWait"/>.</summary>
    private static async Task WaitForStoreAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, long expected, TimeProvider time, CancellationToken cancellationToken)
    {
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(from, to).Build();
        long started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < MaxForwardWait)
        {
            QueryResult result = await store.QueryAsync(query, cancellationToken);
            if (result.Series.Count > 0 && result.Series[0].Rows.Count > 0 && result.Series[0].Rows[0][0].Integer >= expected)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
    }

    private static async Task<int> DetectAnomaliesAsync(IServiceProvider services, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        TimeSpan window = services.GetRequiredService<AnalyticsWindowOptions>().WindowLength;
        AnomalyService anomalies = services.GetRequiredService<AnomalyService>();
        int events = 0;
        for (DateTimeOffset start = PeriodPlan.AlignUp(from, window); start + window <= to; start += window)
        {
            events += (await anomalies.DetectAndWriteAsync(start, cancellationToken)).Count;
        }

        return events;
    }

    private static void WhereToLook(IAnsiConsole console, Uri collector, DateTimeOffset from, DateTimeOffset to)
    {
        string range = Invariant($"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={to:yyyy-MM-ddTHH:mm:ssZ}");
        var table = new Table().Title("Where to look (the demo keeps running live; Ctrl+C stops it)");
        table.AddColumn("what");
        table.AddColumn("URL");
        foreach ((string what, string path) in new[]
        {
            ("cost per model", "api/v1/cost?" + range + "&groupBy=model"),
            ("idle GPU-hours", "api/v1/idle?" + range),
            ("KPIs", "api/v1/kpis?" + range),
            ("anomalies", "api/v1/anomalies?" + range + "&severity=info"),
            ("demand forecast", "api/v1/forecast"),
            ("health", "readyz"),
        })
        {
            table.AddRow(what, Markup.Escape(new Uri(collector, path).ToString()));
        }

        console.Write(table);
        console.WriteLine("Next: `observacost pricing check pricing.json` (the prices behind these figures), `observacost backfill --from ... --to ...`, `observacost simulate --collector URL` (the same fleet against another collector), `observacost --help`.");
    }

    /// <summary>Runs <paramref name="work"/> under one progress bar fed by its <see cref="SimulatorProgress"/> reports.</summary>
    internal static async Task<T> WithProgressAsync<T>(IAnsiConsole console, string name, Func<IProgress<SimulatorProgress>, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        await console.Progress().AutoClear(false).StartAsync(async progress =>
        {
            ProgressTask task = progress.AddTask(name, maxValue: 1);
            return await work(new SynchronousProgress(report =>
            {
                task.MaxValue = report.Total;
                task.Value = report.Done;
            }), cancellationToken);
        });

    /// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts them to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<SimulatorProgress> report) : IProgress<SimulatorProgress>
    {
        public void Report(SimulatorProgress value) => report(value);
    }

    /// <summary>The driver's logger: it serves the page server before the host (and its logging) exists, then logs through the host.</summary>
    private sealed class DeferredLogger : ILogger<SimulatorDriver>
    {
        public ILogger? Target { get; set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Target?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Target?.IsEnabled(logLevel) ?? false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Target?.Log(logLevel, eventId, state, exception, formatter);
    }

    /// <summary>A clock standing at one instant: the older part's simulator gets the live one's anchor, so both draw the same fleet and faults.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Demo history [{From:o}, {To:o}) (the newest part) written and backfilled; the simulated fleet runs live")]
    private static partial void LogDemoReady(ILogger logger, DateTimeOffset from, DateTimeOffset to);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Demo older history [{From:o}, {To:o}) written and backfilled in the background in {ElapsedSeconds:F1} s")]
    private static partial void LogOlderHistoryDone(ILogger logger, DateTimeOffset from, DateTimeOffset to, double elapsedSeconds);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Demo older history [{From:o}, {To:o}) failed in the background; the newest part and the live fleet go on")]
    private static partial void LogOlderHistoryFailed(ILogger logger, Exception exception, DateTimeOffset from, DateTimeOffset to);
}
