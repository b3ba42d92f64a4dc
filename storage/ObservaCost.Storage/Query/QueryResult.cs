using System.Globalization;

namespace ObservaCost.Storage.Query;

public enum ResultValueKind : byte
{
    Null,
    Float,
    Integer,
    Boolean,
    String,
}

/// <summary>One cell of a result: null, a number, a boolean or a string.</summary>
public readonly record struct ResultValue
{
    private ResultValue(ResultValueKind kind, double number, long integer, string? text)
    {
        Kind = kind;
        Number = number;
        Integer = integer;
        Text = text;
    }

    public static ResultValue Null => default;

    public ResultValueKind Kind { get; }

    /// <summary>The value as a double (integers and booleans widened); NaN for null and strings.</summary>
    public double Number { get; }

    public long Integer { get; }

    public string? Text { get; }

    public bool IsNull => Kind == ResultValueKind.Null;

    public static ResultValue FromFloat(double value) => new(ResultValueKind.Float, value, (long)value, null);

    public static ResultValue FromInteger(long value) => new(ResultValueKind.Integer, value, value, null);

    public static ResultValue FromBoolean(bool value) => new(ResultValueKind.Boolean, value ? 1 : 0, value ? 1 : 0, null);

    public static ResultValue FromString(string value) => new(ResultValueKind.String, double.NaN, 0, value);

    /// <summary>The numeric value, or null.</summary>
    public double? AsDouble() => Kind is ResultValueKind.Float or ResultValueKind.Integer or ResultValueKind.Boolean ? Number : null;

    public override string ToString() => Kind switch
    {
        ResultValueKind.Null => "null",
        ResultValueKind.Float => Number.ToString("R", CultureInfo.InvariantCulture),
        ResultValueKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        ResultValueKind.Boolean => Integer != 0 ? "true" : "false",
        _ => Text!,
    };
}

/// <summary>A row: a time and one value per selected column.</summary>
public sealed record ResultRow(long TimeNanoseconds, IReadOnlyList<ResultValue> Values)
{
    public DateTimeOffset Time => LineProtocol.UnixTime.FromNanoseconds(TimeNanoseconds);

    public ResultValue this[int column] => Values[column];
}

/// <summary>The rows of one group (one combination of GROUP BY tag values), ordered by time.</summary>
public sealed record ResultSeries(
    string Measurement,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Columns,
    IReadOnlyList<ResultRow> Rows)
{
    public int ColumnIndex(string column)
    {
        for (int i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new KeyNotFoundException($"No column '{column}' in the result (columns: {string.Join(", ", Columns)}).");
    }

    /// <summary>A stable text key of the tags, for ordering and lookups.</summary>
    public string TagKey => string.Join(",", Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value));
}

/// <summary>
/// The answer to a <see cref="TimeSeriesQuery"/>: one series per group, ordered by tag values. For aggregates
/// without GROUP BY time, each series has one row whose time is the start of the query range.
/// </summary>
public sealed record QueryResult(IReadOnlyList<ResultSeries> Series)
{
    public static QueryResult Empty { get; } = new([]);

    public ResultSeries? Find(params (string Key, string Value)[] tags) =>
        Series.FirstOrDefault(s => tags.All(t => s.Tags.TryGetValue(t.Key, out string? v) && string.Equals(v, t.Value, StringComparison.Ordinal)));
}
