using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ObservaCost.Hosting.Telemetry;
using ObservaCost.Storage.Configuration;

namespace ObservaCost.Hosting;

/// <summary>
/// What every ObservaCost deployable does the same way: the builder with the content root rule
/// (<see cref="HostContentRoot"/>), the configured store, the composed libraries, <c>/healthz</c> and <c>/readyz</c>
/// (<see cref="HealthEndpoints"/>); and the range verbs' command line. A host passes only what it composes.
/// </summary>
public static class ObservaCostHost
{
    /// <summary>
    /// Builds a host: storage from configuration, telemetry as <paramref name="serviceName"/> (<see cref="ObservaCostTelemetry"/>),
    /// then <paramref name="addServices"/>, then <paramref name="configure"/> (tests: extra services, a fake clock);
    /// after the build, the health endpoints, <c>/metrics</c> and <paramref name="mapEndpoints"/>.
    /// </summary>
    public static WebApplication Build(string serviceName, string[] args, Action<IServiceCollection, IConfiguration> addServices, Action<WebApplication> mapEndpoints, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(addServices);
        ArgumentNullException.ThrowIfNull(mapEndpoints);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(HostContentRoot.Options(args));
        builder.Services.AddObservaCostStorage(builder.Configuration);
        builder.Services.AddObservaCostTelemetry(builder.Configuration, serviceName);
        addServices(builder.Services, builder.Configuration);
        configure?.Invoke(builder);

        WebApplication app = builder.Build();
        app.MapHealthEndpoints();
        app.MapPrometheusMetrics();
        mapEndpoints(app);
        return app;
    }

    /// <summary>
    /// The command line of every host, inside <see cref="HostRun"/> (configuration errors: one line each, exit code 2):
    /// when the first argument names one of <paramref name="verbs"/>, that verb runs with the arguments after it;
    /// otherwise the host is built from all arguments (configuration) and runs until shutdown.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter errors, Func<string[], WebApplication> build, IReadOnlyList<HostVerb> verbs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(verbs);
        return HostRun.RunAsync(async () =>
        {
            if (args.Length > 0 && verbs.FirstOrDefault(v => v.Name == args[0]) is { } verb)
            {
                return await verb.RunAsync(args[1..]);
            }

            await using WebApplication app = build(args);
            // Validated before the start, so that a configuration error is the only output (the host's own start
            // failure would log it again with a stack trace).
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            await app.RunAsync(cancellationToken);
            return 0;
        }, errors);
    }

    /// <summary>
    /// A verb over <c>--from --to</c>: parses the range (exit code 2 with the error or <paramref name="usage"/> when
    /// it is missing or bad), builds the host from the remaining arguments (configuration), validates its options
    /// and runs <paramref name="run"/>, which returns the exit code.
    /// </summary>
    public static async Task<int> RunRangeVerbAsync(string verb, string usage, IReadOnlyList<string> args, TextWriter errors, Func<string[], WebApplication> build, Func<IServiceProvider, DateTimeOffset, DateTimeOffset, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(run);
        if (await TimeRangeArguments.ParseRangeAsync(verb, args, usage, errors) is not { } range)
        {
            return HostRun.ConfigurationErrorExitCode;
        }

        await using WebApplication app = build([.. range.Rest]);
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        return await run(app.Services, range.From!.Value, range.To!.Value);
    }
}

/// <summary>A verb of a host's command line: its name and what it runs with the arguments after the name (returns the exit code).</summary>
public sealed record HostVerb(string Name, Func<string[], Task<int>> RunAsync);
