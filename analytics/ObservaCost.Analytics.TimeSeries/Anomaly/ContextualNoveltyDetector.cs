using System.Globalization;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>
/// A contextual anomaly detector in the manner of CAD OSE (Smirnov's Contextual Anomaly Detector, NAB's
/// <c>contextOSE</c>), written from its published description: each value is quantised into one of
/// <c>levels</c> bins of the range seen so far; the contexts of the point are the sequences of the last 1, 2, …,
/// <c>order</c> bins ending at it; a context never seen before is novel. The score is the share of the point's
/// contexts that are novel, weighted towards the longer ones (1 = every context new, 0 = all known). Every context is
/// then learnt. Online: one pass, no look-ahead; the state is a fixed table of levels^order occurrence flags per order
/// (with the defaults 8 + 64 + 512 = 584 bytes; 620 bytes of state in all), a ring of the last <c>order</c> bins and the running range:
/// it does not grow with the series.
/// </summary>
public sealed class ContextualNoveltyDetector
{
    /// <summary>Bins of the running range a value is quantised into (chosen on nab-dev-wide among 8, 16, 32, 64).</summary>
    public const int DefaultLevels = 8;

    /// <summary>The longest context (bins of consecutive points).</summary>
    public const int DefaultOrder = 3;

    private readonly int _levels;
    private readonly int _order;
    private readonly bool[][] _seen;
    private readonly int[] _recent;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private long _count;

    /// <summary>
    /// With a known range (NAB hands CAD OSE the file's inputMin/inputMax up front): values are binned in
    /// [<paramref name="knownMin"/>, <paramref name="knownMax"/>] from the first point, so early range growth is not novelty.
    /// The product cannot know a future range and uses the running range (the other constructor).
    /// </summary>
    public ContextualNoveltyDetector(int levels, int order, double knownMin, double knownMax)
        : this(levels, order)
    {
        _min = knownMin;
        _max = knownMax;
    }

    public ContextualNoveltyDetector(int levels = DefaultLevels, int order = DefaultOrder)
    {
        if (levels < 2 || order < 1 || Math.Pow(levels, order) > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(levels), string.Create(CultureInfo.InvariantCulture, $"Need levels ≥ 2, order ≥ 1 and levels^order ≤ 2^20 (got {levels}, {order})."));
        }

        _levels = levels;
        _order = order;
        _seen = new bool[order][];
        int size = 1;
        for (int k = 0; k < order; k++)
        {
            size *= levels;
            _seen[k] = new bool[size];
        }

        _recent = new int[order];
    }

    /// <summary>Bytes of state per series: the occurrence tables, the ring of bins and the running range.</summary>
    public int StateBytes => _seen.Sum(t => t.Length) + (_recent.Length * sizeof(int)) + (3 * sizeof(double));

    /// <summary>The novelty of <paramref name="value"/> in its context, in [0, 1].</summary>
    public double Add(double value)
    {
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
        double range = _max - _min;
        int bin = range > 0 ? Math.Min(_levels - 1, (int)((value - _min) / range * _levels)) : 0;
        _recent[(int)(_count % _order)] = bin;
        _count++;

        double novel = 0;
        double weights = 0;
        int index = 0;
        int available = (int)Math.Min(_count, _order);
        for (int k = 0; k < available; k++)
        {
            int back = _recent[(int)((_count - 1 - k) % _order)];
            index = (index * _levels) + back;
            double weight = k + 1;
            weights += weight;
            if (!_seen[k][index])
            {
                novel += weight;
                _seen[k][index] = true;
            }
        }

        return novel / weights;
    }
}
