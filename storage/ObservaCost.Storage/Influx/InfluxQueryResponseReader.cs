using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Influx;

/// <summary>Reads InfluxDB's JSON query answer (chunked or not) into series, merging a series split over chunks.</summary>
internal static class InfluxQueryResponseReader
{
    public static async Task ReadAsync(Stream stream, long maxBytes, Dictionary<string, SeriesBuilder> series, string influxQl, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new StoreRequestException(string.Create(CultureInfo.InvariantCulture,
                    $"The InfluxDB answer is larger than Storage:InfluxDb:MaxResponseBytes ({maxBytes} bytes); narrow the query. (query: {influxQl})"));
            }

            buffer.Write(chunk, 0, read);
        }

        Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), series, influxQl);
    }

    internal static void Parse(ReadOnlySpan<byte> json, Dictionary<string, SeriesBuilder> series, string influxQl)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            using JsonDocument doc = JsonDocument.ParseValue(ref reader);
            JsonElement root = doc.RootElement;
            if (root.TryGetProperty("error", out JsonElement topError))
            {
                throw new StoreRequestException($"InfluxDB query error: {topError.GetString()} (query: {influxQl})");
            }

            if (!root.TryGetProperty("results", out JsonElement results))
            {
                continue;
            }

            foreach (JsonElement result in results.EnumerateArray())
            {
                if (result.TryGetProperty("error", out JsonElement error))
                {
                    throw new StoreRequestException($"InfluxDB query error: {error.GetString()} (query: {influxQl})");
                }

                if (!result.TryGetProperty("series", out JsonElement seriesArray))
                {
                    continue;
                }

                foreach (JsonElement s in seriesArray.EnumerateArray())
                {
                    AddSeries(s, series);
                }
            }
        }
    }

    private static void AddSeries(JsonElement s, Dictionary<string, SeriesBuilder> series)
    {
        // SHOW SERIES answers blocks without a name.
        string name = s.TryGetProperty("name", out JsonElement nameElement) ? nameElement.GetString() ?? string.Empty : string.Empty;
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (s.TryGetProperty("tags", out JsonElement tagObject))
        {
            foreach (JsonProperty tag in tagObject.EnumerateObject())
            {
                tags[tag.Name] = tag.Value.GetString() ?? string.Empty;
            }
        }

        string key = name + "\u0001" + string.Join("\u0001", tags.Select(t => t.Key + "\u0002" + t.Value));
        if (!series.TryGetValue(key, out SeriesBuilder? builder))
        {
            builder = new SeriesBuilder(name, tags);
            series.Add(key, builder);
        }

        string[] columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? string.Empty).ToArray();
        if (!s.TryGetProperty("values", out JsonElement values))
        {
            return;
        }

        // A row keeps its cells in the block's column order; the time cell (first, when the column is "time") is not a cell.
        bool timeFirst = columns.Length > 0 && string.Equals(columns[0], "time", StringComparison.Ordinal);
        foreach (JsonElement row in values.EnumerateArray())
        {
            long time = 0;
            var cells = new ResultValue[columns.Length];
            int i = 0;
            foreach (JsonElement cell in row.EnumerateArray())
            {
                if (i == 0 && timeFirst)
                {
                    time = cell.GetInt64();
                }
                else if (i < columns.Length)
                {
                    cells[i] = ToValue(cell);
                }

                i++;
            }

            builder.Rows.Add(new SeriesRow(time, columns, cells));
        }
    }

    private static ResultValue ToValue(JsonElement cell) => cell.ValueKind switch
    {
        JsonValueKind.Null => ResultValue.Null,
        JsonValueKind.True => ResultValue.FromBoolean(true),
        JsonValueKind.False => ResultValue.FromBoolean(false),
        JsonValueKind.String => ResultValue.FromString(cell.GetString()!),
        JsonValueKind.Number when cell.TryGetInt64(out long integer) && IsIntegerText(cell) => ResultValue.FromInteger(integer),
        JsonValueKind.Number => ResultValue.FromFloat(cell.GetDouble()),
        _ => ResultValue.FromString(cell.GetRawText()),
    };

    private static bool IsIntegerText(JsonElement cell) => JsonMarshal.GetRawUtf8Value(cell).IndexOfAny(".eE"u8) < 0;
}

/// <summary>One row as it arrived: its time and its cells in the order of its block's <paramref name="Columns"/>.</summary>
internal readonly record struct SeriesRow(long Time, string[] Columns, ResultValue[] Cells);

/// <summary>Collects the rows of one series as they arrive.</summary>
internal sealed class SeriesBuilder(string name, SortedDictionary<string, string> tags)
{
    public SortedDictionary<string, string> Tags => tags;

    public List<SeriesRow> Rows { get; } = [];

    public ResultSeries Build(TimeSeriesQuery query, string[] columns, bool normaliseTime)
    {
        var rows = new List<ResultRow>(Rows.Count);
        string[]? blockColumns = null;
        int[] map = [];
        bool ascending = true;
        foreach (SeriesRow row in Rows)
        {
            if (!ReferenceEquals(row.Columns, blockColumns))
            {
                blockColumns = row.Columns;
                map = ColumnMap(blockColumns, columns);
            }

            var values = new ResultValue[columns.Length];
            for (int c = 0; c < columns.Length; c++)
            {
                values[c] = map[c] < 0 ? ResultValue.Null : row.Cells[map[c]];
            }

            long time = normaliseTime ? query.FromNanoseconds : row.Time;
            ascending &= rows.Count == 0 || rows[^1].TimeNanoseconds < time;
            rows.Add(new ResultRow(time, values));
        }

        // Rows that arrived in strictly increasing time need neither merging nor sorting: both would leave them as they are.
        if (!ascending)
        {
            if (!query.IsRaw)
            {
                // An aggregate answers one row per window; InfluxDB 1.x may return a window's row in a later series block.
                rows = rows.GroupBy(r => r.TimeNanoseconds).Select(g => Merge(g, columns.Length)).ToList();
            }

            rows.Sort((a, b) => a.TimeNanoseconds.CompareTo(b.TimeNanoseconds));
        }

        var allTags = new SortedDictionary<string, string>(tags, StringComparer.Ordinal);
        foreach (string key in query.GroupByTags)
        {
            allTags.TryAdd(key, string.Empty);
        }

        return new ResultSeries(name, allTags, columns, rows);
    }

    /// <summary>
    /// For each wanted column, the index of its cell in a block with <paramref name="blockColumns"/>, or -1: the last
    /// column of that name, never the leading time column.
    /// </summary>
    private static int[] ColumnMap(string[] blockColumns, string[] columns)
    {
        bool timeFirst = blockColumns.Length > 0 && string.Equals(blockColumns[0], "time", StringComparison.Ordinal);
        var map = new int[columns.Length];
        for (int c = 0; c < columns.Length; c++)
        {
            map[c] = -1;
            for (int i = blockColumns.Length - 1; i >= (timeFirst ? 1 : 0); i--)
            {
                if (string.Equals(blockColumns[i], columns[c], StringComparison.Ordinal))
                {
                    map[c] = i;
                    break;
                }
            }
        }

        return map;
    }

    private static ResultRow Merge(IGrouping<long, ResultRow> rows, int columns)
    {
        ResultRow first = rows.First();
        if (!rows.Skip(1).Any())
        {
            return first;
        }

        var values = new ResultValue[columns];
        foreach (ResultRow row in rows)
        {
            for (int c = 0; c < columns; c++)
            {
                if (values[c].IsNull)
                {
                    values[c] = row.Values[c];
                }
            }
        }

        return new ResultRow(rows.Key, values);
    }
}
