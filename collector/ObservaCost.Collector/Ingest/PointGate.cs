using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Checks a point against the ingest limits before it is accepted: timestamp window, tag count and length, the number
/// of distinct measurements, the number of distinct series per measurement (a label-cardinality explosion is refused
/// point by point, existing series keep flowing) and, for line protocol, each field's type against the type the
/// measurement's field already has (InfluxDB's "field type conflict"), within one body and across bodies.
/// </summary>
/// <remarks>
/// Every check is O(1) per point (plus O(fields) for field types). Forgetting is amortised: when a table is full, the
/// entries not seen within <see cref="IngestLimitsOptions.SeriesWindow"/> are swept at most once per
/// <see cref="SweepInterval"/>, never once per refused point. A measurement not written for a window is forgotten with
/// its series and field types. The tables live in memory: after a restart they fill again from the points that come.
/// </remarks>
public sealed class PointGate
{
    private readonly IngestLimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<ulong, MeasurementState> _measurements = new();
    private readonly Lock _measurementsLock = new();
    private long _lastMeasurementSweep;

    public PointGate(IOptions<IngestLimitsOptions> limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits.Value;
        _time = time;
        _lastMeasurementSweep = time.GetTimestamp();
    }

    /// <summary>The least time between two sweeps of one full table: a tenth of the series window.</summary>
    public TimeSpan SweepInterval => _limits.SeriesWindow / 10;

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

        return Check(measurement, measurementHash, seriesHash, tags.Count, maxTagValue, longTag, timestampNanoseconds, default, default);
    }

    /// <summary>
    /// The same check for a line summarised by <see cref="LineProtocolParser.Scan"/>, without building its strings,
    /// plus its field types.
    /// </summary>
    public string? Check(in LineSummary line, ReadOnlySpan<byte> body) =>
        Check(null, line.MeasurementHash, line.SeriesHash, line.TagCount, line.MaxTagValueBytes, null, line.TimestampNanoseconds,
            body.Slice(line.MeasurementOffset, line.MeasurementLength), body.Slice(line.FieldsOffset, line.FieldsLength));

    private string? Check(string? measurement, ulong measurementHash, ulong seriesHash, int tagCount, int maxTagValue, string? longTag, long timestampNanoseconds,
        ReadOnlySpan<byte> rawMeasurement, ReadOnlySpan<byte> rawFields)
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

        long now = _time.GetTimestamp();
        MeasurementState? state = FindOrAddMeasurement(measurementHash, now);
        if (state is null)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"measurement '{measurement ?? Encoding.UTF8.GetString(rawMeasurement)}' would be one more than the limit of {_limits.MaxMeasurements} measurements (Collector:Limits:MaxMeasurements)");
        }

        if (!rawFields.IsEmpty && state.CheckFields(rawFields, _limits.MaxFieldsPerMeasurement) is { } fieldProblem)
        {
            return fieldProblem.Describe(measurement ?? Encoding.UTF8.GetString(rawMeasurement), _limits.MaxFieldsPerMeasurement);
        }

        if (!state.Series.Admit(seriesHash, now, _time, _limits.SeriesWindow, SweepInterval, _limits.MaxSeriesPerMeasurement))
        {
            string name = measurement ?? Encoding.UTF8.GetString(rawMeasurement);
            return string.Create(CultureInfo.InvariantCulture, $"measurement '{name}' already has {_limits.MaxSeriesPerMeasurement} series (label-cardinality limit); this point would add another");
        }

        if (!rawFields.IsEmpty)
        {
            state.RecordFields(rawFields);
        }

        Volatile.Write(ref state.LastSeen, now);
        return null;
    }

    private MeasurementState? FindOrAddMeasurement(ulong hash, long now)
    {
        if (_measurements.TryGetValue(hash, out MeasurementState? state))
        {
            return state;
        }

        lock (_measurementsLock)
        {
            if (_measurements.TryGetValue(hash, out state))
            {
                return state;
            }

            if (_measurements.Count >= _limits.MaxMeasurements && _time.GetElapsedTime(_lastMeasurementSweep, now) >= SweepInterval)
            {
                _lastMeasurementSweep = now;
                foreach (KeyValuePair<ulong, MeasurementState> entry in _measurements)
                {
                    if (_time.GetElapsedTime(Volatile.Read(ref entry.Value.LastSeen), now) > _limits.SeriesWindow)
                    {
                        _measurements.TryRemove(entry.Key, out _);
                    }
                }
            }

            if (_measurements.Count >= _limits.MaxMeasurements)
            {
                return null;
            }

            state = new MeasurementState(now);
            _measurements[hash] = state;
            return state;
        }
    }

    /// <summary>Why a point's fields are refused: a type conflict, or one field key too many.</summary>
    private readonly record struct FieldProblem(string Field, FieldKind Input, FieldKind? Existing, int Known)
    {
        public string Describe(string measurement, int maxFields) => Existing is { } existing
            ? FieldKinds.Conflict(Field, measurement, Input, existing)
            : string.Create(CultureInfo.InvariantCulture,
                $"measurement '{measurement}' already has {Known} field keys; the field '{Field}' would be one more than the limit of {maxFields} (Collector:Limits:MaxFieldsPerMeasurement)");
    }

    private sealed class MeasurementState(long now)
    {
        private readonly ConcurrentDictionary<ulong, FieldKind> _fieldKinds = new();

        public long LastSeen = now;

        public SeriesSet Series { get; } = new();

        public FieldProblem? CheckFields(ReadOnlySpan<byte> fields, int maxFields)
        {
            int added = 0;
            foreach (FieldKey field in LineProtocolParser.EnumerateFields(fields))
            {
                if (_fieldKinds.TryGetValue(SeriesHash.Of(field.RawKey), out FieldKind existing))
                {
                    if (existing != field.Kind)
                    {
                        return new FieldProblem(Encoding.UTF8.GetString(field.RawKey), field.Kind, existing, 0);
                    }
                }
                else if (_fieldKinds.Count + ++added > maxFields)
                {
                    return new FieldProblem(Encoding.UTF8.GetString(field.RawKey), field.Kind, null, _fieldKinds.Count);
                }
            }

            return null;
        }

        public void RecordFields(ReadOnlySpan<byte> fields)
        {
            foreach (FieldKey field in LineProtocolParser.EnumerateFields(fields))
            {
                _fieldKinds.TryAdd(SeriesHash.Of(field.RawKey), field.Kind);
            }
        }
    }

    /// <summary>The series of one measurement and when each was last seen; a lock guards a plain dictionary.</summary>
    private sealed class SeriesSet
    {
        private readonly Dictionary<ulong, long> _lastSeen = [];
        private readonly Lock _lock = new();
        private long _lastSweep = long.MinValue;

        public bool Admit(ulong hash, long now, TimeProvider time, TimeSpan window, TimeSpan sweepInterval, int maxSeries)
        {
            lock (_lock)
            {
                ref long seen = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_lastSeen, hash);
                if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref seen))
                {
                    seen = now;
                    return true;
                }

                if (_lastSeen.Count >= maxSeries && (_lastSweep == long.MinValue || time.GetElapsedTime(_lastSweep, now) >= sweepInterval))
                {
                    // At most once per interval, however many points are refused meanwhile.
                    _lastSweep = now;
                    foreach (KeyValuePair<ulong, long> entry in _lastSeen)
                    {
                        if (time.GetElapsedTime(entry.Value, now) > window)
                        {
                            _lastSeen.Remove(entry.Key);
                        }
                    }
                }

                if (_lastSeen.Count >= maxSeries)
                {
                    return false;
                }

                _lastSeen[hash] = now;
                return true;
            }
        }
    }
}
