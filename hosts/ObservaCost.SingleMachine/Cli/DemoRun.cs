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
    /// The demo's configuration, before the user's pairs (which win): its own store and spool under <c>data/demo</c>,
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
        IAnsiConsole console = context.Console;
        console.WriteLine($"Demo fleet: {simulator.Gpus.Count} simulated GPUs on {simulator.Nodes.Count} nodes (seed {seed}, source=simulated), store {app.Configuration["Storage:Embedded:Path"]}.");
        console.WriteLine(Invariant($"Writing {history.TotalDays:0.##} days of history [{from:yyyy-MM-ddTHH:mm}Z, {to:yyyy-MM-ddTHH:mm}Z) through {collector}write and {collector}api/v1/requests/import ..."));

        HistorySummary written = await WithProgressAsync(console, "history", (progress, ct) => driver.WriteHistoryAsync(collector, from, to, progress, ct), cancellationToken);
        console.WriteLine(Invariant($"History written: {written.GpuSamplesWritten:N0} GPU samples, {written.RequestsImported:N0} requests ({written.RequestsRefused} refused) in {written.Elapsed.TotalSeconds:F1} s (waiting on /write {written.WriteTime.TotalSeconds:F1} s, on the imports {written.ImportTime.TotalSeconds:F1} s)."));
        await WaitForStoreAsync(app.Services.GetRequiredService<ITimeSeriesStore>(), from, to, written.GpuSamplesWritten, context.Time, cancellationToken);

        console.WriteLine("Backfilling the history (rollup, cost windows, KPI days) ...");
        AnalyticsBackfill.Summary backfilled = await app.Services.GetRequiredService<AnalyticsBackfill>()
            .RunAsync(from, to, new BackfillProgress(context.Output, redraw: context.IsTerminal, context.Time), cancellationToken);
        int events = await DetectAnomaliesAsync(app.Services, to - (history < AnomalyHistory ? history : AnomalyHistory), to, cancellationToken);
        int forecast = (await app.Services.GetRequiredService<DemandForecastService>().ForecastAndWriteAsync(to, cancellationToken)).Count;
        console.WriteLine(Invariant($"Backfilled {backfilled.Windows} windows and {backfilled.Days} days in {backfilled.Elapsed.TotalSeconds:F1} s; {events} anomaly events in the last day; {forecast} forecast points."));
        LogDemoReady(logger, from, to);

        WhereToLook(console, collector, from, to);
        using var live = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        Task liveRun = driver.RunLiveAsync(collector, live.Token);
        try
        {
            await app.WaitForShutdownAsync(cancellationToken);
        }
        finally
        {
            await live.CancelAsync();
            await liveRun;
            // The host's own shutdown stops the collector and flushes the spool: nothing written is lost.
            await app.StopAsync(CancellationToken.None);
        }

        console.WriteLine("Demo stopped.");
        return 0;
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

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Demo history [{From:o}, {To:o}) written and backfilled; the simulated fleet runs live")]
    private static partial void LogDemoReady(ILogger logger, DateTimeOffset from, DateTimeOffset to);
}
