using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// Runs one <see cref="BackgroundService"/> under supervision: when its loop throws, the exception is logged and
/// counted, <c>/readyz</c> turns unready naming the service and the error, and the loop is started again after an
/// exponential backoff (<see cref="SupervisionOptions"/>, on the injected <see cref="TimeProvider"/>). Once the
/// restarted loop has run <see cref="SupervisionOptions.HealthyAfter"/> without failing, the service is ready again and
/// the backoff starts over. A loop that returns (the service has nothing to do) is not restarted.
/// </summary>
/// <remarks>
/// The supervised service is driven through its public <see cref="IHostedService"/> contract: each restart calls
/// <see cref="BackgroundService.StartAsync"/> again, which runs <c>ExecuteAsync</c> again with a fresh stopping token
/// linked to the host's. The host itself sees only the supervisor, so an exception in a supervised loop never reaches
/// <see cref="BackgroundServiceExceptionBehavior"/>.
/// </remarks>
public sealed partial class SupervisedService(
    BackgroundService service,
    string name,
    ServiceHealth health,
    SupervisionOptions options,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<SupervisedService> logger) : BackgroundService
{
    /// <summary>The supervised service's name in logs, metrics and <c>/readyz</c>.</summary>
    public string Name => name;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await service.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan backoff = options.InitialBackoff;
        int restarts = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await service.StartAsync(stoppingToken);
                Task run = service.ExecuteTask ?? Task.CompletedTask;
                if (restarts > 0)
                {
                    using var stable = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    Task healthyAfter = Task.Delay(options.HealthyAfter, time, stable.Token);
                    if (await Task.WhenAny(run, healthyAfter) == healthyAfter && healthyAfter.IsCompletedSuccessfully)
                    {
                        health.Recovered(name);
                        LogRecovered(logger, name, restarts);
                        backoff = options.InitialBackoff;
                        restarts = 0;
                    }

                    await stable.CancelAsync();
                }

                await run;
                health.Recovered(name);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever the loop threw: it is logged, counted and shown on /readyz, never swallowed silently.
                restarts++;
                metrics.ServiceRestarted(name);
                string error = ex.GetType().Name + ": " + ex.Message;
                health.Failing(name, error, time.GetUtcNow() + backoff);
                LogFailed(logger, ex, name, restarts, backoff.TotalSeconds);
            }

            try
            {
                await Task.Delay(backoff, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
        }
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Error, Message = "The {Service} loop failed (failure {Failures} in a row); it is restarted in {BackoffSeconds:F1} s and /readyz is unready until it runs again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string service, int failures, double backoffSeconds);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "The {Service} loop runs again after {Failures} failures; /readyz is ready")]
    private static partial void LogRecovered(ILogger logger, string service, int failures);
}

/// <summary>The supervised services that are failing now, with their last error; read by <c>/readyz</c>.</summary>
public sealed class ServiceHealth
{
    private readonly ConcurrentDictionary<string, (string Error, DateTimeOffset NextStart)> _failing = new(StringComparer.Ordinal);

    public void Failing(string service, string error, DateTimeOffset nextStart) => _failing[service] = (error, nextStart);

    public void Recovered(string service) => _failing.TryRemove(service, out _);

    public bool IsFailing(string service) => _failing.ContainsKey(service);

    /// <summary>One line per failing service: name, error and when it starts again.</summary>
    public IReadOnlyList<string> Describe() =>
        _failing.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} is failing ({kv.Value.Error}); next start at {kv.Value.NextStart:O}"))
            .ToList();
}

/// <summary>Unready while any supervised service is failing; the description names each service and its error.</summary>
public sealed class SupervisedServicesHealthCheck(ServiceHealth health) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> failing = health.Describe();
        return Task.FromResult(failing.Count == 0
            ? HealthCheckResult.Healthy("background services run")
            : HealthCheckResult.Unhealthy(string.Join("; ", failing)));
    }
}

/// <summary>How supervised background services are restarted. Configuration section <c>Collector:Supervision</c>.</summary>
public sealed class SupervisionOptions
{
    public const string SectionName = "Collector:Supervision";

    /// <summary>Wait before the first restart; doubled after each failure in a row.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between restarts.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a restarted loop must run without failing to count as recovered (ready again, backoff reset).</summary>
    public TimeSpan HealthyAfter { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SupervisionOptionsValidator : IValidateOptions<SupervisionOptions>
{
    public ValidateOptionsResult Validate(string? name, SupervisionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = SupervisionOptions.SectionName + ":";
        if (options.InitialBackoff <= TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
        {
            failures.Add($"{p}InitialBackoff must be positive and no longer than {p}MaxBackoff.");
        }

        if (options.HealthyAfter <= TimeSpan.Zero)
        {
            failures.Add($"{p}HealthyAfter must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public static class SupervisionServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TService"/> (a singleton, unless registered already) as a background service run
    /// by a <see cref="SupervisedService"/>, instead of <c>AddHostedService</c>.
    /// </summary>
    public static IServiceCollection AddSupervisedHostedService<TService>(this IServiceCollection services)
        where TService : BackgroundService
    {
        services.TryAddSingleton<TService>();
        services.TryAddSingleton<ServiceHealth>();
        // Not AddHostedService: it adds a factory-made service once per implementation type, and every supervisor is a
        // SupervisedService.
        services.AddSingleton<IHostedService>(sp => new SupervisedService(
            sp.GetRequiredService<TService>(),
            typeof(TService).Name,
            sp.GetRequiredService<ServiceHealth>(),
            sp.GetRequiredService<IOptions<SupervisionOptions>>().Value,
            sp.GetRequiredService<CollectorMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SupervisedService>>()));
        return services;
    }
}
