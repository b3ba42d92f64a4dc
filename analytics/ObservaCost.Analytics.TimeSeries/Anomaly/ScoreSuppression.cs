namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>
/// Passes a score only when it is higher than every score of the previous <c>window</c> points, and 0 otherwise: one
/// alert per episode instead of a train of alerts while an anomaly lasts, whatever threshold is applied later. A
/// sliding maximum over a monotonic deque makes each point O(1) amortised, with no allocation after construction.
/// </summary>
public sealed class ScoreSuppression
{
    private readonly int _window;
    private readonly double[] _values;
    private readonly long[] _positions;
    private int _head;
    private int _size;
    private long _position;

    public ScoreSuppression(int window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _window = window;
        _values = new double[window + 1];
        _positions = new long[window + 1];
    }

    public double Next(double score)
    {
        while (_size > 0 && _positions[_head] < _position - _window)
        {
            _head = (_head + 1) % _values.Length;
            _size--;
        }

        double recentMax = _size > 0 ? _values[_head] : double.NegativeInfinity;
        while (_size > 0 && _values[(_head + _size - 1) % _values.Length] <= score)
        {
            _size--;
        }

        int tail = (_head + _size) % _values.Length;
        _values[tail] = score;
        _positions[tail] = _position;
        _size++;
        _position++;
        return score > recentMax ? score : 0;
    }
}
