using System.Diagnostics;
using System.Globalization;
using ObservaCost.Analytics.TimeSeries.Forecasting;

namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>One M4 series: its id, training values and the held-out test values.</summary>
public sealed record M4Series(string Id, double[] Train, double[] Test);

/// <summary>One method's totals over a set of series (means of the per-series sMAPE and MASE).</summary>
public sealed record M4MethodResult(string Method, double Smape, double Mase, int SeriesCount, TimeSpan Elapsed);

/// <summary>
/// M4-style forecast evaluation: each method forecasts h steps from each series' training part; per series
/// sMAPE = mean of 200·|y − ŷ|/(|y| + |ŷ|) and MASE = mean|y − ŷ| / mean in-sample |y(t) − y(t − m)|; the totals are
/// the means over the series, as the M4 organisers compute them.
/// </summary>
public static class M4Evaluator
{
    /// <summary>Reads a train/test pair in the upstream CSV layout (quoted id, then values; ragged rows padded with "").</summary>
    public static IReadOnlyList<M4Series> Load(string trainPath, string testPath)
    {
        Dictionary<string, double[]> train = ReadRows(trainPath);
        Dictionary<string, double[]> test = ReadRows(testPath);
        var series = new List<M4Series>();
        foreach ((string id, double[] values) in train)
        {
            if (test.TryGetValue(id, out double[]? future))
            {
                series.Add(new M4Series(id, values, future));
            }
        }

        return series;
    }

    /// <summary>
    /// Evaluates every method on every series, and each combination as the mean of its members' forecasts (the same
    /// mean <see cref="CombinedForecaster"/> takes), so a member shared by a combination is fitted once per series.
    /// The elapsed time of a combination is that of its averaging only.
    /// </summary>
    public static IReadOnlyList<M4MethodResult> EvaluateAll(
        IReadOnlyList<M4Series> series,
        IReadOnlyList<IForecaster> methods,
        IReadOnlyList<(string Name, int[] Members)> combinations,
        int horizon = 48,
        int seasonality = 24)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(combinations);
        int count = methods.Count + combinations.Count;
        var smape = new double[count];
        var mase = new double[count];
        var elapsed = new TimeSpan[count];
        var forecasts = new double[methods.Count][];
        var combined = new double[horizon];
        foreach (M4Series s in series)
        {
            int h = Math.Min(horizon, s.Test.Length);
            ReadOnlySpan<double> actual = s.Test.AsSpan(0, h);
            for (int m = 0; m < methods.Count; m++)
            {
                long start = Stopwatch.GetTimestamp();
                forecasts[m] = methods[m].Forecast(s.Train, h).Point;
                elapsed[m] += Stopwatch.GetElapsedTime(start);
                smape[m] += Smape(actual, forecasts[m]);
                mase[m] += Mase(s.Train, actual, forecasts[m], seasonality);
            }

            for (int c = 0; c < combinations.Count; c++)
            {
                long start = Stopwatch.GetTimestamp();
                Span<double> mean = combined.AsSpan(0, h);
                mean.Clear();
                foreach (int member in combinations[c].Members)
                {
                    for (int i = 0; i < h; i++)
                    {
                        mean[i] += forecasts[member][i] / combinations[c].Members.Length;
                    }
                }

                int at = methods.Count + c;
                elapsed[at] += Stopwatch.GetElapsedTime(start);
                smape[at] += Smape(actual, mean);
                mase[at] += Mase(s.Train, actual, mean, seasonality);
            }
        }

        var results = new List<M4MethodResult>(count);
        for (int i = 0; i < count; i++)
        {
            string name = i < methods.Count ? methods[i].Name : combinations[i - methods.Count].Name;
            results.Add(new M4MethodResult(name, smape[i] / series.Count, mase[i] / series.Count, series.Count, elapsed[i]));
        }

        return results;
    }

    public static M4MethodResult Evaluate(IReadOnlyList<M4Series> series, IForecaster method, int horizon = 48, int seasonality = 24)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(method);
        var clock = Stopwatch.StartNew();
        double smapeSum = 0;
        double maseSum = 0;
        foreach (M4Series s in series)
        {
            int h = Math.Min(horizon, s.Test.Length);
            double[] forecast = method.Forecast(s.Train, h).Point;
            smapeSum += Smape(s.Test.AsSpan(0, h), forecast);
            maseSum += Mase(s.Train, s.Test.AsSpan(0, h), forecast, seasonality);
        }

        return new M4MethodResult(method.Name, smapeSum / series.Count, maseSum / series.Count, series.Count, clock.Elapsed);
    }

    public static double Smape(ReadOnlySpan<double> actual, ReadOnlySpan<double> forecast)
    {
        double sum = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double denominator = Math.Abs(actual[i]) + Math.Abs(forecast[i]);
            sum += denominator == 0 ? 0 : 200.0 * Math.Abs(actual[i] - forecast[i]) / denominator;
        }

        return sum / actual.Length;
    }

    public static double Mase(ReadOnlySpan<double> train, ReadOnlySpan<double> actual, ReadOnlySpan<double> forecast, int seasonality)
    {
        int m = train.Length > seasonality ? seasonality : 1;
        double scale = 0;
        for (int i = m; i < train.Length; i++)
        {
            scale += Math.Abs(train[i] - train[i - m]);
        }

        scale /= train.Length - m;
        double error = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            error += Math.Abs(actual[i] - forecast[i]);
        }

        return error / actual.Length / scale;
    }

    private static Dictionary<string, double[]> ReadRows(string path)
    {
        var rows = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var values = new List<double>();
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            values.Clear();
            for (int i = 1; i < fields.Length; i++)
            {
                string field = fields[i].Trim('"');
                if (field.Length > 0)
                {
                    values.Add(double.Parse(field, NumberStyles.Float, CultureInfo.InvariantCulture));
                }
            }

            rows[fields[0].Trim('"')] = values.ToArray();
        }

        return rows;
    }
}
