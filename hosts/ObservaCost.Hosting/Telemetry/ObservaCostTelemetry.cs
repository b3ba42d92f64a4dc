using System.Diagnostics.Metrics;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ObservaCost.Hosting.Telemetry;

/// <summary>
/// The one telemetry registration of every deployable (<see cref="ObservaCostHost.Build"/> calls it): the OpenTelemetry
/// SDK with metrics and traces of every <c>ObservaCost.*</c> meter and activity source, ASP.NET Core, HttpClient and
/// runtime instrumentation, a resource naming the service, its version and instance; OTLP/HTTP export when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment or configuration; the SDK reads the other standard
/// <c>OTEL_*</c> keys itself); and <c>/metrics</c>, Prometheus text from the same SDK (<see cref="PrometheusMetrics"/>).
/// </summary>
public static class ObservaCostTelemetry
{
    /// <summary>Every meter and activity source of the ObservaCost libraries (ObservaCost.Collector, ObservaCost.Storage, ...).</summary>
    public const string SourcePattern = "ObservaCost.*";

    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string MetricsPath = "/metrics";

    /// <summary>Registers the SDK for <paramref name="serviceName"/> (service.name; service.version from the entry assembly).</summary>
    public static IServiceCollection AddObservaCostTelemetry(this IServiceCollection services, IConfiguration config, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        services.AddSingleton<PrometheusMetrics>();
        IMeterFactory? own = null;
        IOpenTelemetryBuilder telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceVersion: ServiceVersion(), serviceInstanceId: InstanceId(config)))
            .WithMetrics(metrics => metrics
                .AddMeter(SourcePattern)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddReader(sp =>
                {
                    own = sp.GetRequiredService<IMeterFactory>();
                    return sp.GetRequiredService<PrometheusMetrics>().Reader;
                })
                // The SDK listens to meters by name, process-wide: a meter made by another host's factory (several
                // hosts in one test process) is not this host's.
                .AddView(instrument => instrument.Meter.Scope is IMeterFactory factory && own is not null && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null))
            .WithTracing(tracing => tracing
                .AddSource(SourcePattern)
                // Scrapes and probes are not traced: they would be most of the spans.
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path))
                .AddHttpClientInstrumentation());
        string? endpoint = config[OtlpEndpointKey];
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            // OTLP/HTTP protobuf to <endpoint>/v1/metrics and /v1/traces.
            telemetry.UseOtlpExporter(OtlpExportProtocol.HttpProtobuf, new Uri(endpoint, UriKind.Absolute));
        }

        return services;
    }

    /// <summary>Maps <c>/metrics</c>: every instrument of the SDK in Prometheus text format 0.0.4.</summary>
    public static IEndpointRouteBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(MetricsPath, (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), PrometheusMetrics.ContentType));
        return endpoints;
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments(MetricsPath, StringComparison.Ordinal)
        || path.StartsWithSegments(HealthEndpoints.LivePath, StringComparison.Ordinal)
        || path.StartsWithSegments(HealthEndpoints.ReadyPath, StringComparison.Ordinal);

    private static string ServiceVersion()
    {
        Assembly assembly = Assembly.GetEntryAssembly() ?? typeof(ObservaCostTelemetry).Assembly;
        return assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
    }

    /// <summary>OTEL_SERVICE_INSTANCE_ID when set; otherwise the host name (the pod's name under Kubernetes) and process id.</summary>
    private static string InstanceId(IConfiguration config) =>
        config["OTEL_SERVICE_INSTANCE_ID"] is { Length: > 0 } configured
            ? configured
            : string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}");
}
