using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>How <see cref="SsaForecaster"/> chooses the rank of the signal subspace.</summary>
public enum RankSelectionMethod
{
    /// <summary>Try every rank up to the maximum on a back-test over the last points of the history; keep the best.</summary>
    Exact = 0,

    /// <summary>Use <see cref="SsaForecastingOptions.Rank"/>.</summary>
    Fixed = 1,
}

/// <summary>Options of <see cref="SsaForecaster"/>, named as in ML.NET's <c>ForecastBySsa</c>.</summary>
public sealed record SsaForecastingOptions
{
    /// <summary>Window length L (≥ 2); 0 picks twice the longest detected season, within a third of the history.</summary>
    public int WindowSize { get; init; }

    /// <summary>Only the last points are used (0 for all); must exceed 2L.</summary>
    public int TrainSize { get; init; }

    /// <summary>Coverage of the confidence bounds.</summary>
    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>How the rank is chosen.</summary>
    public RankSelectionMethod RankSelectionMethod { get; init; } = RankSelectionMethod.Exact;

    /// <summary>The rank when <see cref="RankSelectionMethod"/> is Fixed.</summary>
    public int Rank { get; init; }

    /// <summary>Largest rank tried (0: min(L − 1, 40)).</summary>
    public int MaxRank { get; init; }

    /// <summary>Pull roots of the recurrence with modulus above <see cref="MaxGrowth"/> back to it.</summary>
    public bool ShouldStabilize { get; init; } = true;

    /// <summary>Largest modulus of a root after stabilisation (1: no exponential growth).</summary>
    public double MaxGrowth { get; init; } = 1.0;

    /// <summary>Points held out to choose the rank (0: the horizon, at most a quarter of the history).</summary>
    public int BacktestSize { get; init; }

    /// <summary>
    /// Choose the rank with the subspace of the whole history (one eigen-decomposition, as ML.NET's in-sample trial)
    /// instead of a subspace fitted without the back-test points (two decompositions, strictly out of sample).
    /// </summary>
    public bool SingleDecomposition { get; init; }
}

/// <summary>
/// Singular spectrum analysis forecasting. The lag-covariance matrix of the L × K trajectory (Hankel) matrix is
/// eigen-decomposed; the leading r eigenvectors U span the signal. The shift of the signal inside a window is the
/// r × r matrix M = (U↑ᵀU↑)⁻¹U↑ᵀU↓ (U↑, U↓: U without its last or first row; the inverse is I + ππᵀ/(1 − ν²) with π the
/// last row of U), whose eigenvalues are the signal roots of ML.NET's linear recurrence (the recurrence's extra roots
/// are left out, which is what makes stabilisation reliable). Stabilisation pulls roots with modulus above
/// <see cref="SsaForecastingOptions.MaxGrowth"/> onto it. The forecast starts from the projection of the last window
/// onto U and iterates M; bounds grow with the impulse response from the one-step in-sample residual variance.
/// Rank selection (Exact) back-tests every rank on the last points of the history — out of sample, unlike ML.NET's
/// in-sample trial.
/// </summary>
public sealed class SsaForecaster : IForecaster
{
    private const int DefaultMaxRank = 40;
    private const double RelativeEigenvalueFloor = 1e-12;

    private readonly SsaForecastingOptions _options;
    private readonly double _z;

    public SsaForecaster(SsaForecastingOptions? options = null)
    {
        _options = options ?? new SsaForecastingOptions();
        if (_options.WindowSize is 1 or < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.WindowSize, "WindowSize must be 0 (automatic) or at least 2.");
        }

        if (_options.RankSelectionMethod == RankSelectionMethod.Fixed && _options.Rank < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Rank, "A fixed rank must be at least 1.");
        }

        if (!(_options.MaxGrowth > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxGrowth, "MaxGrowth must be positive.");
        }

        _z = ForecastMath.ZScore(_options.ConfidenceLevel);
    }

    public string Name => "ssa(L=" + (_options.WindowSize > 0 ? _options.WindowSize.ToString(CultureInfo.InvariantCulture) : "auto") + ")";

    /// <summary>The rank chosen by the last call (for reports and tests).</summary>
    public int LastRank { get; private set; }

    /// <summary>The window length used by the last call.</summary>
    public int LastWindowSize { get; private set; }

    public ForecastResult Forecast(ReadOnlySpan<double> history, int horizon)
    {
        ForecastMath.EnsureHorizon(horizon);
        if (_options.TrainSize > 0 && history.Length > _options.TrainSize)
        {
            history = history[^_options.TrainSize..];
        }

        SsaPredictor predictor = Fit(history, horizon);
        LastRank = predictor.Rank;
        LastWindowSize = predictor.WindowSize;
        var point = new double[horizon];
        predictor.Forecast(history, point);
        double sigma = predictor.OneStepSigma(history);
        var sigmaByStep = new double[horizon];
        predictor.ImpulseScale(sigmaByStep);
        for (int h = 0; h < horizon; h++)
        {
            sigmaByStep[h] *= sigma;
        }

        return ForecastMath.WithBounds(point, sigmaByStep, _z);
    }

    /// <summary>Fits a predictor for one-step use (the SSA spike detector): rank back-tested over one window.</summary>
    internal static SsaPredictor Train(ReadOnlySpan<double> history, int windowSize)
    {
        var forecaster = new SsaForecaster(new SsaForecastingOptions { WindowSize = windowSize, SingleDecomposition = true, BacktestSize = windowSize });
        return forecaster.Fit(history, windowSize);
    }

    private SsaPredictor Fit(ReadOnlySpan<double> history, int horizon)
    {
        int n = history.Length;
        int window = _options.WindowSize > 0 ? _options.WindowSize : AutomaticWindow(history);
        if (n <= 2 * window)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"SSA needs more than 2L = {2 * window} points, got {n}."), nameof(history));
        }

        int maxRank = Math.Min(_options.MaxRank > 0 ? _options.MaxRank : DefaultMaxRank, window - 1);
        SsaModel model;
        int rank;
        int backtest = Math.Min(_options.BacktestSize > 0 ? _options.BacktestSize : horizon, n / 4);
        if (_options.RankSelectionMethod == RankSelectionMethod.Fixed)
        {
            rank = Math.Min(_options.Rank, window - 1);
            model = SsaModel.Fit(history, window, rank);
        }
        else if (n - backtest > 2 * window && backtest > 0)
        {
            model = SsaModel.Fit(history, window, maxRank);
            SsaModel selection = _options.SingleDecomposition ? model : SsaModel.Fit(history[..^backtest], window, maxRank);
            rank = SelectRank(selection, history, maxRank, backtest);
        }
        else
        {
            rank = Math.Min(maxRank, 2);
            model = SsaModel.Fit(history, window, rank);
        }

        rank = Math.Min(rank, model.UsableRank);
        return new SsaPredictor(model, rank, model.Shift(rank, _options.ShouldStabilize, _options.MaxGrowth));
    }

    private int SelectRank(SsaModel model, ReadOnlySpan<double> history, int maxRank, int backtest)
    {
        ReadOnlySpan<double> train = history[..^backtest];
        ReadOnlySpan<double> actual = history[^backtest..];
        int usable = Math.Min(maxRank, model.UsableRank);
        var forecast = new double[backtest];
        int bestRank = 1;
        double bestError = double.PositiveInfinity;
        for (int r = 1; r <= usable; r++)
        {
            Matrix<double> shift = model.Shift(r, stabilise: false, _options.MaxGrowth);
            model.Forecast(train, r, shift, forecast);
            double error = 0;
            for (int h = 0; h < backtest; h++)
            {
                error += Math.Abs(actual[h] - forecast[h]);
            }

            if (error < bestError * (1 - 1e-9))
            {
                bestError = error;
                bestRank = r;
            }
        }

        return bestRank;
    }

    private static int AutomaticWindow(ReadOnlySpan<double> history)
    {
        IReadOnlyList<int> seasons = SeasonDetector.DetectSeasons(history, Math.Min(history.Length / 3, 400));
        int longest = seasons.Count > 0 ? seasons.Max() : 12;
        return Math.Clamp(2 * longest, 2, Math.Max(2, (history.Length / 3) - 1));
    }

    /// <summary>A fitted SSA model at one rank, with its (stabilised) shift matrix.</summary>
    internal sealed class SsaPredictor
    {
        private readonly SsaModel _model;
        private readonly Matrix<double> _shift;
        private readonly Vector<double> _next;
        private readonly double[] _state;

        internal SsaPredictor(SsaModel model, int rank, Matrix<double> shift)
        {
            _model = model;
            Rank = rank;
            _shift = shift;
            _next = shift.TransposeThisAndMultiply(model.LastRow(rank));
            _state = new double[rank];
        }

        public int Rank { get; }

        public int WindowSize => _model.WindowSize;

        public void Forecast(ReadOnlySpan<double> history, Span<double> forecast) => _model.Forecast(history, Rank, _shift, forecast);

        /// <summary>One-step prediction from the last <see cref="WindowSize"/> values, without allocating.</summary>
        public double PredictNext(ReadOnlySpan<double> lastWindow)
        {
            _model.ProjectInto(lastWindow[^WindowSize..], _state);
            double sum = 0;
            for (int c = 0; c < Rank; c++)
            {
                sum += _next[c] * _state[c];
            }

            return sum;
        }

        public double OneStepSigma(ReadOnlySpan<double> history) => _model.OneStepSigma(history, Rank, _shift);

        /// <summary>√(1 + Σ_{j&lt;h} ψ_j²) per step, ψ_j the response of the j-th forecast to a unit shock in the last value.</summary>
        public void ImpulseScale(Span<double> scaleByStep)
        {
            Vector<double> pi = _model.LastRow(Rank);
            Vector<double> response = pi.Clone();
            double sum = 1;
            for (int h = 0; h < scaleByStep.Length; h++)
            {
                scaleByStep[h] = Math.Sqrt(sum);
                response = _shift * response;
                double psi = pi.DotProduct(response);
                sum += psi * psi;
            }
        }
    }

    /// <summary>The eigen-decomposition of one history's lag-covariance matrix and what is derived from it.</summary>
    internal sealed class SsaModel
    {
        private readonly Matrix<double> _u;
        private readonly Matrix<double> _upDown;

        private SsaModel(Matrix<double> u, Matrix<double> upDown, int usableRank)
        {
            _u = u;
            _upDown = upDown;
            UsableRank = usableRank;
        }

        public int UsableRank { get; }

        public int WindowSize => _u.RowCount;

        public void ProjectInto(ReadOnlySpan<double> window, Span<double> state)
        {
            for (int c = 0; c < state.Length; c++)
            {
                double sum = 0;
                for (int i = 0; i < window.Length; i++)
                {
                    sum += _u[i, c] * window[i];
                }

                state[c] = sum;
            }
        }

        public static SsaModel Fit(ReadOnlySpan<double> series, int window, int maxRank)
        {
            int n = series.Length;
            int k = n - window + 1;
            var covariance = new double[window, window];
            for (int j = 0; j < window; j++)
            {
                double sum = 0;
                for (int t = 0; t < k; t++)
                {
                    sum += series[t] * series[j + t];
                }

                covariance[0, j] = sum;
            }

            for (int i = 0; i + 1 < window; i++)
            {
                for (int j = i; j + 1 < window; j++)
                {
                    covariance[i + 1, j + 1] = covariance[i, j] - (series[i] * series[j]) + (series[i + k] * series[j + k]);
                }
            }

            for (int i = 0; i < window; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    covariance[i, j] = covariance[j, i];
                }
            }

            var evd = Matrix<double>.Build.DenseOfArray(covariance).Evd(Symmetricity.Symmetric);
            int rank = Math.Min(maxRank, window - 1);
            Matrix<double> vectors = evd.EigenVectors;
            Vector<System.Numerics.Complex> values = evd.EigenValues;
            double largest = values[window - 1].Real;
            var u = Matrix<double>.Build.Dense(window, rank);
            int usable = 0;
            for (int c = 0; c < rank; c++)
            {
                int source = window - 1 - c;
                u.SetColumn(c, vectors.Column(source));
                if (values[source].Real > largest * RelativeEigenvalueFloor)
                {
                    usable = c + 1;
                }
            }

            Matrix<double> up = u.SubMatrix(0, window - 1, 0, rank);
            Matrix<double> down = u.SubMatrix(1, window - 1, 0, rank);
            return new SsaModel(u, up.TransposeThisAndMultiply(down), Math.Max(1, usable));
        }

        public Vector<double> LastRow(int rank) => _u.Row(_u.RowCount - 1).SubVector(0, rank);

        /// <summary>M = (I + ππᵀ/(1 − ν²))·U↑ᵀU↓ for the leading <paramref name="rank"/> components, optionally stabilised.</summary>
        public Matrix<double> Shift(int rank, bool stabilise, double maxGrowth)
        {
            Vector<double> pi = LastRow(rank);
            double nu2 = pi.DotProduct(pi);
            Matrix<double> g = _upDown.SubMatrix(0, rank, 0, rank);
            Matrix<double> shift = nu2 < 1 - 1e-9 ? g + (pi.OuterProduct(pi) * g / (1 - nu2)) : g;
            return stabilise ? Stabilise(shift, maxGrowth) : shift;
        }

        public void Forecast(ReadOnlySpan<double> series, int rank, Matrix<double> shift, Span<double> forecast)
        {
            int window = _u.RowCount;
            Vector<double> state = Project(series[^window..], rank);
            Vector<double> next = Vector<double>.Build.Dense(rank);
            Vector<double> pi = LastRow(rank);
            for (int h = 0; h < forecast.Length; h++)
            {
                shift.Multiply(state, next);
                (state, next) = (next, state);
                forecast[h] = pi.DotProduct(state);
            }
        }

        public double OneStepSigma(ReadOnlySpan<double> series, int rank, Matrix<double> shift)
        {
            int window = _u.RowCount;
            Vector<double> pi = LastRow(rank);
            Vector<double> next = shift.TransposeThisAndMultiply(pi);
            int first = Math.Max(0, series.Length - window - (4 * window));
            double sum = 0;
            int count = 0;
            for (int start = first; start + window < series.Length; start++)
            {
                double predicted = next.DotProduct(Project(series.Slice(start, window), rank));
                double error = series[start + window] - predicted;
                sum += error * error;
                count++;
            }

            return count > 0 ? Math.Sqrt(sum / count) : 0;
        }

        private Vector<double> Project(ReadOnlySpan<double> lastWindow, int rank)
        {
            var state = new double[rank];
            ProjectInto(lastWindow, state);
            return Vector<double>.Build.Dense(state);
        }

        private static Matrix<double> Stabilise(Matrix<double> shift, double maxGrowth)
        {
            var evd = shift.Evd();
            bool changed = false;
            foreach (System.Numerics.Complex root in evd.EigenValues)
            {
                changed |= root.Magnitude > maxGrowth;
            }

            if (!changed)
            {
                return shift;
            }

            // D is block diagonal: 1×1 blocks for real roots, 2×2 blocks [a b; −b a] for complex pairs.
            Matrix<double> d = evd.D.Clone();
            int size = d.RowCount;
            for (int i = 0; i < size; i++)
            {
                bool pair = i + 1 < size && d[i, i + 1] != 0;
                double modulus = pair ? Math.Sqrt((d[i, i] * d[i, i]) + (d[i, i + 1] * d[i, i + 1])) : Math.Abs(d[i, i]);
                if (modulus > maxGrowth)
                {
                    double scale = maxGrowth / modulus;
                    d[i, i] *= scale;
                    if (pair)
                    {
                        d[i, i + 1] *= scale;
                        d[i + 1, i] *= scale;
                        d[i + 1, i + 1] *= scale;
                    }
                }

                if (pair)
                {
                    i++;
                }
            }

            Matrix<double> v = evd.EigenVectors;
            return v * d * v.Inverse();
        }
    }
}
