using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Collector;
using ObservaCost.Hosting;

namespace ObservaCost.SingleMachine;

/// <summary>
/// The single-machine host's composition root (<c>observacost</c>, the README's first command): the collector, the
/// analytics domain with its Quartz jobs and the HTTP API in one process, on the configured store (the embedded one by
/// default). Command line: no verb runs the host; <c>import-requests FILE --from --to</c> imports request logs,
/// <c>backfill --from --to</c> recomputes a range, <c>evaluate nab|m4 ...</c> scores the detectors or forecasters;
/// any other <c>--Key value</c> pair is configuration.
/// </summary>
public static class SingleMachineApplication
{
    public const string EvaluateVerb = "evaluate";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ObservaCostHost.Build(
            args,
            (services, config) =>
            {
                services.AddCollector(config);
                services.AddAnalyticsDomain(config);
                services.AddAnalyticsScheduling(config);
                services.AddAnalyticsApi(config);
            },
            app =>
            {
                app.MapCollectorEndpoints();
                app.MapAnalyticsApi();
            },
            configure);

    /// <summary>Runs the verb in <paramref name="args"/>; returns the process exit code (2: bad command line or configuration).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure = null, TextWriter? output = null, CancellationToken cancellationToken = default) =>
        ObservaCostHost.RunAsync(args, errors, rest => Build(rest, configure),
        [
            new(EvaluateVerb, rest => EvaluationCommand.RunAsync(rest, output ?? Console.Out, cancellationToken)),
            new(BackfillCommand.Verb, rest => ObservaCostHost.RunRangeVerbAsync(BackfillCommand.Verb, BackfillCommand.Usage, rest, errors, configuration => Build(configuration, configure),
                (services, from, to) => BackfillCommand.RunAsync(services, from, to, errors, cancellationToken))),
            new(RequestLogImportCommand.Verb, rest => ImportRequestsAsync(rest, output ?? Console.Out, errors, configure, cancellationToken)),
        ],
        cancellationToken);

    private static async Task<int> ImportRequestsAsync(string[] args, TextWriter output, TextWriter errors, Action<WebApplicationBuilder>? configure, CancellationToken cancellationToken)
    {
        (string? file, string[] rest) = RequestLogImportCommand.SplitFile(args);
        if (file is null)
        {
            await errors.WriteLineAsync(RequestLogImportCommand.Usage);
            return HostRun.ConfigurationErrorExitCode;
        }

        // The import needs the store and the collector's request-log settings only, not the analytics configuration.
        return await ObservaCostHost.RunRangeVerbAsync(RequestLogImportCommand.Verb, RequestLogImportCommand.Usage, rest, errors,
            configuration => ObservaCostHost.Build(configuration, (services, config) => services.AddCollector(config), _ => { }, configure),
            (services, from, to) => RequestLogImportCommand.RunAsync(services, file, from, to, output, errors, cancellationToken));
    }
}
