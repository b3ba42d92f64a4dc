using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Writing;

namespace ObservaCost.Storage.Configuration;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the configured <see cref="ITimeSeriesStore"/> and a <see cref="BatchingPointWriter"/> in front of it.
    /// Every option is bound from configuration and validated at start-up.
    /// </summary>
    public static IServiceCollection AddObservaCostStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);

        StorageBackend backend = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()?.Backend ?? StorageBackend.Embedded;
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(configuration, StorageOptions.SectionName);
        services.AddValidatedOptions<PointBatchingOptions, PointBatchingOptionsValidator>(configuration, PointBatchingOptions.SectionName);

        if (backend == StorageBackend.InfluxDb)
        {
            services.AddValidatedOptions<InfluxDbOptions, InfluxDbOptionsValidator>(configuration, InfluxDbOptions.SectionName);
            // The factory's default loggers write four Information lines per request; the store's requests are
            // logged once, at Debug (InfluxRequestLog).
            services.AddHttpClient(nameof(InfluxDbStore), client => client.Timeout = Timeout.InfiniteTimeSpan)
                .RemoveAllLoggers()
                .AddLogger<InfluxRequestLog>();
            services.TryAddSingleton<InfluxRequestLog>();
            services.AddSingleton<InfluxDbStore>(sp => new InfluxDbStore(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(InfluxDbStore)),
                sp.GetRequiredService<IOptions<InfluxDbOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<InfluxDbStore>>()));
            services.AddSingleton<ITimeSeriesStore>(sp => sp.GetRequiredService<InfluxDbStore>());
        }
        else
        {
            services.AddValidatedOptions<SqliteStoreOptions, SqliteStoreOptionsValidator>(configuration, SqliteStoreOptions.SectionName);
            services.AddSingleton<SqliteStore>(sp => new SqliteStore(
                sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<SqliteStore>>()));
            services.AddSingleton<ITimeSeriesStore>(sp => sp.GetRequiredService<SqliteStore>());
        }

        services.AddSingleton(sp =>
        {
            WritePrecisionHolder precision = backend == StorageBackend.InfluxDb
                ? new(sp.GetRequiredService<IOptions<InfluxDbOptions>>().Value.Precision)
                : new(LineProtocol.WritePrecision.Nanoseconds);
            return new BatchingPointWriter(
                sp.GetRequiredService<ITimeSeriesStore>(),
                sp.GetRequiredService<IOptions<PointBatchingOptions>>().Value,
                precision.Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<BatchingPointWriter>());
        });
        return services;
    }

    private readonly record struct WritePrecisionHolder(LineProtocol.WritePrecision Value);
}
