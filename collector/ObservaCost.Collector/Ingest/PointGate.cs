using System.Collections.Concurrent;
using System.Globalization;
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
    private readonly ConcurrentDictionary<string, SeriesSet> _series = new(StringComparer.Ordinal);

    public PointGate(IOptions<IngestLimitsOptions> limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits.Value;
        _time = time;
    }

    /// <summary>Returns null if the point may be accepted, else the reason it is refused.</summary>
    public string? Check(string measurement, IReadOnlyList<KeyValuePair<string, string>> tags, long timestampNanoseconds)
    {
        ArgumentNullException.ThrowIfNull(tags);
        DateTimeOffset now = _time.GetUtcNow();
        long nowNs = UnixTime.ToNanoseconds(now);
        if (timestampNanoseconds > nowNs + (_limits.MaxFutureSkew.Ticks * 100))
        {
            return string.Create(CultureInfo.InvariantCulture, $"timestamp {UnixTime.FromNanoseconds(timestampNanoseconds):O} is more than {_limits.MaxFutureSkew} ahead of the collector's clock");
        }

        if (timestampNanoseconds < nowNs - (_limits.MaxAge.Ticks * 100))
        {
            return string.Create(CultureInfo.InvariantCulture, $"timestamp {UnixTime.FromNanoseconds(timestampNanoseconds):O} is older than {_limits.MaxAge.TotalDays:0.#} days");
        }

        if (tags.Count > _limits.MaxTagsPerPoint)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{tags.Count} tags, more than the limit of {_limits.MaxTagsPerPoint}");
        }

        ulong hash = Fnv.Start(measurement);
        foreach (KeyValuePair<string, string> tag in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (tag.Value.Length > _limits.MaxTagValueLength)
            {
                return string.Create(CultureInfo.InvariantCulture, $"the tag '{tag.Key}' is {tag.Value.Length} characters long, more than the limit of {_limits.MaxTagValueLength}");
            }

            hash = Fnv.Add(Fnv.Add(hash, tag.Key), tag.Value);
        }

        SeriesSet set = _series.GetOrAdd(measurement, _ => new SeriesSet());
        return set.Admit(hash, _time.GetTimestamp(), _time, _limits)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"measurement '{measurement}' already has {_limits.MaxSeriesPerMeasurement} series (label-cardinality limit); this point would add another");
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

    /// <summary>FNV-1a, 64-bit, over UTF-16 code units with a separator between strings.</summary>
    private static class Fnv
    {
        private const ulong Offset = 14695981039346656037UL;
        private const ulong Prime = 1099511628211UL;

        public static ulong Start(string text) => Add(Offset, text);

        public static ulong Add(ulong hash, string text)
        {
            foreach (char c in text)
            {
                hash = (hash ^ c) * Prime;
            }

            return (hash ^ 0xFFFF) * Prime;
        }
    }
}
