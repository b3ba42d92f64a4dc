using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ObservaCost.Storage;
using ObservaCost.Storage.Configuration;
using ObservaCost.Storage.Writing;

namespace ObservaCost.Collector;

/// <summary>The collector's composition root: configuration, storage, health endpoints.</summary>
public static class CollectorApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
        builder.Services.AddObservaCostStorage(builder.Configuration);
        builder.Services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        builder.Services.AddHostedService<WriterLifetime>();
        configure?.Invoke(builder);

        WebApplication app = builder.Build();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}

/// <summary>Ready when the configured store answers.</summary>
internal sealed class StoreHealthCheck(ITimeSeriesStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy($"{store.Backend} store answers")
            : HealthCheckResult.Unhealthy($"{store.Backend} store does not answer");
}

/// <summary>Creates the batching writer at start and flushes it at shutdown, so nothing accepted is left in memory.</summary>
internal sealed partial class WriterLifetime(BatchingPointWriter writer, ITimeSeriesStore store, ILogger<WriterLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogStarted(logger, store.Backend);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await writer.FlushAsync(cancellationToken);
        WriterStatistics stats = writer.Statistics;
        LogStopped(logger, stats.PointsWritten, stats.PointsRejectedByStore + stats.PointsRejectedByEncoder);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Collector writing to the {Backend} store")]
    private static partial void LogStarted(ILogger logger, string backend);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Collector stopped: {Written} points written, {Rejected} rejected")]
    private static partial void LogStopped(ILogger logger, long written, long rejected);
}
