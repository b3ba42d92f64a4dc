using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Diagnostics;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;

namespace ObservaCost.Storage.Configuration;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the configured <see cref="ITimeSeriesStore"/> (writers batch themselves: the collector's forwarder reads its spool in batches).
    /// Every option is bound from configuration and validated at start-up.
    /// </summary>
    public static IServiceCollection AddObservaCostStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);

        StorageBackend backend = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()?.Backend ?? StorageBackend.Embedded;
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(configuration, StorageOptions.SectionName);
        // The store's telemetry (Diagnostics/): every caller gets the configured store behind InstrumentedTimeSeriesStore.
        services.TryAddSingleton(sp => new StoreMetrics(sp.GetService<IMeterFactory>()));

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
                sp.GetRequiredService<ILogger<InfluxDbStore>>(),
                sp.GetRequiredService<StoreMetrics>()));
            services.AddSingleton<ITimeSeriesStore>(sp => Instrumented(sp, sp.GetRequiredService<InfluxDbStore>()));
        }
        else
        {
            services.AddValidatedOptions<SqliteStoreOptions, SqliteStoreOptionsValidator>(configuration, SqliteStoreOptions.SectionName);
            services.AddSingleton<SqliteStore>(sp => new SqliteStore(
                sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<SqliteStore>>()));
            services.AddSingleton<ITimeSeriesStore>(sp => Instrumented(sp, sp.GetRequiredService<SqliteStore>()));
        }

        return services;
    }

    private static InstrumentedTimeSeriesStore Instrumented(IServiceProvider sp, ITimeSeriesStore store) =>
        new(store, sp.GetRequiredService<StoreMetrics>(), sp.GetRequiredService<TimeProvider>());
}
