using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Service;
using ObservaCost.Storage;
using Quartz;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>
/// The cost window job in the analytics host on a clock the test moves: after a simulated downtime one fire
/// computes every missed window, once, in order, and the cursor in the job's data map moves to the last one.
/// </summary>
public sealed class CatchUpTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private const string Never = "0 0 0 1 1 ? 2099";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-catchup-" + Guid.NewGuid().ToString("N")[..8]);
    // Past 11:00 by the lateness (5 min) and the look-around the window reads from the rollup (15 min: the longest idle
    // minimum duration of the pricing file, batch-spot's; issue 10): the rollup is done to now - lateness = 11:15.
    private readonly FakeTimeProvider _clock = new(T0.AddHours(1).AddMinutes(20));
    private readonly CapturedLog _log = new();
    private WebApplication? _app;

    private WebApplication App => _app!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _app = AnalyticsApplication.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Storage:Embedded:Retention", "00:00:00",
            "--Analytics:PricingFile", SchedulingFixtures.PricingFile,
            "--Analytics:Scheduler:RollupCron", Never,
            "--Analytics:Scheduler:CostCron", Never,
            "--Analytics:Scheduler:KpiCron", Never,
            "--Analytics:Scheduler:AnomalyCron", Never,
            "--Analytics:Scheduler:ForecastCron", Never,
            "--Analytics:Scheduler:InitialLookback", "01:00:00",
            "--Analytics:Scheduler:MaxCatchUp", "2.00:00:00",
        ], builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(_clock);
            builder.Logging.AddProvider(_log);
        });
        await SchedulingFixtures.WriteFleetAsync(App.Services.GetRequiredService<ITimeSeriesStore>(), T0, T0.AddHours(8), TimeSpan.FromSeconds(30));
        await App.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task CostWindowJob_AfterDowntime_ComputesEveryMissedWindowOnceInOrderAndPersistsTheCursor()
    {
        IScheduler scheduler = await App.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

        // Before the rollup job has run, the cost job (reading the rollup) finds nothing due.
        await FireAsync(scheduler, CostWindowJob.Key);
        Assert.Null(CursorJob.ReadCursor((await scheduler.GetJobDetail(CostWindowJob.Key))!.JobDataMap));
        Assert.Empty(SchedulingFixtures.Computed(_log.Lines, "cost-window"));

        // First fire, no cursor: the window before now (InitialLookback 1 h) and nothing else.
        await FireAndWaitForCursorAsync(scheduler, T0.AddHours(1));
        Assert.Equal([T0], SchedulingFixtures.Computed(_log.Lines, "cost-window"));

        // Five hours down: one fire computes the five missed windows, in order.
        _clock.Advance(TimeSpan.FromHours(5));
        await FireAndWaitForCursorAsync(scheduler, T0.AddHours(6));
        DateTimeOffset[] expected = [.. Enumerable.Range(0, 6).Select(h => T0.AddHours(h))];
        Assert.Equal(expected, SchedulingFixtures.Computed(_log.Lines, "cost-window"));

        // A fire with nothing due computes nothing; the cursor stays.
        await FireAndWaitForCursorAsync(scheduler, T0.AddHours(6));
        Assert.Equal(expected, SchedulingFixtures.Computed(_log.Lines, "cost-window"));

        // Each window was written once with the fleet's two GPU-hours.
        Dictionary<DateTimeOffset, double> hours = await SchedulingFixtures.GpuHoursPerWindowAsync(App.Services.GetRequiredService<ITimeSeriesStore>(), T0, T0.AddHours(8), "1h");
        Assert.Equal(expected, hours.Keys.Order());
        Assert.All(hours.Values, h => Assert.InRange(h, 2 - 1e-9, 2 + 1e-9));
    }

    [Fact]
    public async Task CostWindowJob_DowntimeLongerThanMaxCatchUp_ResumesAtTheBoundAndLogsTheGap()
    {
        IScheduler scheduler = await App.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await FireAndWaitForCursorAsync(scheduler, T0.AddHours(1));

        // Three days down with a two-day bound: the fire computes the last two days' windows only.
        _clock.Advance(TimeSpan.FromDays(3));
        DateTimeOffset due = T0.AddDays(3).AddHours(1); // now 3 d 1 h 20 min, the rollup done to 1 h 15 min
        await FireAndWaitForCursorAsync(scheduler, due);
        List<DateTimeOffset> computed = SchedulingFixtures.Computed(_log.Lines, "cost-window");
        Assert.Equal(1 + 48, computed.Count);
        Assert.Equal(due.AddDays(-2), computed[1]);
        Assert.Equal(due.AddHours(-1), computed[^1]);
        Assert.Contains(_log.Lines, l => l.Contains("cost-window was behind since", StringComparison.Ordinal) && l.Contains("run backfill", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnomalyJob_RunsBehindTheCostJob_ComputesTheWindowsTheCostJobHasDone()
    {
        IScheduler scheduler = await App.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

        // Before any cost window: nothing is due for the anomaly job.
        await FireAsync(scheduler, AnomalyJob.Key);
        Assert.Null(CursorJob.ReadCursor((await scheduler.GetJobDetail(AnomalyJob.Key))!.JobDataMap));

        // The cost job computes the 10:00 window; the anomaly job then covers exactly that window.
        await FireAndWaitForCursorAsync(scheduler, T0.AddHours(1));
        await FireAsync(scheduler, AnomalyJob.Key);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        DateTimeOffset? cursor;
        while ((cursor = CursorJob.ReadCursor((await scheduler.GetJobDetail(AnomalyJob.Key))!.JobDataMap)) is null && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Equal(T0.AddHours(1), cursor);
        Assert.Equal([T0], SchedulingFixtures.Computed(_log.Lines, "anomalies"));
    }

    /// <summary>Fires a job and waits until that fire has finished (the scheduler has stored its data map).</summary>
    private static async Task FireAsync(IScheduler scheduler, JobKey job)
    {
        var done = new FireListener(job);
        scheduler.ListenerManager.AddJobListener(done, [Matchers.AllJobs()]);
        await scheduler.TriggerJob(job);
        Task finished = await Task.WhenAny(done.Finished, Task.Delay(TimeSpan.FromSeconds(60)));
        scheduler.ListenerManager.RemoveJobListener(done.Name);
        Assert.True(finished == done.Finished, $"{job} did not finish within 60 s");
    }

    /// <summary>Fires the rollup job, then the cost job, and waits for the cost job's cursor.</summary>
    private static async Task FireAndWaitForCursorAsync(IScheduler scheduler, DateTimeOffset cursor)
    {
        await FireAsync(scheduler, GpuRollupJob.Key);

        // Listeners hear of a fire just before the store saves the job's data map: wait for the rollup's cursor
        // to cover the window and the look-around before the cost job looks at it.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(CursorJob.ReadCursor((await scheduler.GetJobDetail(GpuRollupJob.Key))!.JobDataMap) >= cursor.AddMinutes(15)) && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        await FireAsync(scheduler, CostWindowJob.Key);

        // Listeners hear of the fire just before the store saves the job's data map: give the save a moment.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        DateTimeOffset? stored;
        while ((stored = CursorJob.ReadCursor((await scheduler.GetJobDetail(CostWindowJob.Key))!.JobDataMap)) != cursor && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Equal(cursor, stored);
    }

    private sealed class FireListener(JobKey job) : IJobListener
    {
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name { get; } = "test-" + Guid.NewGuid().ToString("N");

        public Task Finished => _finished.Task;

        public ValueTask JobWasExecuted(IJobExecutionContext context, JobExecutionException? jobException, CancellationToken cancellationToken = default)
        {
            if (context.JobDetail.Key.Equals(job))
            {
                _finished.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }
    }
}
