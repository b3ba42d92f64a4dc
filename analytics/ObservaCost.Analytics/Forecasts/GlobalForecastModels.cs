using System.Globalization;
using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Analytics.Forecasts;

/// <summary>Trains the global ensemble on a set of hourly histories that all end at the same hour.</summary>
public interface IForecastModelTrainer
{
    /// <exception cref="InvalidOperationException">The histories cannot train a model.</exception>
    GlobalEnsembleFit Train(IReadOnlyList<double[]> histories, int horizonHours);
}

/// <summary>
/// The trainer of the product: <see cref="GlobalEnsemble"/> of the FastTree global model with seasonal naive,
/// Holt-Winters and log-SSA (<see cref="HourlyForecasters.Singles"/>), weights and interval quantiles chosen on the
/// last horizon of the histories; one trainer thread, seed 1.
/// </summary>
public sealed class GlobalEnsembleTrainer : IForecastModelTrainer
{
    public GlobalEnsembleFit Train(IReadOnlyList<double[]> histories, int horizonHours) =>
        GlobalEnsemble.Fit(histories, HourlyForecasters.Singles(), new GlobalTreeOptions { Horizon = horizonHours });
}

/// <summary>Which model served a model's demand forecast.</summary>
public enum ForecastModelServed
{
    /// <summary>The current global ensemble: trained by this forecast, or trained less than the retrain interval ago.</summary>
    GlobalEnsemble,

    /// <summary>The previous global ensemble: retraining was due but failed (or no history was long enough).</summary>
    PreviousGlobalEnsemble,

    /// <summary>Seasonal naive (m = 24): retraining failed and there is no previous model.</summary>
    SeasonalNaiveFallback,

    /// <summary>
    /// The local forecasters (<see cref="DemandForecastService.ChooseForecaster"/>): the model's history is shorter
    /// than the global model needs, or no global model was ever trained because no history was long enough.
    /// </summary>
    Local,
}

/// <summary>The global model a forecast uses (null when none) and why.</summary>
public sealed record ForecastModelChoice(StoredForecastModel? Model, ForecastModelServed Served);

/// <summary>
/// Holds the global ensemble the demand forecast uses, retrains it when <see cref="ForecastOptions.RetrainInterval"/>
/// has passed since the end of its training histories (not on every forecast), and keeps it in
/// <see cref="ForecastModelStore"/> so a restart reuses it. When a due training fails, the previous model keeps
/// serving; with no previous model, seasonal naive. Calls are serialised.
/// </summary>
public sealed partial class GlobalForecastModels(
    ForecastOptions options,
    ForecastModelStore modelStore,
    IForecastModelTrainer trainer,
    ILogger<GlobalForecastModels> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private StoredForecastModel? _current;
    private bool _loaded;

    /// <summary>Hours a history needs to train: the global model's shortest history, plus a horizon of labels, plus a validation horizon.</summary>
    public int MinimumTrainingHours => GlobalTreeForecaster.MinimumHistory + (2 * options.HorizonHours);

    /// <summary>
    /// The model for a forecast whose first hour is <paramref name="firstHour"/>, from <paramref name="histories"/>
    /// (each model's observed hours, ending at <paramref name="firstHour"/>): the current model when it is younger
    /// than the retrain interval, else a model trained now on the histories of at least <see cref="MinimumTrainingHours"/>.
    /// </summary>
    public async Task<ForecastModelChoice> SelectAsync(IReadOnlyDictionary<string, double[]> histories, DateTimeOffset firstHour, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(histories);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return Select(histories, firstHour);
        }
        finally
        {
            _gate.Release();
        }
    }

    private ForecastModelChoice Select(IReadOnlyDictionary<string, double[]> histories, DateTimeOffset firstHour)
    {
        if (!_loaded)
        {
            _loaded = true;
            _current = LoadStored();
        }

        StoredForecastModel? current = _current?.Manifest.HorizonHours == options.HorizonHours ? _current : null;
        if (current is not null && firstHour >= current.Manifest.TrainingTo && firstHour - current.Manifest.TrainingTo < options.RetrainInterval)
        {
            LogReused(logger, current.Manifest.TrainingFrom, current.Manifest.TrainingTo, current.Manifest.InputHash);
            return new ForecastModelChoice(current, ForecastModelServed.GlobalEnsemble);
        }

        KeyValuePair<string, double[]>[] training = [.. histories
            .Where(h => h.Value.Length >= MinimumTrainingHours)
            .OrderBy(h => h.Key, StringComparer.Ordinal)];
        if (training.Length == 0)
        {
            LogNotTrained(logger, MinimumTrainingHours);
            return current is null ? new ForecastModelChoice(null, ForecastModelServed.Local) : new ForecastModelChoice(current, ForecastModelServed.PreviousGlobalEnsemble);
        }

        GlobalEnsembleFit fit;
        try
        {
            fit = trainer.Train([.. training.Select(t => t.Value)], options.HorizonHours);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or InvalidDataException)
        {
            LogTrainingFailed(logger, ex, current is null ? "seasonal naive" : $"the previous model (trained on [{current.Manifest.TrainingFrom:o}, {current.Manifest.TrainingTo:o}))");
            return current is null ? new ForecastModelChoice(null, ForecastModelServed.SeasonalNaiveFallback) : new ForecastModelChoice(current, ForecastModelServed.PreviousGlobalEnsemble);
        }

        var manifest = new ForecastModelManifest
        {
            TrainingFrom = firstHour.AddHours(-training.Max(t => t.Value.Length)),
            TrainingTo = firstHour,
            InputHash = ForecastModelStore.InputHash(training),
            Series = [.. training.Select(t => t.Key)],
            HorizonHours = options.HorizonHours,
            TrainingRows = fit.Model.TrainingRows,
            TrainingSeconds = fit.TrainingTime.TotalSeconds,
            MemberNames = fit.MemberNames,
            Weights = fit.Weights,
            LowerQuantile = fit.LowerQuantile,
            UpperQuantile = fit.UpperQuantile,
        };
        _current = new StoredForecastModel(manifest, fit);
        if (logger.IsEnabled(LogLevel.Information))
        {
            string weights = string.Join(", ", fit.Weights.Select(w => w.ToString("0.0#", CultureInfo.InvariantCulture)));
            LogTrained(logger, training.Length, manifest.TrainingFrom, manifest.TrainingTo, manifest.InputHash, manifest.TrainingSeconds, weights);
        }

        try
        {
            modelStore.Save(_current);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(logger, ex, modelStore.Directory);
        }

        return new ForecastModelChoice(_current, ForecastModelServed.GlobalEnsemble);
    }

    public void Dispose() => _gate.Dispose();

    private StoredForecastModel? LoadStored()
    {
        try
        {
            StoredForecastModel? stored = modelStore.Load();
            if (stored is not null)
            {
                LogLoaded(logger, modelStore.Directory, stored.Manifest.TrainingFrom, stored.Manifest.TrainingTo, stored.Manifest.InputHash);
            }

            return stored;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            LogLoadFailed(logger, ex, modelStore.Directory);
            return null;
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Forecast model trained on {Series} series over [{From:o}, {To:o}), input SHA-256 {InputHash}, in {Seconds:F1} s; ensemble weights {Weights}")]
    private static partial void LogTrained(ILogger logger, int series, DateTimeOffset from, DateTimeOffset to, string inputHash, double seconds, string weights);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Forecast model trained on [{From:o}, {To:o}) (input SHA-256 {InputHash}) reused: younger than the retrain interval")]
    private static partial void LogReused(ILogger logger, DateTimeOffset from, DateTimeOffset to, string inputHash);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Forecast model training failed; serving {Fallback} instead")]
    private static partial void LogTrainingFailed(ILogger logger, Exception exception, string fallback);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Forecast model not retrained: no model has the {Hours} hours of history training needs")]
    private static partial void LogNotTrained(ILogger logger, int hours);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Forecast model could not be saved in {Directory}; it serves from memory until the next training")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Forecast model loaded from {Directory}: trained on [{From:o}, {To:o}), input SHA-256 {InputHash}")]
    private static partial void LogLoaded(ILogger logger, string directory, DateTimeOffset from, DateTimeOffset to, string inputHash);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "The stored forecast model in {Directory} cannot be read; a new one is trained")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string directory);
}
