using System.Diagnostics;
using System.Globalization;
using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Benchmarks;

/// <summary>
/// The global ML.NET forecaster's cost and its tuning runs.
/// <c>global-training TRAIN TEST [series] [trees]</c>: trains the ensemble (<see cref="GlobalEnsemble.Fit"/>, h = 48,
/// the product's locals, one thread) on <c>series</c> series synthesised from the M4 development set — series i is
/// dev series i mod n times a level factor e^N(0, 0.5) with 5 % multiplicative noise on every point (seeded) — and
/// prints wall time, CPU time, peak working set and bytes allocated.
/// <c>global-m4 TRAIN TEST [--no-mase-weights] [--origins N] [--trees N] [--series N] [--smape-share S]</c>: one tuning run, the global model
/// and its ensemble scored on the test horizon beside seasonal naive.
/// </summary>
internal static class GlobalModelHarness
{
    public static int RunTraining(string trainPath, string testPath, int count, int trees)
    {
        IReadOnlyList<M4Series> dev = M4Evaluator.Load(trainPath, testPath);
        var random = new Random(42);
        var histories = new double[count][];
        for (int i = 0; i < count; i++)
        {
            double[] source = dev[i % dev.Count].Train;
            double level = Math.Exp(0.5 * Gaussian(random));
            histories[i] = source.Select(v => v * level * (1 + (0.05 * Gaussian(random)))).ToArray();
        }

        GC.Collect();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        GlobalEnsembleFit fit = GlobalEnsemble.Fit(histories, HourlyForecasters.Singles(), new GlobalTreeOptions { NumberOfTrees = trees });
        wall.Stop();
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        Console.WriteLine(Invariant($"global-training: {count} series (from {dev.Count} dev series), {trees} trees, {fit.Model.TrainingRows} rows in the final fit"));
        Console.WriteLine(Invariant($"  wall {wall.Elapsed.TotalSeconds:F1} s, CPU {cpu:F1} s, peak working set {process.PeakWorkingSet64 / (1024.0 * 1024):F0} MiB, allocated {allocated / (1024.0 * 1024):F0} MiB"));
        Console.WriteLine("  weights: " + string.Join(", ", fit.MemberNames.Select((n, i) => Invariant($"{n} {fit.Weights[i]:F1}"))));
        return 0;
    }

    public static int RunM4(string trainPath, string testPath, string[] args)
    {
        IReadOnlyList<M4Series> series = M4Evaluator.Load(trainPath, testPath);
        int take = IntArg(args, "--series", series.Count);
        series = series.Take(take).ToList();
        var options = new GlobalTreeOptions
        {
            WeightByMaseScale = !args.Contains("--no-mase-weights"),
            MaxOriginsPerSeries = IntArg(args, "--origins", 24),
            NumberOfTrees = IntArg(args, "--trees", 300),
            WeightObjectiveSmapeShare = Array.IndexOf(args, "--smape-share") is int at and >= 0 ? double.Parse(args[at + 1], CultureInfo.InvariantCulture) : 1,
        };
        M4MethodResult naive = M4Evaluator.Evaluate(series, HourlyForecasters.SeasonalNaive());
        var wall = Stopwatch.StartNew();
        M4GlobalResult result = M4GlobalEvaluation.Evaluate(series, HourlyForecasters.Singles(), options);
        Console.WriteLine(Invariant($"global-m4: {series.Count} series, {options}"));
        foreach (M4MethodResult r in new[] { naive, result.Global, result.Ensemble })
        {
            Console.WriteLine(Invariant($"  {r.Method,-40} sMAPE {r.Smape,7:F3}  MASE {r.Mase,6:F3}  ({1 - (r.Smape / naive.Smape):P1} / {1 - (r.Mase / naive.Mase):P1} better than seasonal naive)"));
        }

        Console.WriteLine("  weights: " + string.Join(", ", result.Fit.MemberNames.Select((n, i) => Invariant($"{n} {result.Fit.Weights[i]:F1}"))));
        Console.WriteLine(Invariant($"  80 % interval coverage {result.IntervalCoverage:P1}; {wall.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
