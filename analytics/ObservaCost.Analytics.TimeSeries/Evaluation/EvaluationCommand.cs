using System.Diagnostics;
using System.Globalization;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>
/// The accuracy benchmarks as a command: <c>nab --data DIR [--files GLOB]</c> scores NAB (checks the scorer against
/// published detector output, scores our detectors with per-profile threshold optimisation, compares with published
/// detectors on the same files); <c>m4 --train FILE --test FILE</c> evaluates the forecasters (sMAPE, MASE, m = 24,
/// h = 48). Both take any directory or files laid out like the upstream corpora. Exit code 0 when every target is
/// met, 1 when one is missed, 2 for a usage error.
/// </summary>
public static class EvaluationCommand
{
    public const string Usage = "usage: evaluate nab --data DIR [--files GLOB] | evaluate m4 --train FILE --test FILE";

    private const double ScorerTolerance = 1e-9;
    private const double RequiredM4Improvement = 0.30;
    private const double M4Moonshot = 0.35;

    public static Task<int> RunAsync(string[] args, TextWriter output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        if (args.Length == 0)
        {
            output.WriteLine(Usage);
            return Task.FromResult(2);
        }

        Dictionary<string, string>? options = ParseOptions(args.AsSpan(1));
        string command = args[0];
        if (options is null)
        {
            output.WriteLine(Usage);
            return Task.FromResult(2);
        }

        if (command == "nab" && options.TryGetValue("--data", out string? data))
        {
            return Task.FromResult(RunNab(data, options.GetValueOrDefault("--files"), output, ct));
        }

        if (command == "m4" && options.TryGetValue("--train", out string? train) && options.TryGetValue("--test", out string? test))
        {
            return Task.FromResult(RunM4(train, test, output, ct));
        }

        output.WriteLine(Usage);
        return Task.FromResult(2);
    }

    private static Dictionary<string, string>? ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return null;
            }

            options[args[i]] = args[i + 1];
        }

        return options;
    }

    private static int RunNab(string root, string? glob, TextWriter output, CancellationToken ct)
    {
        IReadOnlyList<NabDataFile> files = NabCorpus.Load(root, glob);
        IReadOnlyList<NabProfile> profiles = NabCorpus.LoadProfiles(root);
        if (files.Count == 0)
        {
            output.WriteLine(Invariant($"No NAB data files under {root} match {glob ?? "*"}."));
            return 2;
        }

        int windows = files.Sum(f => f.Windows.Count);
        output.WriteLine(Invariant($"NAB: {files.Count} files, {windows} anomaly windows, profiles {string.Join(", ", profiles.Select(p => p.Name))}"));
        var selected = files.Select(f => f.RelativePath).ToHashSet(StringComparer.Ordinal);
        IReadOnlyList<NabPublishedScore> published = NabCorpus.LoadPublishedScores(root).Where(r => selected.Contains(r.RelativePath)).ToList();
        bool scorerOk = CheckScorer(root, files, profiles, published, output);

        output.WriteLine();
        output.WriteLine("Our detectors (threshold optimised per profile over these files, as NAB does; and leave-one-file-out):");
        var ours = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        var oursHeldOut = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (NabDetector detector in NabDetectors.All())
        {
            ct.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var scores = files.Select(f => detector.Score(f.Values)).ToList();
            double seconds = clock.Elapsed.TotalSeconds;
            var byProfile = new Dictionary<string, double>(StringComparer.Ordinal);
            var line = new List<string>();
            foreach (NabProfile profile in profiles)
            {
                var rows = files.Select((f, i) => NabScorer.Prepare(scores[i], f.Windows, profile)).ToList();
                (double threshold, double score) = NabScorer.OptimiseThreshold(rows);
                double normalised = NabScorer.Normalise(score, windows, profile);
                byProfile[profile.Name] = normalised;
                double heldOut = NabScorer.Normalise(LeaveOneFileOut(rows), windows, profile);
                if (profile.Name == NabProfile.Standard.Name && !detector.KnowsRange)
                {
                    oursHeldOut[detector.Name] = heldOut;
                }

                line.Add(Invariant($"{profile.Name} {normalised:F1} (raw {score:F3}, threshold {threshold:G6}; leave-one-file-out {heldOut:F1})"));
            }

            if (!detector.KnowsRange)
            {
                ours[detector.Name] = byProfile;
            }
            output.WriteLine(Invariant($"  {detector.Name,-48} {string.Join("; ", line)}  [{seconds:F1} s]{(detector.KnowsRange ? " (told the file's min/max up front, as NAB allows: not a product figure, counts for no target)" : "")}"));
        }

        output.WriteLine();
        output.WriteLine("Published detectors on the same files (their per-file scores at their published thresholds, optimised over the full corpus):");
        var baselines = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (IGrouping<string, NabPublishedScore> detector in published.GroupBy(r => r.Detector).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var line = new List<string>();
            foreach (NabProfile profile in profiles)
            {
                var rows = detector.Where(r => r.Profile == profile.Name).ToList();
                if (rows.Select(r => r.RelativePath).Distinct(StringComparer.Ordinal).Count() != files.Count)
                {
                    continue;
                }

                double sum = rows.Sum(r => r.Score);
                double normalised = NabScorer.Normalise(sum, windows, profile);
                line.Add(Invariant($"{profile.Name} {normalised:F1} (raw {sum:F3})"));
                if (profile.Name == NabProfile.Standard.Name)
                {
                    baselines[detector.Key] = normalised;
                }
            }

            if (line.Count > 0)
            {
                output.WriteLine(Invariant($"  {detector.Key,-48} {string.Join("; ", line)}"));
            }
        }

        (string bestName, double best) = ours.Select(o => (o.Key, o.Value.GetValueOrDefault(NabProfile.Standard.Name, double.NegativeInfinity))).MaxBy(o => o.Item2);
        output.WriteLine();
        output.WriteLine(Invariant($"Best of ours, standard profile: {bestName} {best:F1}"));
        bool targetsMet = scorerOk;
        foreach (string rival in new[] { "randomCutForest", "twitterADVec" })
        {
            if (baselines.TryGetValue(rival, out double theirs))
            {
                bool beat = best > theirs;
                targetsMet &= beat;
                output.WriteLine(Invariant($"Target: standard score above {rival} ({theirs:F1}) on the same files: {(beat ? "MET" : "MISSED")}"));
            }
            else
            {
                output.WriteLine(Invariant($"Target: {rival} has no published per-file scores for all of these files; no comparison."));
            }
        }

        targetsMet &= CheckHeldOutTargets(files, oursHeldOut, baselines, output);
        return targetsMet ? 0 : 1;
    }

    // ---- NAB: leave-one-file-out targets against the best published detectors (issue 15) ----

    /// <summary>
    /// The honest figure against the published leaders: our best standard-profile leave-one-file-out score above
    /// contextOSE (a target that counts in the exit code when the files span several NAB categories, as nab-dev-wide
    /// does; on a one-category set it is reported only) and above numenta, Numenta HTM (the moonshot, reported only).
    /// Only detectors that learn the range as the product does count: none told the file's min/max up front.
    /// </summary>
    private static bool CheckHeldOutTargets(IReadOnlyList<NabDataFile> files, Dictionary<string, double> heldOut, Dictionary<string, double> baselines, TextWriter output)
    {
        if (heldOut.Count == 0)
        {
            return true;
        }

        (string name, double best) = heldOut.Select(o => (o.Key, o.Value)).MaxBy(o => o.Item2);
        int categories = files.Select(f => f.RelativePath.Split('/')[0]).Distinct(StringComparer.Ordinal).Count();
        output.WriteLine(Invariant($"Best of ours, standard profile, leave-one-file-out: {name} {best:F1} ({categories} categories)"));
        bool met = true;
        foreach ((string rival, bool counts) in new[] { ("contextOSE", categories > 1), ("numenta", false) })
        {
            if (!baselines.TryGetValue(rival, out double theirs))
            {
                continue;
            }

            bool beat = best > theirs;
            met &= beat || !counts;
            output.WriteLine(Invariant($"{(counts ? "Target" : "Reported")}: standard leave-one-file-out above {rival} ({theirs:F1}): {(beat ? "MET" : "MISSED")}"));
        }

        return met;
    }

    /// <summary>
    /// Each file scored at the threshold optimised on the other files, summed: the score without any threshold fitted
    /// to the file's own labels (with one file, the file's own optimum).
    /// </summary>
    private static double LeaveOneFileOut(IReadOnlyList<NabScoredRows> rows)
    {
        if (rows.Count < 2)
        {
            return NabScorer.OptimiseThreshold(rows).Score;
        }

        double total = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var others = rows.Where((_, j) => j != i).ToList();
            total += NabScorer.ScoreAt(rows[i], NabScorer.OptimiseThreshold(others).Threshold).Score;
        }

        return total;
    }

    private static bool CheckScorer(string root, IReadOnlyList<NabDataFile> files, IReadOnlyList<NabProfile> profiles, IReadOnlyList<NabPublishedScore> published, TextWriter output)
    {
        int checkedRows = 0;
        int matched = 0;
        double worst = 0;
        foreach (NabPublishedScore row in published)
        {
            NabProfile? profile = profiles.FirstOrDefault(p => p.Name == row.Profile);
            string? outputPath = NabCorpus.FindDetectorOutput(root, row.Detector, row.RelativePath);
            if (profile is null || outputPath is null)
            {
                continue;
            }

            NabDataFile file = files.Single(f => f.RelativePath == row.RelativePath);
            NabFileScore ours = NabScorer.ScoreAt(NabScorer.Prepare(NabCorpus.ReadDetectorScores(outputPath), file.Windows, profile), row.Threshold);
            double difference = Math.Abs(ours.Score - row.Score);
            worst = Math.Max(worst, difference);
            checkedRows++;
            bool same = difference <= ScorerTolerance
                && (ours.TruePositives, ours.TrueNegatives, ours.FalsePositives, ours.FalseNegatives) == (row.TruePositives, row.TrueNegatives, row.FalsePositives, row.FalseNegatives);
            matched += same ? 1 : 0;
            if (!same)
            {
                output.WriteLine(Invariant($"  MISMATCH {row.Detector} {row.Profile} {row.RelativePath}: published {row.Score} ours {ours.Score}"));
            }
        }

        output.WriteLine(checkedRows == 0
            ? "Scorer check: no published detector output under results/ for these files."
            : Invariant($"Scorer check: {matched}/{checkedRows} published per-file scores reproduced from published detector output (largest difference {worst:G3})."));
        return matched == checkedRows;
    }

    private static int RunM4(string trainPath, string testPath, TextWriter output, CancellationToken ct)
    {
        IReadOnlyList<M4Series> series = M4Evaluator.Load(trainPath, testPath);
        output.WriteLine(Invariant($"M4: {series.Count} series, horizon 48, MASE seasonality 24"));
        ct.ThrowIfCancellationRequested();
        var total = Stopwatch.StartNew();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        IReadOnlyList<M4MethodResult> results = M4Evaluator.EvaluateAll(series, HourlyForecasters.Singles(), HourlyForecasters.Combinations());
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double seconds = total.Elapsed.TotalSeconds;
        foreach (M4MethodResult result in results)
        {
            output.WriteLine(Invariant($"  {result.Method,-40} sMAPE {result.Smape,7:F3}  MASE {result.Mase,6:F3}  [{result.Elapsed.TotalSeconds:F2} s]"));
        }

        output.WriteLine(Invariant($"Local methods: {seconds:F1} s wall, {cpuSeconds:F1} s CPU for {series.Count} series on one thread ({cpuSeconds / series.Count * 1000:F1} ms CPU per series; 414 series ≈ {cpuSeconds / series.Count * 414:F0} s CPU)."));
        ct.ThrowIfCancellationRequested();

        // Global model (ML.NET FastTree across all series) and its ensemble with the local singles: weights and
        // interval quantiles chosen on the last 48 points of each training series, never on the test horizon.
        total.Restart();
        cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        M4GlobalResult global = M4GlobalEvaluation.Evaluate(series, HourlyForecasters.Singles(), new GlobalTreeOptions());
        cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        output.WriteLine(Invariant($"  {global.Global.Method,-40} sMAPE {global.Global.Smape,7:F3}  MASE {global.Global.Mase,6:F3}"));
        output.WriteLine(Invariant($"  {global.Ensemble.Method,-40} sMAPE {global.Ensemble.Smape,7:F3}  MASE {global.Ensemble.Mase,6:F3}"));
        output.WriteLine("  weights (validation split): " + string.Join(", ", global.Fit.MemberNames.Select((name, i) => Invariant($"{name} {global.Fit.Weights[i]:F1}"))));
        output.WriteLine(Invariant($"Global training (validation + final fit, one thread): {global.Fit.TrainingTime.TotalSeconds:F1} s; whole global evaluation {total.Elapsed.TotalSeconds:F1} s wall, {cpuSeconds:F1} s CPU; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):F0} MiB."));
        output.WriteLine(Invariant($"80 % interval (validation residual quantiles per step) covers {global.IntervalCoverage:P1} of the test points (target 75–85 %)."));

        M4MethodResult naive = results[0];
        M4MethodResult best = results.Skip(1).Append(global.Global).Append(global.Ensemble).MinBy(r => r.Smape + (r.Mase * 10))!;
        double smapeGain = 1 - (best.Smape / naive.Smape);
        double maseGain = 1 - (best.Mase / naive.Mase);
        bool met = smapeGain >= RequiredM4Improvement && maseGain >= RequiredM4Improvement;
        bool moonshot = smapeGain >= M4Moonshot && maseGain >= M4Moonshot;
        output.WriteLine(Invariant($"Chosen: {best.Method}: sMAPE {smapeGain:P1} and MASE {maseGain:P1} better than seasonal naive."));
        output.WriteLine(Invariant($"Target: best forecaster at least {RequiredM4Improvement:P0} better than seasonal naive on both sMAPE and MASE: {(met ? "MET" : "MISSED")}; moonshot {M4Moonshot:P0}: {(moonshot ? "MET" : "missed")}"));
        return met ? 0 : 1;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
