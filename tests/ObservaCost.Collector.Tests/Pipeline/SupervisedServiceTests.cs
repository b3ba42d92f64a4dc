using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Hosting.Telemetry;
using OpenTelemetry.Metrics;

namespace ObservaCost.Collector.Tests.Pipeline;

/// <summary>
/// A background loop that throws is restarted by <see cref="SupervisedService"/> after its backoff on a fake clock,
/// is shown on the readiness check while it fails, and is ready again once the restarted loop has run long enough.
/// </summary>
public sealed class SupervisedServiceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task LoopThrows_UnreadyRestartedAfterBackoffThenReady()
    {
        using var h = new Harness(failures: 2, healthyAfter: TimeSpan.FromSeconds(30));
        (TimerCountingClock clock, ServiceHealth health, CollectorTotals metrics, FlakyService flaky, SupervisedService supervisor) = h;
        var check = new SupervisedServicesHealthCheck(health);
        await supervisor.StartAsync(CancellationToken.None);

        // Run 1 throws at 0 s: unready with the name and the error; the restart waits 1 s.
        await WaitUntilAsync(() => health.IsFailing("flaky") && clock.LiveTimers == 1);
        HealthCheckResult unready = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, unready.Status);
        Assert.Contains("flaky is failing (InvalidOperationException: run 1 failed)", unready.Description, StringComparison.Ordinal);
        Assert.Equal(1, metrics.RestartsTotal("flaky"));

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, flaky.Runs);

        // At 1 s run 2 starts and throws too: the next wait doubles to 2 s.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await WaitUntilAsync(() => flaky.Runs == 2 && metrics.RestartsTotal("flaky") == 2 && clock.LiveTimers == 1);
        clock.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(2, flaky.Runs);

        // At 3 s run 3 starts and keeps running; still unready until it has run 30 s.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await WaitUntilAsync(() => flaky.Runs == 3 && clock.LiveTimers == 1);
        Assert.True(health.IsFailing("flaky"));
        clock.Advance(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => !health.IsFailing("flaky"));
        HealthCheckResult ready = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal(2, metrics.RestartsTotal("flaky"));

        await supervisor.StopAsync(CancellationToken.None);
        Assert.True(flaky.StoppedCleanly);
    }

    [Fact]
    public async Task LoopFailsAgainAfterRecovering_BackoffStartsOver()
    {
        using var h = new Harness(failures: 1, healthyAfter: TimeSpan.FromSeconds(5));
        (TimerCountingClock clock, ServiceHealth health, CollectorTotals metrics, FlakyService flaky, SupervisedService supervisor) = h;
        await supervisor.StartAsync(CancellationToken.None);

        // Run 1 fails at 0 s; run 2 starts at 1 s and is healthy at 6 s.
        await WaitUntilAsync(() => health.IsFailing("flaky") && clock.LiveTimers == 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => flaky.Runs == 2 && clock.LiveTimers == 1);
        clock.Advance(TimeSpan.FromSeconds(5));
        await WaitUntilAsync(() => !health.IsFailing("flaky"));

        // Run 2 then fails: the wait is the initial 1 s again, not 2 s.
        flaky.FailNow();
        await WaitUntilAsync(() => health.IsFailing("flaky") && clock.LiveTimers == 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => flaky.Runs == 3);
        Assert.Equal(2, metrics.RestartsTotal("flaky"));
        await supervisor.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ServiceThrowsInTheCollector_ReadyzNamesItUntilItRunsAgain()
    {
        // The collector on a fake clock with one more supervised service that throws in its first run. Defaults:
        // restart after 1 s, ready again after 30 s of running.
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using CollectorHost host = await CollectorHost.StartAsync(builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(clock);
            builder.Services.AddSupervisedHostedService<ThrowsOnceService>();
        });
        ThrowsOnceService service = host.Services.GetRequiredService<ThrowsOnceService>();
        ServiceHealth health = host.Services.GetRequiredService<ServiceHealth>();
        // Every background loop of the collector runs supervised (nvidia-smi polling only when it is enabled).
        Assert.Equal(
            ["JsonlTailService", "RequestLogPipeline", "ScrapeService", "SpoolForwarder", "ThrowsOnceService"],
            host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SupervisedService>().Select(s => s.Name).Order(StringComparer.Ordinal));

        await WaitUntilAsync(() => health.IsFailing(nameof(ThrowsOnceService)));
        HttpResponseMessage unready = await host.Client.GetAsync("/readyz");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, unready.StatusCode);
        string body = await unready.Content.ReadAsStringAsync();
        Assert.StartsWith("Unhealthy\nbackground-services: ThrowsOnceService is failing (InvalidOperationException: the first run fails)", body, StringComparison.Ordinal);
        Assert.Contains("observacost_collector_service_restarts_total{service=\"ThrowsOnceService\"} 1\n", await host.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);

        // Restarted at 1 s; still unready until it has run 30 s.
        await AdvanceUntilAsync(clock, TimeSpan.FromSeconds(1), () => service.Runs == 2);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/readyz")).StatusCode);
        await AdvanceUntilAsync(clock, TimeSpan.FromSeconds(30), () => !health.IsFailing(nameof(ThrowsOnceService)));
        HttpResponseMessage ready = await host.Client.GetAsync("/readyz");
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    /// <summary>
    /// Moves the clock by <paramref name="step"/> until <paramref name="condition"/> holds: the supervisor arms its
    /// timers asynchronously, and the collector's other timers share the clock, so it moves in steps.
    /// </summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, TimeSpan step, Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Patience, "the condition did not hold in time");
            clock.Advance(step);
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(5);
        }
    }

    /// <summary>A flaky service under a supervisor that waits 1 s, then 2 s, 4 s, 8 s at most, on a fake clock.</summary>
    private sealed class Harness : IDisposable
    {
        // The hosts' telemetry registration, so the restarts are read as /metrics shows them.
        private readonly ServiceProvider _provider = new ServiceCollection().AddMetrics()
            .AddObservaCostTelemetry(new ConfigurationBuilder().Build(), "supervision-test").BuildServiceProvider();

        public Harness(int failures, TimeSpan healthyAfter)
        {
            _provider.GetRequiredService<MeterProvider>();
            Totals = CollectorTotals.Of(_provider);
            Metrics = new CollectorMetrics(_provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
            Flaky = new FlakyService(failures);
            var options = new SupervisionOptions { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(8), HealthyAfter = healthyAfter };
            Supervisor = new SupervisedService(Flaky, "flaky", Health, options, Metrics, Clock, NullLogger<SupervisedService>.Instance);
        }

        public TimerCountingClock Clock { get; } = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));

        public ServiceHealth Health { get; } = new();

        public CollectorMetrics Metrics { get; }

        public CollectorTotals Totals { get; }

        public FlakyService Flaky { get; }

        public SupervisedService Supervisor { get; }

        public void Deconstruct(out TimerCountingClock clock, out ServiceHealth health, out CollectorTotals metrics, out FlakyService flaky, out SupervisedService supervisor) =>
            (clock, health, metrics, flaky, supervisor) = (Clock, Health, Totals, Flaky, Supervisor);

        public void Dispose()
        {
            Supervisor.Dispose();
            Flaky.Dispose();
            Metrics.Dispose();
            _provider.Dispose();
        }
    }

    /// <summary>
    /// A <see cref="FakeTimeProvider"/> that also counts its live timers (created, not yet disposed), so a test can wait
    /// until the supervisor has armed its wait before moving the clock: an Advance before that would be lost.
    /// <c>Task.Delay</c> disposes its timer when it fires or is cancelled, so a count of 1 means exactly one backoff or
    /// healthy-after wait is pending.
    /// </summary>
    private sealed class TimerCountingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _live;

        public int LiveTimers => Volatile.Read(ref _live);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _live);
            return new CountedTimer(base.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class CountedTimer(ITimer inner, TimerCountingClock owner) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref owner._live);
                }

                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }

    /// <summary>Throws in its first run; later runs wait for the stop.</summary>
    private sealed class ThrowsOnceService : BackgroundService
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            Interlocked.Increment(ref _runs) == 1
                ? throw new InvalidOperationException("the first run fails")
                : new TaskCompletionSource().Task.WaitAsync(stoppingToken);
    }

    /// <summary>Throws in its first <c>failures</c> runs; later runs wait for the stop (or <see cref="FailNow"/>).</summary>
    private sealed class FlakyService(int failures) : BackgroundService
    {
        private int _runs;
        private TaskCompletionSource _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Runs => Volatile.Read(ref _runs);

        public bool StoppedCleanly { get; private set; }

        public void FailNow() => _fail.TrySetException(new InvalidOperationException("failed after running"));

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            int run = Interlocked.Increment(ref _runs);
            if (run <= failures)
            {
                throw new InvalidOperationException($"run {run} failed");
            }

            _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                await _fail.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                StoppedCleanly = true;
            }
        }
    }
}
