using System.Globalization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Storage;
using ObservaCost.Storage.Configuration;

namespace ObservaCost.Analytics.Service;

/// <summary>
/// The analytics service's composition root: storage, analytics (options, pricing, services, Quartz), health.
/// Command line: no verb runs the service; <c>backfill --from &lt;ISO time&gt; --to &lt;ISO time&gt;</c> recomputes a
/// range and exits; <c>evaluate nab --data DIR</c> or <c>evaluate m4 --train FILE --test FILE</c> scores the anomaly
/// detectors or forecasters and prints the figures (docs/accuracy.md). Any other <c>--Key value</c> pair is configuration, as for every ASP.NET Core host.
/// </summary>
public static class AnalyticsApplication
{
    public const string BackfillVerb = "backfill";
    public const string EvaluateVerb = "evaluate";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json ships beside the binary; relative paths in it (the store) stay relative to the working directory.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(HostContentRoot.Options(args));
        IServiceCollection services = builder.Services;
        ConfigurationManager config = builder.Configuration;
        services.AddObservaCostStorage(config);
        services.AddObservaCostAnalytics(config);
        services.AddAnalyticsApi(config);
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        configure?.Invoke(builder);

        WebApplication app = builder.Build();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapAnalyticsApi();
        return app;
    }

    /// <summary>Runs the verb in <paramref name="args"/>; returns the process exit code (2: bad command line or configuration).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure = null, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            if (args.Length > 0 && args[0] == EvaluateVerb)
            {
                // The detectors and forecasters on NAB- and M4-shaped data (docs/accuracy.md); no store, no configuration.
                return await TimeSeries.Evaluation.EvaluationCommand.RunAsync(args[1..], output ?? Console.Out, cancellationToken);
            }

            if (args.Length > 0 && args[0] == BackfillVerb)
            {
                return await BackfillAsync(args[1..], errors, configure, cancellationToken);
            }

            await using WebApplication app = Build(args, configure);
            await app.RunAsync(cancellationToken);
            return 0;
        }
        catch (Exception ex) when (ConfigurationFailures(ex) is { Count: > 0 } failures)
        {
            await errors.WriteLineAsync("Invalid configuration:");
            foreach (string failure in failures)
            {
                await errors.WriteLineAsync("  " + failure);
            }

            return 2;
        }
    }

    /// <summary>The failures of options validation at start-up (one exception, or several in an AggregateException).</summary>
    private static List<string> ConfigurationFailures(Exception ex) => ex switch
    {
        OptionsValidationException validation => [.. validation.Failures],
        AggregateException aggregate when aggregate.InnerExceptions.All(e => e is OptionsValidationException) =>
            [.. aggregate.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures)],
        _ => [],
    };

    private static async Task<int> BackfillAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure, CancellationToken cancellationToken)
    {
        TimeRangeArguments range = TimeRangeArguments.Parse(BackfillVerb, args);
        if (range.Error is not null)
        {
            await errors.WriteLineAsync(range.Error);
            return 2;
        }

        if (!range.IsRange)
        {
            await errors.WriteLineAsync("usage: backfill --from <ISO time> --to <ISO time> [--Key value ...]   (--from before --to)");
            return 2;
        }

        await using WebApplication app = Build([.. range.Rest], configure);
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        AnalyticsBackfill backfill = app.Services.GetRequiredService<AnalyticsBackfill>();
        var progress = new BackfillProgress(errors, redraw: ReferenceEquals(errors, Console.Error) && !Console.IsErrorRedirected, app.Services.GetRequiredService<TimeProvider>());
        AnalyticsBackfill.Summary summary = await backfill.RunAsync(range.From!.Value, range.To!.Value, progress, cancellationToken);
        await errors.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"backfill done: {summary.RollupRanges} rollup ranges, {summary.Windows} windows, {summary.Days} days in {summary.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}

/// <summary>Ready when the store answers.</summary>
internal sealed class StoreHealthCheck(ITimeSeriesStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy($"{store.Backend} store answers")
            : HealthCheckResult.Unhealthy($"{store.Backend} store does not answer");
}
