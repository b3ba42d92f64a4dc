using System.Globalization;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>How <see cref="AdaptiveResonanceDetector"/> scales values to [0, 1].</summary>
public enum ResonanceRange
{
    /// <summary>The range of the values seen so far (the product: a future range is unknown).</summary>
    Running,

    /// <summary>A range given up front (NAB hands its detectors the file's minimum and maximum; ARTime uses them).</summary>
    Known,
}

/// <summary>
/// An adaptive-resonance anomaly detector in the manner of ARTime (Mark Hampton's NAB entry), written from its
/// published description. The series is downsampled (one feature per <c>step</c> points: the block's extreme when it
/// departs from the block mean by 10 % or more, else the mean), scaled to [0, 1], quantised to 80 levels and snapped to
/// the running median level when within 0.075 of it; the last 8 downsampled values and the Haar transform of their
/// min–max-normalised shape form a 16-feature input to a dual-vigilance Fuzzy ART network (<see cref="FuzzyArt"/>).
/// The probationary period (its length is the only thing the detector is told up front) is buffered, the initial
/// vigilance is set from how well the network clusters it, and it is learnt without scoring. Afterwards an input that
/// no category resonates with (a new category) is an anomaly, scored by how far its match falls below the two
/// vigilances and how badly its newest value fits, unless it follows a recent anomaly or category creation and is not
/// clearly worse; the vigilances then follow the recent matches (upper: their running mean, at most 0.97; lower: up
/// towards the recent minimum, or down by the recent shortfall, never below the mean match of past anomalies).
/// The range is learnt online: the probation's range widened by <c>rangeMargin</c> of its width on each side, then
/// widened by any value outside it, with what was learnt rescaled to the new range.
/// Online, one pass, no look-ahead; the state is bounded: at most <c>maxCategories</c> categories (the least recently
/// matched is replaced), the probation buffer (at most 206 inputs of 16 features) and fixed windows: with 256
/// categories 93,668 bytes for a 750-point probation, at most 108,276 (see <see cref="StateBytes"/>).
/// </summary>
public sealed class AdaptiveResonanceDetector
{
    /// <summary>Downsampled values in a feature window (a power of two, for the Haar transform).</summary>
    public const int Window = 8;

    /// <summary>Feature windows per probationary period: sets the downsampling step.</summary>
    public const int WindowsPerProbation = 13;

    /// <summary>Quantisation levels of the scaled value.</summary>
    public const int Levels = 80;

    /// <summary>A value within this of the running median level is snapped to it.</summary>
    public const double MedianSnap = 0.075;

    /// <summary>The vigilance the probation clustering is run at to choose the initial vigilance.</summary>
    public const double InitialVigilance = 0.80;

    /// <summary>The highest the upper vigilance goes.</summary>
    public const double MaxUpperVigilance = 0.97;

    /// <summary>Category slots (bounded memory; the least recently matched is replaced when full).</summary>
    public const int DefaultMaxCategories = 256;

    /// <summary>With a running range, the probation's range is widened by this share of itself on each side.</summary>
    public const double DefaultRangeMargin = 0.5;

    /// <summary>The shortest probationary period (two feature windows).</summary>
    public const int MinimumProbationRows = 2 * Window;

    private const int Features = 2 * Window;
    private const int MaskSteps = Window * 3 / 2;

    private readonly ResonanceRange _rangeMode;
    private readonly FuzzyArt _art;
    private readonly int _step;
    private readonly int _trendWindow;
    private readonly double[] _block;
    private readonly double[] _window = new double[Window];
    private readonly double[] _shape = new double[Window];
    private readonly double[] _features = new double[Features];
    private readonly double[] _probation;
    private readonly int[] _levelCounts = new int[Levels + 1];
    private readonly double[] _recentSimilarity;
    private readonly double[] _recentShortfall;
    private readonly double[] _probationValues;
    private readonly double _rangeMargin;
    private readonly bool _rescaleOnGrowth;
    private long _levelsCounted;
    private double _min;
    private double _max;
    private long _points;
    private long _steps;
    private double _movingAverage;
    private long _lastAnomalyStep;
    private double _lastAnomalySimilarity;
    private long _lastVigilanceUpdateStep;
    private bool _maskAfterCategory;
    private long _stepsWithoutNewCategory;
    private double _similaritySum;
    private double _anomalySimilaritySum;
    private double _currentAnomalySimilarity;
    private long _anomalies;

    /// <param name="probationRows">Points learnt without scoring (NAB: 15 % of the file, at most 750).</param>
    /// <param name="rangeMode">Running range (the product) or a known range (NAB's inputMin/inputMax).</param>
    /// <param name="knownMin">The known minimum, with <see cref="ResonanceRange.Known"/>.</param>
    /// <param name="knownMax">The known maximum, with <see cref="ResonanceRange.Known"/>.</param>
    /// <param name="maxCategories">Category slots.</param>
    /// <param name="rescaleOnGrowth">With a running range: map what was learnt to the new scale when the range widens.</param>
    /// <param name="rangeMargin">With a running range: the probation's range is widened by this share of itself on each side.</param>
    public AdaptiveResonanceDetector(int probationRows, ResonanceRange rangeMode = ResonanceRange.Running, double knownMin = 0, double knownMax = 0, int maxCategories = DefaultMaxCategories, double rangeMargin = DefaultRangeMargin, bool rescaleOnGrowth = true)
    {
        int probation = probationRows - (probationRows % 2);
        if (probation < MinimumProbationRows)
        {
            throw new ArgumentOutOfRangeException(nameof(probationRows), string.Create(CultureInfo.InvariantCulture, $"Need a probationary period of at least {MinimumProbationRows} points (got {probationRows})."));
        }

        _rangeMode = rangeMode;
        _min = rangeMode == ResonanceRange.Known ? knownMin : double.PositiveInfinity;
        _max = rangeMode == ResonanceRange.Known ? knownMax : double.NegativeInfinity;
        _step = Math.Max(1, probation / (Window * WindowsPerProbation));
        _trendWindow = probation / _step;
        _block = new double[_step];
        _probation = new double[_trendWindow * Features];
        _probationValues = new double[_trendWindow];
        _rangeMargin = rangeMargin;
        _rescaleOnGrowth = rescaleOnGrowth;
        _recentSimilarity = new double[(_trendWindow / 2) + 1];
        _recentSimilarity.AsSpan().Fill(1);
        _recentShortfall = new double[_trendWindow + 1];
        _art = new FuzzyArt(Features, maxCategories);
    }

    /// <summary>NAB's probationary period, used by the product too: 15 % of the series, at most 750 points.</summary>
    public static int ProbationRowsFor(int length) => (int)Math.Min(Math.Floor(0.15 * length), 750);

    /// <summary>Points per downsampled value.</summary>
    public int Step => _step;

    /// <summary>Categories the network holds now.</summary>
    public int Categories => _art.Categories;

    /// <summary>
    /// Bytes of state per series: the network, the probation buffer and the fixed windows (the network that chooses the
    /// initial vigilance lives only while the probation ends, and is as large as the first).
    /// </summary>
    public int StateBytes =>
        _art.StateBytes
        + ((_block.Length + _probationValues.Length + _window.Length + _shape.Length + _features.Length + _probation.Length + _recentSimilarity.Length + _recentShortfall.Length) * sizeof(double))
        + (_levelCounts.Length * sizeof(int)) + (16 * sizeof(double));

    /// <summary>The anomaly score of <paramref name="value"/> in [0, 1]: 0 except where a new category signals an anomaly.</summary>
    public double Add(double value)
    {
        _block[(int)(_points % _step)] = value;
        _points++;
        if (_points % _step != 0)
        {
            return 0;
        }

        _steps++;
        double downsampled = Downsample();
        if (_steps < _trendWindow)
        {
            _probationValues[_steps - 1] = downsampled;
            return 0;
        }

        if (_steps == _trendWindow)
        {
            _probationValues[_steps - 1] = downsampled;
            EndProbation();
            return 0;
        }

        if (_rangeMode == ResonanceRange.Running && (downsampled < _min || downsampled > _max))
        {
            Widen(Math.Min(_min, downsampled), Math.Max(_max, downsampled));
        }

        BuildFeatures(Scale(downsampled), _steps);
        return Detect(_steps);
    }

    /// <summary>
    /// A value beyond the range widens it. With rescaling on, what was learnt in the old scale is mapped to the new:
    /// the window of scaled values, the level histogram and the categories' value features (the shape features do not
    /// depend on the scale), so that normal data does not look new merely because an outlier stretched the range.
    /// </summary>
    private void Widen(double min, double max)
    {
        double oldRange = _max - _min;
        double newRange = max - min;
        if (_rescaleOnGrowth && oldRange > 0 && newRange > 0)
        {
            double scale = oldRange / newRange;
            double offset = (_min - min) / newRange;
            for (int i = 0; i < Window; i++)
            {
                _window[i] = (scale * _window[i]) + offset;
            }

            Span<int> counts = stackalloc int[Levels + 1];
            for (int level = 0; level <= Levels; level++)
            {
                counts[(int)Math.Round(((scale * level / Levels) + offset) * Levels)] += _levelCounts[level];
            }

            counts.CopyTo(_levelCounts);
            _art.RescaleFeatures(Window, Window, scale, offset);
        }

        _min = min;
        _max = max;
    }

    /// <summary>The block's extreme when it departs from the block mean by 10 % or more, else the mean.</summary>
    private double Downsample()
    {
        double sum = 0;
        double high = double.NegativeInfinity;
        double low = double.PositiveInfinity;
        foreach (double v in _block)
        {
            sum += v;
            high = Math.Max(high, v);
            low = Math.Min(low, v);
        }

        double mean = sum / _block.Length;
        _movingAverage = _steps == 1 ? mean : (_movingAverage + mean) / 2;
        double extreme = Math.Abs(high - _movingAverage) < Math.Abs(low - _movingAverage) ? low : high;
        return Math.Abs(extreme - mean) < 0.1 * Math.Abs(mean) ? mean : extreme;
    }

    /// <summary>Scaled to the range, quantised, counted in the level histogram and snapped to the median level when near it.</summary>
    private double Scale(double value)
    {
        double range = _max - _min;
        double scaled = range > 0 ? (value - _min) / range : 0;
        int level = (int)Math.Round(Math.Clamp(scaled, 0, 1) * Levels);
        double quantised = (double)level / Levels;
        _levelCounts[level]++;
        _levelsCounted++;
        double median = (double)MedianLevel() / Levels;
        return Math.Abs(quantised - median) < MedianSnap ? median : quantised;
    }

    /// <summary>The lower median of every level seen so far, from the histogram.</summary>
    private int MedianLevel()
    {
        long rank = (_levelsCounted + 1) / 2;
        long seen = 0;
        for (int level = 0; level < _levelCounts.Length; level++)
        {
            seen += _levelCounts[level];
            if (seen >= rank)
            {
                return level;
            }
        }

        return Levels;
    }

    /// <summary>Haar coefficients of the window's shape (rescaled to [0, 1]) then the window itself; zeros until it fills.</summary>
    private void BuildFeatures(double scaled, long step)
    {
        ShiftIn(_window, scaled);
        if (step < Window)
        {
            Array.Clear(_features);
            return;
        }

        Normalise(_window, _shape);
        Haar(_shape, _features.AsSpan(0, Window));
        Normalise(_features.AsSpan(0, Window), _features.AsSpan(0, Window));
        _window.CopyTo(_features.AsSpan(Window, Window));
    }

    private static void Normalise(ReadOnlySpan<double> source, Span<double> target)
    {
        double low = double.PositiveInfinity;
        double high = double.NegativeInfinity;
        foreach (double v in source)
        {
            low = Math.Min(low, v);
            high = Math.Max(high, v);
        }

        double span = high - low;
        for (int i = 0; i < source.Length; i++)
        {
            target[i] = span != 0 ? (source[i] - low) / span : source[i] - low;
        }
    }

    /// <summary>The orthonormal Haar transform, all levels: [approximation, coarsest detail, …, finest details].</summary>
    private static void Haar(ReadOnlySpan<double> source, Span<double> target)
    {
        Span<double> work = stackalloc double[Window];
        Span<double> next = stackalloc double[Window];
        source.CopyTo(work);
        for (int length = Window; length > 1; length /= 2)
        {
            int half = length / 2;
            for (int i = 0; i < half; i++)
            {
                next[i] = (work[2 * i] + work[(2 * i) + 1]) / Math.Sqrt(2);
                next[half + i] = (work[2 * i] - work[(2 * i) + 1]) / Math.Sqrt(2);
            }

            next[..length].CopyTo(work);
        }

        work.CopyTo(target);
    }

    private void EndProbation()
    {
        if (_rangeMode == ResonanceRange.Running)
        {
            double low = _probationValues.Min();
            double high = _probationValues.Max();
            _min = low - (_rangeMargin * (high - low));
            _max = high + (_rangeMargin * (high - low));
        }

        for (int step = 1; step <= _trendWindow; step++)
        {
            BuildFeatures(Scale(_probationValues[step - 1]), step);
            _features.CopyTo(_probation.AsSpan((step - 1) * Features, Features));
        }

        double vigilance = ProbationVigilance();
        _art.LowerVigilance = vigilance;
        _art.UpperVigilance = vigilance;
        for (int step = 1; step <= _trendWindow; step++)
        {
            _probation.AsSpan((step - 1) * Features, Features).CopyTo(_features);
            Detect(step);
        }
    }

    /// <summary>
    /// The initial vigilance: the complete probation windows ordered from the least to the most typical (summed cosine
    /// similarity to the others), clustered at <see cref="InitialVigilance"/>; the mean match over the second half.
    /// </summary>
    private double ProbationVigilance()
    {
        int first = Window - 1;
        int count = _trendWindow - first;
        var typicality = new double[count];
        var order = new int[count];
        for (int a = 0; a < count; a++)
        {
            order[a] = a;
            ReadOnlySpan<double> x = _probation.AsSpan((first + a) * Features, Features);
            for (int b = 0; b < count; b++)
            {
                typicality[a] += a == b ? 1 : Cosine(x, _probation.AsSpan((first + b) * Features, Features));
            }
        }

        Array.Sort(typicality, order);
        var clustering = new FuzzyArt(Features, _art.Capacity) { LowerVigilance = InitialVigilance, UpperVigilance = InitialVigilance };
        int from = Math.Min(count, _trendWindow / 2) - 1;
        double sum = 0;
        for (int k = 0; k < count; k++)
        {
            double similarity = clustering.Present(_probation.AsSpan((first + order[k]) * Features, Features), learn: true).Similarity;
            sum += k >= from ? similarity : 0;
        }

        return sum / (count - from);
    }

    private static double Cosine(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double xx = 0;
        double yy = 0;
        double xy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            xx += x[i] * x[i];
            yy += y[i] * y[i];
            xy += x[i] * y[i];
        }

        double nx = Math.Sqrt(xx);
        double ny = Math.Sqrt(yy);
        return nx == 0 ? 1 - ny : ny == 0 ? 1 - nx : xy / (nx * ny);
    }

    private double Detect(long step)
    {
        long sinceAnomaly = step - _lastAnomalyStep;
        bool updateAfterAnomaly = sinceAnomaly == MaskSteps;
        bool updateForTrend = step - _lastVigilanceUpdateStep >= _trendWindow / 2;
        bool maskAfterAnomaly = sinceAnomaly <= MaskSteps;
        if (step > _trendWindow + MaskSteps && _maskAfterCategory && _stepsWithoutNewCategory >= MaskSteps)
        {
            _maskAfterCategory = false;
        }

        bool learn = step >= Window;
        ArtMatch match = _art.Present(_features, learn);
        bool newCategory = !learn || match.Outcome == ArtOutcome.Mismatch;
        _stepsWithoutNewCategory = newCategory ? 0 : _stepsWithoutNewCategory + 1;
        double similarity = match.Similarity;
        _similaritySum += similarity;
        ShiftIn(_recentSimilarity, similarity);
        ShiftIn(_recentShortfall, _art.UpperVigilance - similarity);
        if (sinceAnomaly < MaskSteps && _anomalies > 0 && similarity < _currentAnomalySimilarity)
        {
            _anomalySimilaritySum += similarity - _currentAnomalySimilarity;
            _currentAnomalySimilarity = similarity;
        }

        bool masking = _maskAfterCategory || maskAfterAnomaly;
        bool clearlyWorse = similarity < _lastAnomalySimilarity * (maskAfterAnomaly ? 0.90 : 0.70);
        double score = 0;
        if (step > _trendWindow && newCategory && (!masking || clearlyWorse))
        {
            score = Confidence(similarity, match.EnergySimilarity);
            _anomalies++;
            _anomalySimilaritySum += similarity;
            _currentAnomalySimilarity = similarity;
            _lastAnomalySimilarity = similarity;
            _lastAnomalyStep = step;
        }

        _maskAfterCategory |= newCategory;
        if (step > _trendWindow && (updateAfterAnomaly || updateForTrend))
        {
            AdaptVigilance(step);
        }

        return score;
    }

    private void AdaptVigilance(long step)
    {
        double upper = Math.Min(MaxUpperVigilance, _similaritySum / step);
        double lower = _art.LowerVigilance;
        double recentMinimum = _recentSimilarity.Min();
        if (lower <= recentMinimum)
        {
            lower += (recentMinimum - lower) * 0.19;
        }
        else
        {
            double decrease = 0;
            if (step > 2 * _trendWindow)
            {
                double sum = 0;
                int n = 0;
                foreach (double shortfall in _recentShortfall)
                {
                    if (shortfall > 0.05)
                    {
                        sum += Math.Min(0.37, shortfall);
                        n++;
                    }
                }

                decrease = n > 0 ? sum / n : 0;
            }

            lower -= Math.Max(0.01, decrease) / 2;
            if (_anomalies > 0)
            {
                lower = Math.Max(_anomalySimilaritySum / _anomalies, lower);
            }
        }

        _art.LowerVigilance = Math.Min(upper, lower);
        _art.UpperVigilance = upper;
        _lastVigilanceUpdateStep = step;
        _maskAfterCategory = true;
    }

    /// <summary>How far the match falls short of each vigilance, relative to its own shortfall, plus the newest value's misfit.</summary>
    private double Confidence(double similarity, double energySimilarity)
    {
        double s = Math.Min(0.999, similarity);
        double upper = ((1 - s) - (1 - _art.UpperVigilance)) / (1 - s);
        double lower = ((1 - s) - (1 - _art.LowerVigilance)) / (1 - s);
        return Math.Clamp((upper * 0.35) + (lower * 0.65) + ((1.0 - energySimilarity) * 1.5), 0, 1);
    }

    private static void ShiftIn(double[] window, double value)
    {
        Array.Copy(window, 1, window, 0, window.Length - 1);
        window[^1] = value;
    }
}
