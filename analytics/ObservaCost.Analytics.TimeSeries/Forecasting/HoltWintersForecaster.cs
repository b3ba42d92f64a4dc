using System.Globalization;
using ObservaCost.Analytics.TimeSeries.Internal;

namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>Options of <see cref="HoltWintersForecaster"/>.</summary>
public sealed record HoltWintersOptions
{
    /// <summary>Season in points; 0 to detect it, 1 for no seasonal component (damped Holt).</summary>
    public int SeasonLength { get; init; }

    /// <summary>Coverage of the bounds.</summary>
    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>Smallest damping factor φ the fit may choose (φ = 1 is an undamped trend).</summary>
    public double MinimumDamping { get; init; } = 0.8;

    /// <summary>Only the last points are fitted (0 for all): old seasons say little about the next.</summary>
    public int TrainSize { get; init; }

    /// <summary>Nelder–Mead iterations for the smoothing parameters.</summary>
    public int MaxIterations { get; init; } = 300;
}

/// <summary>
/// Additive Holt-Winters with a damped trend (ETS(A,Ad,A)): level, trend and season updated by α, β, γ with damping
/// φ; the four are fitted by minimising the in-sample one-step squared error (Nelder–Mead, parameters clamped to
/// [0, 1] and [<see cref="HoltWintersOptions.MinimumDamping"/>, 1]). Initial state from the first two seasons.
/// Bounds use the ETS class-1 variance σ²(1 + Σ c_j²), c_j = α(1 + β(φ + … + φ^j)) + γ·[j ≡ 0 mod m].
/// </summary>
public sealed class HoltWintersForecaster : IForecaster
{
    private readonly HoltWintersOptions _options;
    private readonly double _z;

    public HoltWintersForecaster(HoltWintersOptions? options = null)
    {
        _options = options ?? new HoltWintersOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.SeasonLength);
        if (!(_options.MinimumDamping > 0 && _options.MinimumDamping <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.MinimumDamping, "MinimumDamping must be in (0, 1].");
        }

        _z = ForecastMath.ZScore(_options.ConfidenceLevel);
    }

    public string Name => "holt-winters(damped" + (_options.SeasonLength > 0 ? ",m=" + _options.SeasonLength.ToString(CultureInfo.InvariantCulture) : string.Empty) + ")";

    public ForecastResult Forecast(ReadOnlySpan<double> history, int horizon)
    {
        ForecastMath.EnsureHorizon(horizon);
        if (_options.TrainSize > 0 && history.Length > _options.TrainSize)
        {
            history = history[^_options.TrainSize..];
        }

        int m = _options.SeasonLength > 0 ? _options.SeasonLength : SeasonDetector.DetectPrimarySeason(history, SeasonalNaiveForecaster.MaxDetectedSeason, fallback: 1);
        if (history.Length < 2 * m || history.Length < 3)
        {
            m = 1;
        }

        if (history.Length < 3)
        {
            throw new ArgumentException("Holt-Winters needs at least 3 points.", nameof(history));
        }

        double[] data = history.ToArray();
        var model = new Model(data, m, _options.MinimumDamping);
        Span<double> parameters = [0.3, 0.05, 0.1, 0.98];
        NelderMead.Minimise(model.SumSquaredErrors, parameters, 0.1, _options.MaxIterations);
        double sse = model.SumSquaredErrors(parameters);
        (double alpha, double beta, double gamma, double phi) = model.Clamp(parameters);
        (double level, double trend, double[] season) = model.FinalState(parameters);

        var point = new double[horizon];
        var sigmaByStep = new double[horizon];
        double sigma2 = sse / Math.Max(1, data.Length - m);
        double dampSum = 0;
        double phiPower = 1;
        double varianceSum = 0;
        for (int h = 1; h <= horizon; h++)
        {
            phiPower *= phi;
            dampSum += phiPower;
            point[h - 1] = level + (dampSum * trend) + (m > 1 ? season[(data.Length + h - 1) % m] : 0);
            sigmaByStep[h - 1] = Math.Sqrt(sigma2 * (1 + varianceSum));
            double c = (alpha * (1 + (beta * dampSum))) + (m > 1 && h % m == 0 ? gamma : 0);
            varianceSum += c * c;
        }

        return ForecastMath.WithBounds(point, sigmaByStep, _z);
    }

    /// <summary>The recursions over one history; season indices are absolute positions modulo m.</summary>
    private sealed class Model
    {
        private readonly double[] _data;
        private readonly int _m;
        private readonly double _minimumDamping;
        private readonly double[] _season;
        private readonly double _initialLevel;
        private readonly double _initialTrend;
        private readonly double[] _initialSeason;

        public Model(double[] data, int m, double minimumDamping)
        {
            _data = data;
            _m = m;
            _minimumDamping = minimumDamping;
            _season = new double[m];
            _initialSeason = new double[m];
            if (m > 1)
            {
                double first = Statistics.Mean(data.AsSpan(0, m));
                double second = Statistics.Mean(data.AsSpan(m, m));
                _initialTrend = (second - first) / m;
                for (int i = 0; i < m; i++)
                {
                    _initialSeason[i] = data[i] - (first + (_initialTrend * (i - ((m - 1) / 2.0))));
                }

                // The first season's mean sits at position (m − 1) / 2; the state starts one step before position 0.
                _initialLevel = first - (_initialTrend * (((m - 1) / 2.0) + 1));
            }
            else
            {
                _initialLevel = data[0];
                _initialTrend = data[1] - data[0];
            }
        }

        public (double Alpha, double Beta, double Gamma, double Phi) Clamp(ReadOnlySpan<double> p) =>
            (Math.Clamp(p[0], 0, 1), Math.Clamp(p[1], 0, 1), Math.Clamp(p[2], 0, 1), Math.Clamp(p[3], _minimumDamping, 1));

        public double SumSquaredErrors(ReadOnlySpan<double> parameters) => Run(parameters, out _, out _);

        public (double Level, double Trend, double[] Season) FinalState(ReadOnlySpan<double> parameters)
        {
            Run(parameters, out double level, out double trend);
            return (level, trend, (double[])_season.Clone());
        }

        private double Run(ReadOnlySpan<double> parameters, out double level, out double trend)
        {
            (double alpha, double beta, double gamma, double phi) = Clamp(parameters);
            level = _initialLevel;
            trend = _initialTrend;
            _initialSeason.CopyTo(_season, 0);
            double sse = 0;
            int start = _m > 1 ? 0 : 1;
            for (int t = start; t < _data.Length; t++)
            {
                double s = _m > 1 ? _season[t % _m] : 0;
                double forecast = level + (phi * trend) + s;
                double error = _data[t] - forecast;
                if (t >= _m)
                {
                    sse += error * error;
                }

                double previousLevel = level;
                double previousTrend = trend;
                level = (alpha * (_data[t] - s)) + ((1 - alpha) * (level + (phi * trend)));
                trend = (beta * (level - previousLevel)) + ((1 - beta) * phi * previousTrend);
                if (_m > 1)
                {
                    _season[t % _m] = (gamma * (_data[t] - previousLevel - (phi * previousTrend))) + ((1 - gamma) * s);
                }
            }

            return sse;
        }
    }
}
