using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>The global model and its ensemble on an M4 set, with the 80 % interval's coverage of the test points.</summary>
public sealed record M4GlobalResult(GlobalEnsembleFit Fit, M4MethodResult Global, M4MethodResult Ensemble, double IntervalCoverage);

/// <summary>
/// Fits <see cref="GlobalEnsemble"/> on the training parts only (the test parts are read after the fit, to score),
/// then scores the global model alone and the ensemble as <see cref="M4Evaluator"/> scores the local methods.
/// </summary>
public static class M4GlobalEvaluation
{
    public static M4GlobalResult Evaluate(IReadOnlyList<M4Series> series, IReadOnlyList<IForecaster> locals, GlobalTreeOptions options, int seasonality = 24)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(options);
        double[][] trains = series.Select(s => s.Train).ToArray();
        GlobalEnsembleFit fit = GlobalEnsemble.Fit(trains, locals, options, seasonality: seasonality);
        double[][] global = fit.Model.Forecast(trains);
        IReadOnlyList<ForecastResult> ensemble = GlobalEnsemble.Forecast(fit, trains, locals);
        int horizon = options.Horizon;
        double globalSmape = 0, globalMase = 0, smape = 0, mase = 0;
        int inside = 0, points = 0;
        for (int s = 0; s < series.Count; s++)
        {
            ReadOnlySpan<double> actual = series[s].Test.AsSpan(0, horizon);
            globalSmape += M4Evaluator.Smape(actual, global[s]);
            globalMase += M4Evaluator.Mase(trains[s], actual, global[s], seasonality);
            smape += M4Evaluator.Smape(actual, ensemble[s].Point);
            mase += M4Evaluator.Mase(trains[s], actual, ensemble[s].Point, seasonality);
            inside += (int)Math.Round(GlobalEnsemble.Coverage(actual, ensemble[s].LowerBound, ensemble[s].UpperBound) * horizon);
            points += horizon;
        }

        int n = series.Count;
        return new M4GlobalResult(
            fit,
            new M4MethodResult(GlobalTreeForecaster.Name, globalSmape / n, globalMase / n, n, fit.TrainingTime),
            new M4MethodResult(GlobalEnsemble.Name, smape / n, mase / n, n, fit.TrainingTime),
            (double)inside / points);
    }
}
