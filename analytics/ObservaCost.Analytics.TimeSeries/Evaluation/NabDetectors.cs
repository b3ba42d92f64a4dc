using ObservaCost.Analytics.TimeSeries.Anomaly;

namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>A detector as NAB runs it: the whole file's values in, one anomaly score per row out, causally.</summary>
/// <param name="Name">Name in reports.</param>
/// <param name="Score">Scores each row using only that row and the rows before it.</param>
/// <param name="KnowsRange">
/// True when the detector is handed the file's minimum and maximum up front (NAB's inputMin/inputMax, as the published
/// detectors use them): a range the product cannot know, so such a detector is reported but never counts for a target.
/// </param>
public sealed record NabDetector(string Name, Func<double[], double[]> Score, bool KnowsRange = false);

/// <summary>
/// The detectors NAB scores. Parameters are fixed up front in the data's own time units, not fitted to the labels:
/// NAB data are mostly 5-minute series, so a week is 2016 rows and a day 288; only NAB's per-profile threshold is
/// optimised. See docs/accuracy.md.
/// </summary>
public static class NabDetectors
{
    /// <summary>A week of 5-minute rows: the history a value's p-value is taken against.</summary>
    public const int PValueHistoryRows = 2016;

    /// <summary>A day of 5-minute rows: after an alert, weaker scores within this many rows are suppressed.</summary>
    public const int SuppressionRows = 288;

    /// <summary>An hour of 5-minute rows: the bets the change-point martingale sums over.</summary>
    public const int ChangeHistoryRows = 12;

    /// <summary>The best: IID kernel p-value over a week of history, one alert per day; score = −ln p / 1000.</summary>
    public static NabDetector IidSpike() => new(
        "iid-spike(history=2016, suppress=288)",
        values =>
        {
            var detector = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: PValueHistoryRows, side: AnomalySide.TwoSided);
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = suppression.Next(-detector.Add(values[i]).LogPValue / 1000);
            }

            return scores;
        });

    /// <summary>ML.NET's streaming spectral residual with its defaults (window 64, judgement 21): raw score.</summary>
    public static NabDetector SrCnn() => new(
        "sr-cnn(window=64)",
        values =>
        {
            var detector = new SrCnnStreamingDetector(new SrCnnOptions());
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = detector.Add(values[i]).RawScore;
            }

            return scores;
        });

    /// <summary>The spectral residual raw score with one alert per day.</summary>
    public static NabDetector SrCnnSuppressed() => new(
        "sr-cnn(window=64, suppress=288)",
        values =>
        {
            var detector = new SrCnnStreamingDetector(new SrCnnOptions());
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = suppression.Next(detector.Add(values[i]).RawScore);
            }

            return scores;
        });

    /// <summary>The change-point martingale (ML.NET's IID change-point detector) with one alert per day.</summary>
    public static NabDetector ChangePoint() => new(
        "change-point(history=2016, martingale window=12)",
        values =>
        {
            var detector = new ChangePointDetector(confidence: 95, changeHistoryLength: ChangeHistoryRows, pvalueHistoryLength: PValueHistoryRows);
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = suppression.Next(Math.Max(0, detector.Add(values[i]).LogMartingale));
            }

            return scores;
        });

    /// <summary>−ln p of the IID spike detector that maps to a calibrated score of 1 in the ensemble.</summary>
    public const double EnsembleSpikeLogPScale = 10;

    /// <summary>Bins of the ensemble's contextual member (chosen on nab-dev-wide: 16 beat 8 and 32 held out).</summary>
    public const int EnsembleLevels = 16;

    /// <summary>The contextual novelty detector (in the manner of CAD OSE) with one alert per day.</summary>
    /// <param name="levels">Bins of the range.</param>
    /// <param name="order">Longest context.</param>
    /// <param name="range">Running (the product) or known: the file's min/max up front, as NAB hands CAD OSE inputMin/inputMax.</param>
    public static NabDetector Contextual(int levels = ContextualNoveltyDetector.DefaultLevels, int order = ContextualNoveltyDetector.DefaultOrder, ResonanceRange range = ResonanceRange.Running) => new(
        Invariant($"contextual(levels={levels}, order={order}, suppress={SuppressionRows}{(range == ResonanceRange.Known ? ", range=known" : "")})"),
        values =>
        {
            var detector = range == ResonanceRange.Known ? new ContextualNoveltyDetector(levels, order, values.Min(), values.Max()) : new ContextualNoveltyDetector(levels, order);
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = suppression.Next(detector.Add(values[i]));
            }

            return scores;
        },
        KnowsRange: range == ResonanceRange.Known);

    /// <summary>
    /// The ensemble: the mean (or the larger) of the contextual novelty (in [0, 1]) and the IID spike score calibrated
    /// to [0, 1] as min(1, −ln p / <see cref="EnsembleSpikeLogPScale"/>), with one alert per day.
    /// </summary>
    public static NabDetector Ensemble(double scale = EnsembleSpikeLogPScale, bool mean = true, int levels = EnsembleLevels) => new(
        Invariant($"ensemble({(mean ? "mean" : "max")} of contextual L{levels}, iid-spike/{scale}; suppress={SuppressionRows})"),
        values =>
        {
            var contextual = new ContextualNoveltyDetector(levels);
            var spike = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: PValueHistoryRows, side: AnomalySide.TwoSided);
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double spikeScore = Math.Min(1, -spike.Add(values[i]).LogPValue / scale);
                double novelty = contextual.Add(values[i]);
                scores[i] = suppression.Next(mean ? (novelty + spikeScore) / 2 : Math.Max(novelty, spikeScore));
            }

            return scores;
        });

    /// <summary>
    /// The adaptive-resonance detector (in the manner of ARTime), told NAB's probationary period (15 % of the file, at
    /// most 750 rows); with <see cref="ResonanceRange.Known"/> also the file's minimum and maximum, as NAB hands them
    /// to its detectors (inputMin/inputMax) and ARTime uses them.
    /// </summary>
    public static NabDetector AdaptiveResonance(ResonanceRange range = ResonanceRange.Running) => new(
        Invariant($"resonance(range={(range == ResonanceRange.Known ? "known" : "running")})"),
        values =>
        {
            var detector = range == ResonanceRange.Known
                ? new AdaptiveResonanceDetector(NabScorer.ProbationRows(values.Length), range, values.Min(), values.Max())
                : new AdaptiveResonanceDetector(NabScorer.ProbationRows(values.Length));
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                scores[i] = detector.Add(values[i]);
            }

            return scores;
        },
        KnowsRange: range == ResonanceRange.Known);

    /// <summary>−ln p of the IID spike detector that maps to 1 in the resonance ensemble (chosen on nab-dev-wide among 10, 30, 100).</summary>
    public const double ResonanceEnsembleSpikeLogPScale = 30;

    /// <summary>
    /// The resonance ensemble: the adaptive-resonance score (running range), or where it is silent the IID spike score
    /// calibrated to [0, 1] as min(1, −ln p / <paramref name="scale"/>) and weighted by <paramref name="spikeWeight"/>,
    /// whichever is larger; the spike member alerts at most once per day.
    /// </summary>
    public static NabDetector ResonanceEnsemble(double scale = ResonanceEnsembleSpikeLogPScale, double spikeWeight = 1) => new(
        Invariant($"ensemble(max of resonance, {spikeWeight}·iid-spike/{scale} suppress={SuppressionRows})"),
        values =>
        {
            var resonance = new AdaptiveResonanceDetector(NabScorer.ProbationRows(values.Length));
            var spike = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: PValueHistoryRows, side: AnomalySide.TwoSided);
            var suppression = new ScoreSuppression(SuppressionRows);
            var scores = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double spikeScore = suppression.Next(spikeWeight * Math.Min(1, -spike.Add(values[i]).LogPValue / scale));
                scores[i] = Math.Max(resonance.Add(values[i]), spikeScore);
            }

            return scores;
        });

    public static IReadOnlyList<NabDetector> All() => [IidSpike(), SrCnn(), SrCnnSuppressed(), ChangePoint(), Contextual(), Contextual(range: ResonanceRange.Known), Ensemble(), AdaptiveResonance(), AdaptiveResonance(ResonanceRange.Known), ResonanceEnsemble()];

    private static string Invariant(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
