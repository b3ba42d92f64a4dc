using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Checks a point against the ingest limits before it is accepted: timestamp window, tag count and length, and the
/// number of distinct series per measurement (a label-cardinality explosion is refused point by point, existing
/// series keep flowing).
/// </summary>
public sealed class PointGate
{
    private readonly IngestLimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<ulong, SeriesSet> _series = new();

    public PointGate(IOptions<IngestLimitsOptions> limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits.Value;
        _time = time;
    }

    /// <summary>Returns null if the point may be accepted, else the reason it is refused.</summary>
    public string? Check(string measurement, IReadOnlyList<KeyValuePair<string, string>> tags, long timestampNanoseconds)
    {
        ArgumentNullException.ThrowIfNull(measurement);
        ArgumentNullException.ThrowIfNull(tags);
        ulong measurementHash = SeriesHash.Of(Encoding.UTF8.GetBytes(measurement));
        ulong seriesHash = measurementHash;
        int maxTagValue = 0;
        string? longTag = null;
        foreach (KeyValuePair<string, string> tag in tags)
        {
            seriesHash += SeriesHash.Of(Encoding.UTF8.GetBytes(tag.Key + "=" + tag.Value));
            if (tag.Value.Length > maxTagValue)
            {
                maxTagValue = tag.Value.Length;
                longTag = tag.Key;
            }
        }

        return Check(measurement, measurementHash, seriesHash, tags.Count, maxTagValue, longTag, timestampNanoseconds);
    }

    /// <summary>The same check for a line summarised by <see cref="LineProtocolParser.Scan"/>, without building its strings.</summary>
    public string? Check(in LineSummary line, ReadOnlySpan<byte> body) =>
        Check(null, line.MeasurementHash, line.SeriesHash, line.TagCount, line.MaxTagValueBytes, null, line.TimestampNanoseconds,
            body.Slice(line.MeasurementOffset, line.MeasurementLength));

    private string? Check(string? measurement, ulong measurementHash, ulong seriesHash, int tagCount, int maxTagValue, string? longTag, long timestampNanoseconds, ReadOnlySpan<byte> rawMeasurement = default)
    {
        long nowNs = UnixTime.ToNanoseconds(_time.GetUtcNow());
        if (timestampNanoseconds > nowNs + (_limits.MaxFutureSkew.Ticks * 100))
        {
            return string.Create(CultureInfo.InvariantCulture, $"timestamp {UnixTime.FromNanoseconds(timestampNanoseconds):O} is more than {_limits.MaxFutureSkew} ahead of the collector's clock");
        }

        if (timestampNanoseconds < nowNs - (_limits.MaxAge.Ticks * 100))
        {
            return string.Create(CultureInfo.InvariantCulture, $"timestamp {UnixTime.FromNanoseconds(timestampNanoseconds):O} is older than {_limits.MaxAge.TotalDays:0.#} days");
        }

        if (tagCount > _limits.MaxTagsPerPoint)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{tagCount} tags, more than the limit of {_limits.MaxTagsPerPoint}");
        }

        if (maxTagValue > _limits.MaxTagValueLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the tag '{longTag ?? "value"}' is {maxTagValue} characters long, more than the limit of {_limits.MaxTagValueLength}");
        }

        SeriesSet set = _series.GetOrAdd(measurementHash, static _ => new SeriesSet());
        if (set.Admit(seriesHash, _time.GetTimestamp(), _time, _limits))
        {
            return null;
        }

        string name = measurement ?? Encoding.UTF8.GetString(rawMeasurement);
        return string.Create(CultureInfo.InvariantCulture, $"measurement '{name}' already has {_limits.MaxSeriesPerMeasurement} series (label-cardinality limit); this point would add another");
    }

    private sealed class SeriesSet
    {
        private readonly ConcurrentDictionary<ulong, long> _lastSeen = new();
        private readonly Lock _sweep = new();

        public bool Admit(ulong hash, long now, TimeProvider time, IngestLimitsOptions limits)
        {
            if (_lastSeen.TryGetValue(hash, out _))
            {
                _lastSeen[hash] = now;
                return true;
            }

            if (_lastSeen.Count >= limits.MaxSeriesPerMeasurement)
            {
                lock (_sweep)
                {
                    foreach (KeyValuePair<ulong, long> entry in _lastSeen)
                    {
                        if (time.GetElapsedTime(entry.Value, now) > limits.SeriesWindow)
                        {
                            _lastSeen.TryRemove(entry.Key, out _);
                        }
                    }
                }

                if (_lastSeen.Count >= limits.MaxSeriesPerMeasurement)
                {
                    return false;
                }
            }

            _lastSeen[hash] = now;
            return true;
        }
    }
}
