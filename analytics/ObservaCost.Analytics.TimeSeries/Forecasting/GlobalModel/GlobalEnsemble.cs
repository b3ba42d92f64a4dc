using System.Diagnostics;
using ObservaCost.Analytics.TimeSeries.Evaluation;

namespace ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

/// <summary>
/// A fitted ensemble: the global tree model and the local forecasters, combined with weights and interval quantiles
/// chosen on the validation split (the last <c>horizon</c> points of every training history), never on anything after it.
/// </summary>
/// <param name="MemberNames">The global model first, then the local forecasters.</param>
/// <param name="Weights">Combination weight per member (multiples of 0.1, summing to 1).</param>
/// <param name="LowerQuantile">Per step: the lower empirical quantile of the scaled validation residuals.</param>
/// <param name="UpperQuantile">Per step: the upper empirical quantile of the scaled validation residuals.</param>
/// <param name="Model">The global model retrained on the whole histories.</param>
/// <param name="TrainingTime">Both trainings (validation and final), the local validation forecasts and the weight search.</param>
public sealed record GlobalEnsembleFit(
    IReadOnlyList<string> MemberNames,
    double[] Weights,
    double[] LowerQuantile,
    double[] UpperQuantile,
    GlobalTreeModel Model,
    TimeSpan TrainingTime);

/// <summary>Fits and applies the ensemble of the global tree model with the local forecasters.</summary>
public static class GlobalEnsemble
{
    public const string Name = "ensemble(global trees, locals)";

    /// <summary>Step of the weight grid.</summary>
    public const double WeightStep = 0.1;

    /// <summary>
    /// Fits on <paramref name="histories"/> only. Validation: every history without its last horizon points trains a
    /// global model and feeds the locals; the weights minimise s × sMAPE / sMAPE(locals[0]) + MASE / MASE(locals[0]) over
    /// the held-out points (locals[0] is the reference, seasonal naive; s = <see cref="GlobalTreeOptions.WeightObjectiveSmapeShare"/>, 0 by default); the interval quantiles are those of the
    /// combined validation residuals divided by each series' scale (mean |y| of its last 168 points), per step.
    /// </summary>
    public static GlobalEnsembleFit Fit(
        IReadOnlyList<double[]> histories,
        IReadOnlyList<IForecaster> locals,
        GlobalTreeOptions options,
        double intervalLevel = 0.8,
        int seasonality = 24)
    {
        ArgumentNullException.ThrowIfNull(histories);
        ArgumentNullException.ThrowIfNull(locals);
        ArgumentNullException.ThrowIfNull(options);
        if (locals.Count == 0)
        {
            throw new ArgumentException("At least one local forecaster (the reference) is needed.", nameof(locals));
        }

        long start = Stopwatch.GetTimestamp();
        int horizon = options.Horizon;
        var validationHistories = new double[histories.Count][];
        for (int s = 0; s < histories.Count; s++)
        {
            validationHistories[s] = histories[s][..^horizon];
        }

        double[][][] members = MemberForecasts(GlobalTreeForecaster.Train(validationHistories, options), validationHistories, locals, horizon);
        double[] weights = ChooseWeights(histories, validationHistories, members, horizon, seasonality, options.WeightObjectiveSmapeShare);

        double tail = (1 - intervalLevel) / 2;
        var lower = new double[horizon];
        var upper = new double[horizon];
        var residuals = new double[histories.Count];
        for (int h = 0; h < horizon; h++)
        {
            for (int s = 0; s < histories.Count; s++)
            {
                double combined = 0;
                for (int m = 0; m < members.Length; m++)
                {
                    combined += weights[m] * members[m][s][h];
                }

                residuals[s] = (histories[s][validationHistories[s].Length + h] - combined) / Scale(validationHistories[s]);
            }

            Array.Sort(residuals);
            lower[h] = Quantile(residuals, tail);
            upper[h] = Quantile(residuals, 1 - tail);
        }

        GlobalTreeModel model = GlobalTreeForecaster.Train(histories, options);
        string[] names = [GlobalTreeForecaster.Name, .. locals.Select(l => l.Name)];
        return new GlobalEnsembleFit(names, weights, lower, upper, model, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>Forecasts every history with the fitted ensemble: the weighted members and the quantile bounds.</summary>
    public static IReadOnlyList<ForecastResult> Forecast(GlobalEnsembleFit fit, IReadOnlyList<double[]> histories, IReadOnlyList<IForecaster> locals)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(histories);
        int horizon = fit.Model.Horizon;
        double[][][] members = MemberForecasts(fit.Model, histories, locals, horizon);
        var results = new ForecastResult[histories.Count];
        for (int s = 0; s < histories.Count; s++)
        {
            double scale = Scale(histories[s]);
            var point = new double[horizon];
            var lower = new double[horizon];
            var upper = new double[horizon];
            for (int h = 0; h < horizon; h++)
            {
                for (int m = 0; m < members.Length; m++)
                {
                    point[h] += fit.Weights[m] * members[m][s][h];
                }

                lower[h] = point[h] + (scale * fit.LowerQuantile[h]);
                upper[h] = point[h] + (scale * fit.UpperQuantile[h]);
            }

            results[s] = new ForecastResult(point, lower, upper);
        }

        return results;
    }

    /// <summary>Share of <paramref name="actual"/> points inside [lower, upper] (bounds included).</summary>
    public static double Coverage(ReadOnlySpan<double> actual, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper)
    {
        int inside = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            inside += actual[i] >= lower[i] && actual[i] <= upper[i] ? 1 : 0;
        }

        return actual.Length == 0 ? double.NaN : (double)inside / actual.Length;
    }

    /// <summary>Empirical quantile of sorted values, linear between order statistics (R type 7).</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double p)
    {
        double position = p * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    internal static double Scale(ReadOnlySpan<double> history)
    {
        int from = Math.Max(0, history.Length - GlobalTreeForecaster.Week);
        double sum = 0;
        for (int i = from; i < history.Length; i++)
        {
            sum += Math.Abs(history[i]);
        }

        double scale = sum / (history.Length - from);
        return scale > 0 ? scale : 1;
    }

    private static double[][][] MemberForecasts(GlobalTreeModel model, IReadOnlyList<double[]> histories, IReadOnlyList<IForecaster> locals, int horizon)
    {
        var members = new double[1 + locals.Count][][];
        members[0] = model.Forecast(histories);
        for (int m = 0; m < locals.Count; m++)
        {
            members[m + 1] = histories.Select(h => locals[m].Forecast(h, horizon).Point).ToArray();
        }

        return members;
    }

    private static double[] ChooseWeights(IReadOnlyList<double[]> histories, double[][] validationHistories, double[][][] members, int horizon, int seasonality, double smapeShare)
    {
        int steps = (int)Math.Round(1 / WeightStep);
        var candidate = new int[members.Length];
        double[] best = [];
        double bestScore = double.MaxValue;
        (double referenceSmape, double referenceMase) = Score(histories, validationHistories, members, [0, .. Enumerable.Repeat(0, members.Length - 1)], steps, horizon, seasonality, reference: true);

        void Search(int member, int left)
        {
            if (member == members.Length - 1)
            {
                candidate[member] = left;
                (double smape, double mase) = Score(histories, validationHistories, members, candidate, steps, horizon, seasonality, reference: false);
                // A reference without error (a perfectly repeating history) scores by the raw errors instead of ratios (0/0).
                double score = (smapeShare * (referenceSmape > 0 ? smape / referenceSmape : smape)) + (referenceMase > 0 ? mase / referenceMase : mase);
                if (score < bestScore)
                {
                    bestScore = score;
                    best = candidate.Select(c => c / (double)steps).ToArray();
                }

                return;
            }

            for (int w = 0; w <= left; w++)
            {
                candidate[member] = w;
                Search(member + 1, left - w);
            }
        }

        Search(0, steps);
        return best.Length > 0 ? best : [0, 1, .. Enumerable.Repeat(0.0, members.Length - 2)];
    }

    private static (double Smape, double Mase) Score(
        IReadOnlyList<double[]> histories, double[][] validationHistories, double[][][] members, int[] weights, int steps, int horizon, int seasonality, bool reference)
    {
        var combined = new double[horizon];
        double smape = 0, mase = 0;
        for (int s = 0; s < histories.Count; s++)
        {
            for (int h = 0; h < horizon; h++)
            {
                if (reference)
                {
                    combined[h] = members[1][s][h];
                    continue;
                }

                combined[h] = 0;
                for (int m = 0; m < members.Length; m++)
                {
                    combined[h] += weights[m] * members[m][s][h] / steps;
                }
            }

            ReadOnlySpan<double> actual = histories[s].AsSpan(validationHistories[s].Length, horizon);
            smape += M4Evaluator.Smape(actual, combined);
            // A history that repeats exactly has no in-sample seasonal difference (MASE's denominator is 0): its MASE says nothing.
            double seriesMase = M4Evaluator.Mase(validationHistories[s], actual, combined, seasonality);
            mase += double.IsFinite(seriesMase) ? seriesMase : 0;
        }

        return (smape / histories.Count, mase / histories.Count);
    }
}
