using System.Globalization;

namespace ObservaCost.Storage.Query;

/// <summary>The functions a query can apply to a field, with InfluxQL's meaning on every backend.</summary>
public enum AggregateFunction
{
    /// <summary>No aggregate: raw points.</summary>
    None,
    Mean,
    Max,
    Min,
    Sum,
    Count,
    /// <summary>The value with the latest time in the group.</summary>
    Last,
    /// <summary>
    /// The trapezoid area under the group's points (merged in time order), in value × <see cref="FieldSelection.IntegralUnit"/>.
    /// With GROUP BY time, a pair of points that straddles a window boundary is split at the boundary by linear
    /// interpolation, as InfluxDB does. Group to one series (e.g. by GPU UUID) for the area of that series.
    /// </summary>
    Integral,
    /// <summary>Nearest-rank percentile: the sorted value at index floor(n × p / 100 + 0.5) − 1.</summary>
    Percentile,
}

/// <summary>How GROUP BY time fills windows without data.</summary>
public enum FillMode
{
    /// <summary>Windows without data are left out.</summary>
    None,
    /// <summary>Windows without data are returned with null values.</summary>
    Null,
    /// <summary>Windows without data are returned with zero values.</summary>
    Zero,
}

/// <summary>One selected column: a function of a field, named by <see cref="Alias"/>.</summary>
public sealed record FieldSelection
{
    public required AggregateFunction Function { get; init; }

    public required string Field { get; init; }

    /// <summary>The column name in results.</summary>
    public required string Alias { get; init; }

    /// <summary>For <see cref="AggregateFunction.Percentile"/>: the percentile, 0 to 100.</summary>
    public double Percentile { get; init; }

    /// <summary>For <see cref="AggregateFunction.Integral"/>: the time unit of the area (1 s turns watts into joules).</summary>
    public TimeSpan IntegralUnit { get; init; } = TimeSpan.FromSeconds(1);
}

public enum TagOperator
{
    /// <summary>The tag equals one of the values (an empty value matches series without the tag).</summary>
    In,
    /// <summary>The tag equals none of the values.</summary>
    NotIn,
}

/// <summary>A filter on one tag key. Values are matched literally, never interpreted.</summary>
public sealed record TagFilter(string Key, TagOperator Operator, IReadOnlyList<string> Values);

/// <summary>
/// A typed query over one measurement. Build it with <see cref="TimeSeriesQueryBuilder"/>; both backends answer it the
/// same way.
/// </summary>
public sealed record TimeSeriesQuery
{
    public required string Measurement { get; init; }

    public required IReadOnlyList<FieldSelection> Selections { get; init; }

    /// <summary>Inclusive start, nanoseconds since the Unix epoch.</summary>
    public required long FromNanoseconds { get; init; }

    /// <summary>Exclusive end, nanoseconds since the Unix epoch.</summary>
    public required long ToNanoseconds { get; init; }

    /// <summary>GROUP BY time window, or null.</summary>
    public TimeSpan? Interval { get; init; }

    public IReadOnlyList<string> GroupByTags { get; init; } = [];

    public IReadOnlyList<TagFilter> TagFilters { get; init; } = [];

    public FillMode Fill { get; init; } = FillMode.None;

    /// <summary>True when the selections are raw fields.</summary>
    public bool IsRaw => Selections.Count > 0 && Selections[0].Function == AggregateFunction.None;

    public long IntervalNanoseconds => Interval is { } i ? i.Ticks * 100 : 0;

    public override string ToString() => InfluxQlRenderer.Render(this);
}

/// <summary>Builds a <see cref="TimeSeriesQuery"/>, checking every argument.</summary>
public sealed class TimeSeriesQueryBuilder
{
    private readonly string _measurement;
    private readonly List<FieldSelection> _selections = [];
    private readonly List<string> _groupBy = [];
    private readonly List<TagFilter> _filters = [];
    private long? _from;
    private long? _to;
    private TimeSpan? _interval;
    private FillMode _fill = FillMode.None;

    public TimeSeriesQueryBuilder(string measurement)
    {
        ArgumentException.ThrowIfNullOrEmpty(measurement);
        _measurement = measurement;
    }

    public static TimeSeriesQueryBuilder From(string measurement) => new(measurement);

    /// <summary>Selects a raw field (no aggregate).</summary>
    public TimeSeriesQueryBuilder Field(string field, string? alias = null) =>
        Add(new FieldSelection { Function = AggregateFunction.None, Field = field, Alias = alias ?? field });

    public TimeSeriesQueryBuilder Mean(string field, string? alias = null) => Aggregate(AggregateFunction.Mean, field, alias);

    public TimeSeriesQueryBuilder Max(string field, string? alias = null) => Aggregate(AggregateFunction.Max, field, alias);

    public TimeSeriesQueryBuilder Min(string field, string? alias = null) => Aggregate(AggregateFunction.Min, field, alias);

    public TimeSeriesQueryBuilder Sum(string field, string? alias = null) => Aggregate(AggregateFunction.Sum, field, alias);

    public TimeSeriesQueryBuilder Count(string field, string? alias = null) => Aggregate(AggregateFunction.Count, field, alias);

    public TimeSeriesQueryBuilder Last(string field, string? alias = null) => Aggregate(AggregateFunction.Last, field, alias);

    public TimeSeriesQueryBuilder Integral(string field, TimeSpan unit, string? alias = null)
    {
        if (unit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(unit), unit, "The integral unit must be positive.");
        }

        return Add(new FieldSelection { Function = AggregateFunction.Integral, Field = field, Alias = alias ?? "integral_" + field, IntegralUnit = unit });
    }

    public TimeSeriesQueryBuilder Percentile(string field, double percentile, string? alias = null)
    {
        if (!(percentile is > 0 and <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (0, 100].");
        }

        return Add(new FieldSelection
        {
            Function = AggregateFunction.Percentile,
            Field = field,
            Alias = alias ?? string.Create(CultureInfo.InvariantCulture, $"p{percentile}_{field}"),
            Percentile = percentile,
        });
    }

    public TimeSeriesQueryBuilder Aggregate(AggregateFunction function, string field, string? alias = null)
    {
        if (function is AggregateFunction.None or AggregateFunction.Integral or AggregateFunction.Percentile)
        {
            throw new ArgumentException($"Use the dedicated builder method for {function}.", nameof(function));
        }

        return Add(new FieldSelection
        {
            Function = function,
            Field = field,
            Alias = alias ?? function.ToString().ToLowerInvariant() + "_" + field,
        });
    }

    /// <summary>The time range [from, to).</summary>
    public TimeSeriesQueryBuilder Between(DateTimeOffset from, DateTimeOffset to) =>
        Between(LineProtocol.UnixTime.ToNanoseconds(from), LineProtocol.UnixTime.ToNanoseconds(to));

    /// <summary>The time range [from, to) in nanoseconds since the Unix epoch.</summary>
    public TimeSeriesQueryBuilder Between(long fromNanoseconds, long toNanoseconds)
    {
        if (toNanoseconds <= fromNanoseconds)
        {
            throw new ArgumentException("The end of the time range must be after its start.", nameof(toNanoseconds));
        }

        _from = fromNanoseconds;
        _to = toNanoseconds;
        return this;
    }

    public TimeSeriesQueryBuilder GroupByTime(TimeSpan interval, FillMode fill = FillMode.None)
    {
        if (interval < TimeSpan.FromMilliseconds(1) || interval.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "The window must be a whole number of milliseconds.");
        }

        _interval = interval;
        _fill = fill;
        return this;
    }

    public TimeSeriesQueryBuilder GroupBy(params string[] tagKeys)
    {
        foreach (string key in tagKeys)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (!_groupBy.Contains(key, StringComparer.Ordinal))
            {
                _groupBy.Add(key);
            }
        }

        return this;
    }

    /// <summary>Keeps series whose tag equals <paramref name="value"/> (empty: series without the tag).</summary>
    public TimeSeriesQueryBuilder WhereTag(string key, string value) => WhereTagIn(key, value);

    public TimeSeriesQueryBuilder WhereTagIn(string key, params string[] values) => Filter(key, TagOperator.In, values);

    public TimeSeriesQueryBuilder WhereTagNot(string key, params string[] values) => Filter(key, TagOperator.NotIn, values);

    public TimeSeriesQuery Build()
    {
        if (_selections.Count == 0)
        {
            throw new InvalidOperationException("A query selects at least one field.");
        }

        if (_from is null || _to is null)
        {
            throw new InvalidOperationException("A query needs a time range (Between).");
        }

        bool raw = _selections[0].Function == AggregateFunction.None;
        if (_selections.Any(s => (s.Function == AggregateFunction.None) != raw))
        {
            throw new InvalidOperationException("A query cannot mix raw fields and aggregates.");
        }

        if (raw && _interval is not null)
        {
            throw new InvalidOperationException("GROUP BY time needs aggregates.");
        }

        if (_selections.Select(s => s.Alias).Distinct(StringComparer.Ordinal).Count() != _selections.Count)
        {
            throw new InvalidOperationException("Column aliases must be distinct.");
        }

        return new TimeSeriesQuery
        {
            Measurement = _measurement,
            Selections = _selections.ToArray(),
            FromNanoseconds = _from.Value,
            ToNanoseconds = _to.Value,
            Interval = _interval,
            GroupByTags = _groupBy.ToArray(),
            TagFilters = _filters.ToArray(),
            Fill = _interval is null ? FillMode.None : _fill,
        };
    }

    private TimeSeriesQueryBuilder Filter(string key, TagOperator op, string[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (values.Length == 0)
        {
            throw new ArgumentException("A tag filter needs at least one value.", nameof(values));
        }

        foreach (string v in values)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(values));
        }

        _filters.Add(new TagFilter(key, op, values.ToArray()));
        return this;
    }

    private TimeSeriesQueryBuilder Add(FieldSelection selection)
    {
        ArgumentException.ThrowIfNullOrEmpty(selection.Field);
        ArgumentException.ThrowIfNullOrEmpty(selection.Alias);
        if (string.Equals(selection.Alias, "time", StringComparison.Ordinal))
        {
            throw new ArgumentException("'time' is reserved.", nameof(selection));
        }

        _selections.Add(selection);
        return this;
    }
}
