using ObservaCost.Collector;
using ObservaCost.Hosting;

namespace ObservaCost.NodeCollector;

/// <summary>
/// The node collector's composition root (what a DaemonSet runs on each GPU node): the store (usually a remote
/// InfluxDB), the collector's sources, ingest endpoints, spool and forwarder, health. No analytics and no verbs;
/// any <c>--Key value</c> pair is configuration.
/// </summary>
public static class NodeCollectorApplication
{
    /// <summary>service.name of its telemetry.</summary>
    public const string ServiceName = "observacost-collector";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ObservaCostHost.Build(ServiceName, args, (services, config) => services.AddCollector(config), app => app.MapCollectorEndpoints(), configure);

    /// <summary>Runs the collector until shutdown; returns the exit code (2: bad configuration, one line per problem on <paramref name="errors"/>).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default) =>
        ObservaCostHost.RunAsync(args, errors, rest => Build(rest, configure), [], cancellationToken);
}
