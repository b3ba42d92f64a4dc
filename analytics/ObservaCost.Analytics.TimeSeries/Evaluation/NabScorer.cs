namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>A NAB cost profile: weights of a true positive, a false negative (missed window) and a false positive.</summary>
public sealed record NabProfile(string Name, double TpWeight, double FnWeight, double FpWeight)
{
    public static NabProfile Standard { get; } = new("standard", 1.0, 1.0, 0.11);

    public static NabProfile RewardLowFpRate { get; } = new("reward_low_FP_rate", 1.0, 1.0, 0.22);

    public static NabProfile RewardLowFnRate { get; } = new("reward_low_FN_rate", 1.0, 2.0, 0.11);

    public static IReadOnlyList<NabProfile> All { get; } = [Standard, RewardLowFpRate, RewardLowFnRate];
}

/// <summary>One labelled anomaly window as row indices, both ends inclusive.</summary>
public readonly record struct NabWindow(int LeftIndex, int RightIndex)
{
    public int Width => RightIndex - LeftIndex + 1;
}

/// <summary>A file's score at one threshold, with NAB's row counts (rows after the probation period).</summary>
public readonly record struct NabFileScore(double Threshold, double Score, int TruePositives, int TrueNegatives, int FalsePositives, int FalseNegatives);

/// <summary>
/// The rows of one file prepared for scoring under a profile: for every row after the probation period, the weight it
/// earns if it is a detection (NAB's sweep score) and the window it belongs to (−1 outside every window).
/// </summary>
public sealed class NabScoredRows
{
    internal NabScoredRows(double[] anomalyScores, double[] sweepScores, int[] windowIds, int windowCount, int probationRows, NabProfile profile)
    {
        AnomalyScores = anomalyScores;
        SweepScores = sweepScores;
        WindowIds = windowIds;
        WindowCount = windowCount;
        ProbationRows = probationRows;
        Profile = profile;
    }

    internal double[] AnomalyScores { get; }

    internal double[] SweepScores { get; }

    internal int[] WindowIds { get; }

    public int WindowCount { get; }

    public int ProbationRows { get; }

    public NabProfile Profile { get; }
}

/// <summary>
/// NAB's scorer (numenta/NAB <c>nab/sweeper.py</c>): probation of min(⌊0.15·N⌋, 750) rows; inside a window only the
/// earliest detection counts, weighted by the scaled sigmoid of its position; a window without detection costs the FN
/// weight; a detection outside windows costs the FP weight, scaled by its distance past the previous window. A
/// detection is a row whose anomaly score is ≥ the threshold. One threshold per profile is chosen to maximise the
/// corpus total; the normalised score is 100·(S − S_null)/(S_perfect − S_null).
/// </summary>
public static class NabScorer
{
    public const double ProbationPercent = 0.15;

    public static int ProbationRows(int rowCount) => (int)Math.Min(Math.Floor(ProbationPercent * rowCount), ProbationPercent * 5000);

    /// <summary>NAB's scaled sigmoid: 2/(1 + e^{5y}) − 1, and −1 beyond y = 3.</summary>
    public static double ScaledSigmoid(double relativePosition) =>
        relativePosition > 3.0 ? -1.0 : (2.0 / (1.0 + Math.Exp(5.0 * relativePosition))) - 1.0;

    /// <summary>Prepares a file's rows (anomaly scores by row, windows as row indices, sorted and disjoint).</summary>
    public static NabScoredRows Prepare(ReadOnlySpan<double> anomalyScores, IReadOnlyList<NabWindow> windows, NabProfile profile)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(profile);
        int rows = anomalyScores.Length;
        int probation = ProbationRows(rows);
        int scored = rows - probation;
        var sweep = new double[scored];
        var ids = new int[scored];
        var scores = anomalyScores[probation..].ToArray();
        int next = 0;
        int previousRight = -1;
        int previousWidth = 0;
        double tpNormaliser = ScaledSigmoid(-1.0);
        for (int i = 0; i < rows; i++)
        {
            while (next < windows.Count && windows[next].RightIndex < i)
            {
                previousRight = windows[next].RightIndex;
                previousWidth = windows[next].Width;
                next++;
            }

            bool inside = next < windows.Count && windows[next].LeftIndex <= i;
            double weight;
            if (inside)
            {
                NabWindow window = windows[next];
                double position = -(window.RightIndex - i + 1) / (double)window.Width;
                weight = ScaledSigmoid(position) * profile.TpWeight / tpNormaliser;
            }
            else if (previousRight < 0)
            {
                weight = -1.0 * profile.FpWeight;
            }
            else
            {
                double position = Math.Abs(previousRight - i) / (double)(previousWidth - 1);
                weight = ScaledSigmoid(position) * profile.FpWeight;
            }

            if (i >= probation)
            {
                sweep[i - probation] = weight;
                ids[i - probation] = inside ? next : -1;
            }
        }

        return new NabScoredRows(scores, sweep, ids, windows.Count, probation, profile);
    }

    /// <summary>The file's score when every row scoring ≥ <paramref name="threshold"/> is a detection.</summary>
    public static NabFileScore ScoreAt(NabScoredRows rows, double threshold)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Span<double> best = rows.WindowCount <= 256 ? stackalloc double[rows.WindowCount] : new double[rows.WindowCount];
        best.Fill(double.NaN);
        int tp = 0, tn = 0, fp = 0, fn = 0;
        double score = 0;
        for (int i = 0; i < rows.SweepScores.Length; i++)
        {
            bool detected = rows.AnomalyScores[i] >= threshold;
            int window = rows.WindowIds[i];
            if (window < 0)
            {
                if (detected)
                {
                    fp++;
                    score += rows.SweepScores[i];
                }
                else
                {
                    tn++;
                }
            }
            else if (detected)
            {
                tp++;
                best[window] = double.IsNaN(best[window]) ? rows.SweepScores[i] : Math.Max(best[window], rows.SweepScores[i]);
            }
            else
            {
                fn++;
            }
        }

        foreach (double windowScore in best)
        {
            score += double.IsNaN(windowScore) ? -rows.Profile.FnWeight : windowScore;
        }

        return new NabFileScore(threshold, score, tp, tn, fp, fn);
    }

    /// <summary>
    /// The threshold that maximises the summed score over all files (ties go to the higher threshold, as NAB's sweep
    /// meets them first), and that sum. Candidates are the distinct anomaly scores, plus one above them all.
    /// </summary>
    public static (double Threshold, double Score) OptimiseThreshold(IReadOnlyList<NabScoredRows> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        int total = 0;
        int windows = 0;
        foreach (NabScoredRows file in files)
        {
            total += file.AnomalyScores.Length;
            windows += file.WindowCount;
        }

        var order = new (double Anomaly, double Sweep, int Window)[total];
        int at = 0;
        int windowBase = 0;
        double score = 0;
        foreach (NabScoredRows file in files)
        {
            for (int i = 0; i < file.AnomalyScores.Length; i++)
            {
                int window = file.WindowIds[i];
                order[at++] = (file.AnomalyScores[i], file.SweepScores[i], window < 0 ? -1 : windowBase + window);
            }

            windowBase += file.WindowCount;
            score -= file.Profile.FnWeight * file.WindowCount;
        }

        Array.Sort(order, static (a, b) => b.Anomaly.CompareTo(a.Anomaly));
        var fnWeights = new double[windows];
        var best = new double[windows];
        windowBase = 0;
        foreach (NabScoredRows file in files)
        {
            for (int w = 0; w < file.WindowCount; w++)
            {
                fnWeights[windowBase + w] = file.Profile.FnWeight;
                best[windowBase + w] = double.NaN;
            }

            windowBase += file.WindowCount;
        }

        double bestThreshold = order.Length > 0 ? Math.BitIncrement(order[0].Anomaly) : 1.1;
        double bestScore = score;
        int k = 0;
        while (k < order.Length)
        {
            double threshold = order[k].Anomaly;
            while (k < order.Length && order[k].Anomaly == threshold)
            {
                (_, double sweep, int window) = order[k];
                if (window < 0)
                {
                    score += sweep;
                }
                else if (double.IsNaN(best[window]))
                {
                    score += sweep + fnWeights[window];
                    best[window] = sweep;
                }
                else if (sweep > best[window])
                {
                    score += sweep - best[window];
                    best[window] = sweep;
                }

                k++;
            }

            if (score > bestScore)
            {
                bestScore = score;
                bestThreshold = threshold;
            }
        }

        return (bestThreshold, bestScore);
    }

    /// <summary>100·(S − S_null)/(S_perfect − S_null) with S_null = −FN·windows and S_perfect = TP·windows.</summary>
    public static double Normalise(double score, int windowCount, NabProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        double nullScore = -profile.FnWeight * windowCount;
        double perfect = profile.TpWeight * windowCount;
        return 100.0 * (score - nullScore) / (perfect - nullScore);
    }
}
