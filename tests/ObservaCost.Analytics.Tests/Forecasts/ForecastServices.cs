using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;

namespace ObservaCost.Analytics.Tests.Forecasts;

/// <summary>Builds the demand forecast service as the DI container does, with the trainer and logs the test chooses.</summary>
internal static class ForecastServices
{
    public static DemandForecastService Create(
        ITimeSeriesStore store, PricingFile pricing, ForecastOptions options, GlobalForecastModels? models = null, ILoggerFactory? logs = null) => new(
        store,
        pricing,
        new AnalyticsWindowOptions(),
        options,
        models ?? Models(options, new GlobalEnsembleTrainer(), logs),
        (logs ?? NullLoggerFactory.Instance).CreateLogger<DemandForecastService>());

    public static GlobalForecastModels Models(ForecastOptions options, IForecastModelTrainer trainer, ILoggerFactory? logs = null) =>
        new(options, new ForecastModelStore(options), trainer, (logs ?? NullLoggerFactory.Instance).CreateLogger<GlobalForecastModels>());
}
