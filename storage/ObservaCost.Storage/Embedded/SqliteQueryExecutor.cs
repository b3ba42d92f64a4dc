using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Embedded;

/// <summary>
/// Translates a <see cref="TimeSeriesQuery"/> into SQL with InfluxQL's semantics: one statement per selected column,
/// aggregated in SQLite (window functions for last and percentile, paired rows for the integral), then merged by group
/// and window. Names and values are always bound as parameters.
/// </summary>
internal static class SqliteQueryExecutor
{
    public static async Task<QueryResult> ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, TimeSeriesQuery query, CancellationToken cancellationToken)
    {
        int groupCount = query.GroupByTags.Count;
        var groups = new Dictionary<string, Group>(StringComparer.Ordinal);
        Dictionary<string, FieldKind> kinds = query.IsRaw ? await LoadKindsAsync(connection, transaction, query, cancellationToken) : [];
        for (int column = 0; column < query.Selections.Count; column++)
        {
            FieldSelection selection = query.Selections[column];
            await using SqliteCommand command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = BuildSql(query, selection, command.Parameters);
            await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            FieldKind? kind = kinds.TryGetValue(selection.Field, out FieldKind k) ? k : null;
            while (await reader.ReadAsync(cancellationToken))
            {
                var tagValues = new string[groupCount];
                for (int g = 0; g < groupCount; g++)
                {
                    tagValues[g] = reader.GetString(g);
                }

                string key = string.Join("\u0001", tagValues);
                if (!groups.TryGetValue(key, out Group? group))
                {
                    group = new Group(tagValues);
                    groups.Add(key, group);
                }

                long time = reader.GetInt64(groupCount);
                long seriesId = query.IsRaw ? reader.GetInt64(groupCount + 2) : 0;
                if (!group.Rows.TryGetValue((time, seriesId), out ResultValue[]? values))
                {
                    values = new ResultValue[query.Selections.Count];
                    group.Rows.Add((time, seriesId), values);
                }

                values[column] = ReadValue(reader, groupCount + 1, kind);
            }
        }

        string[] columns = query.Selections.Select(s => s.Alias).ToArray();
        var series = new List<ResultSeries>(groups.Count);
        foreach (Group group in groups.Values)
        {
            if (query.Fill != FillMode.None)
            {
                Fill(query, group);
            }

            var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (int g = 0; g < groupCount; g++)
            {
                tags[query.GroupByTags[g]] = group.TagValues[g];
            }

            var rows = group.Rows.Select(r => new ResultRow(r.Key.Time, r.Value)).ToList();
            series.Add(new ResultSeries(query.Measurement, tags, columns, rows));
        }

        series.Sort((a, b) => string.CompareOrdinal(a.TagKey, b.TagKey));
        return new QueryResult(series);
    }

    private static void Fill(TimeSeriesQuery query, Group group)
    {
        long interval = query.IntervalNanoseconds;
        long start = FloorDiv(query.FromNanoseconds, interval) * interval;
        for (long b = start; b < query.ToNanoseconds; b += interval)
        {
            if (!group.Rows.ContainsKey((b, 0)))
            {
                group.Rows.Add((b, 0), new ResultValue[query.Selections.Count]);
            }
        }

        foreach (ResultValue[] values in group.Rows.Values)
        {
            for (int c = 0; c < values.Length; c++)
            {
                if (values[c].IsNull && (query.Fill == FillMode.Zero || query.Selections[c].Function == AggregateFunction.Count))
                {
                    values[c] = ResultValue.FromInteger(0);
                }
            }
        }
    }

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);

    private static ResultValue ReadValue(SqliteDataReader reader, int ordinal, FieldKind? kind)
    {
        if (reader.IsDBNull(ordinal))
        {
            return ResultValue.Null;
        }

        object value = reader.GetValue(ordinal);
        return value switch
        {
            long l when kind == FieldKind.Boolean => ResultValue.FromBoolean(l != 0),
            long l => ResultValue.FromInteger(l),
            double d => ResultValue.FromFloat(d),
            string s => ResultValue.FromString(s),
            _ => ResultValue.FromString(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty),
        };
    }

    private static async Task<Dictionary<string, FieldKind>> LoadKindsAsync(SqliteConnection connection, SqliteTransaction transaction, TimeSeriesQuery query, CancellationToken cancellationToken)
    {
        var kinds = new Dictionary<string, FieldKind>(StringComparer.Ordinal);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT field, kind FROM field_type WHERE measurement = $m";
        command.Parameters.AddWithValue("$m", query.Measurement);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            kinds[reader.GetString(0)] = (FieldKind)reader.GetInt32(1);
        }

        return kinds;
    }

    /// <summary>Builds one statement whose rows are: group tag values…, time, value[, series id].</summary>
    internal static string BuildSql(TimeSeriesQuery query, FieldSelection selection, SqliteParameterCollection parameters)
    {
        parameters.AddWithValue("$m", query.Measurement);
        parameters.AddWithValue("$f", selection.Field);
        parameters.AddWithValue("$from", query.FromNanoseconds);
        parameters.AddWithValue("$to", query.ToNanoseconds);
        bool windowed = query.Interval is not null;
        if (windowed)
        {
            parameters.AddWithValue("$iv", query.IntervalNanoseconds);
        }

        var sql = new StringBuilder(1024);
        sql.Append("WITH pts AS (SELECT fv.series_id AS sid, fv.time_ns AS t, fv.value AS v");
        for (int g = 0; g < query.GroupByTags.Count; g++)
        {
            sql.Append(CultureInfo.InvariantCulture, $", COALESCE(g{g}.value, '') AS g{g}");
        }

        sql.Append(" FROM series s JOIN field_value fv ON fv.series_id = s.id AND fv.field = $f AND fv.time_ns >= $from AND fv.time_ns < $to");
        for (int g = 0; g < query.GroupByTags.Count; g++)
        {
            sql.Append(CultureInfo.InvariantCulture, $" LEFT JOIN series_tag g{g} ON g{g}.series_id = s.id AND g{g}.key = $gk{g}");
            parameters.AddWithValue("$gk" + g.ToString(CultureInfo.InvariantCulture), query.GroupByTags[g]);
        }

        sql.Append(" WHERE s.measurement = $m");
        for (int i = 0; i < query.TagFilters.Count; i++)
        {
            AppendFilter(sql, query.TagFilters[i], i, parameters);
        }

        sql.Append(')');

        string groupCols = string.Concat(Enumerable.Range(0, query.GroupByTags.Count).Select(g => string.Create(CultureInfo.InvariantCulture, $"g{g}, ")));
        string bucket = windowed ? "((t / $iv) * $iv)" : "$from";
        string partition = "PARTITION BY " + groupCols + bucket;
        switch (selection.Function)
        {
            case AggregateFunction.None:
                sql.Append(CultureInfo.InvariantCulture, $" SELECT {groupCols}t, v, sid FROM pts ORDER BY t, sid");
                break;
            case AggregateFunction.Mean or AggregateFunction.Sum or AggregateFunction.Count or AggregateFunction.Max or AggregateFunction.Min:
                string fn = selection.Function switch
                {
                    AggregateFunction.Mean => "AVG",
                    AggregateFunction.Sum => "SUM",
                    AggregateFunction.Count => "COUNT",
                    AggregateFunction.Max => "MAX",
                    _ => "MIN",
                };
                sql.Append(CultureInfo.InvariantCulture, $" SELECT {groupCols}{bucket} AS b, {fn}(v) FROM pts GROUP BY {groupCols}b");
                break;
            case AggregateFunction.Last:
                sql.Append(CultureInfo.InvariantCulture,
                    $" SELECT {groupCols}b, v FROM (SELECT {groupCols}{bucket} AS b, v, ROW_NUMBER() OVER ({partition} ORDER BY t DESC, sid DESC) AS rn FROM pts) WHERE rn = 1");
                break;
            case AggregateFunction.Percentile:
                parameters.AddWithValue("$p", selection.Percentile);
                sql.Append(CultureInfo.InvariantCulture,
                    $" SELECT {groupCols}b, v FROM (SELECT {groupCols}{bucket} AS b, v, ROW_NUMBER() OVER ({partition} ORDER BY v) AS rn, COUNT(*) OVER ({partition}) AS n FROM pts) WHERE rn = CAST(n * $p / 100.0 + 0.5 AS INTEGER)");
                break;
            case AggregateFunction.Integral:
                parameters.AddWithValue("$unit", (double)(selection.IntegralUnit.Ticks * 100));
                AppendIntegral(sql, groupCols, windowed);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(selection), selection.Function, "Unknown aggregate.");
        }

        return sql.ToString();
    }

    /// <summary>
    /// Trapezoid area over the group's points in time order. With windows, a pair that crosses a boundary is split
    /// there by linear interpolation: the part before goes to the earlier window, the rest to the later point's window
    /// (InfluxDB's integral reducer does the same).
    /// </summary>
    private static void AppendIntegral(StringBuilder sql, string groupCols, bool windowed)
    {
        string partitionByGroup = groupCols.Length == 0 ? string.Empty : "PARTITION BY " + groupCols.TrimEnd(' ', ',');
        sql.Append(CultureInfo.InvariantCulture,
            $", pairs AS (SELECT {groupCols}LAG(t) OVER w AS t0, CAST(LAG(v) OVER w AS REAL) AS v0, t AS t1, CAST(v AS REAL) AS v1 FROM pts WINDOW w AS ({partitionByGroup} ORDER BY t, sid))");
        if (!windowed)
        {
            sql.Append(CultureInfo.InvariantCulture,
                $" SELECT {groupCols}$from AS b, SUM(0.5 * (v0 + v1) * (t1 - t0)) / $unit FROM pairs WHERE t0 IS NOT NULL GROUP BY {groupCols}b");
            return;
        }

        const string Edge = "((t0 / $iv + 1) * $iv)";
        const string EdgeValue = "(v0 + (v1 - v0) * (" + Edge + " - t0) / (t1 - t0))";
        sql.Append(CultureInfo.InvariantCulture, $", parts AS (")
            .Append(CultureInfo.InvariantCulture, $"SELECT {groupCols}(t1 / $iv) * $iv AS b, 0.5 * (v0 + v1) * (t1 - t0) AS area FROM pairs WHERE t0 IS NOT NULL AND t0 / $iv = t1 / $iv")
            .Append(CultureInfo.InvariantCulture, $" UNION ALL SELECT {groupCols}(t0 / $iv) * $iv AS b, 0.5 * (v0 + {EdgeValue}) * ({Edge} - t0) AS area FROM pairs WHERE t0 IS NOT NULL AND t0 / $iv <> t1 / $iv")
            .Append(CultureInfo.InvariantCulture, $" UNION ALL SELECT {groupCols}(t1 / $iv) * $iv AS b, 0.5 * ({EdgeValue} + v1) * (t1 - {Edge}) AS area FROM pairs WHERE t0 IS NOT NULL AND t0 / $iv <> t1 / $iv)")
            .Append(CultureInfo.InvariantCulture, $" SELECT {groupCols}b, SUM(area) / $unit FROM parts GROUP BY {groupCols}b");
    }

    private static void AppendFilter(StringBuilder sql, TagFilter filter, int index, SqliteParameterCollection parameters)
    {
        string key = "$fk" + index.ToString(CultureInfo.InvariantCulture);
        parameters.AddWithValue(key, filter.Key);
        var names = new List<string>();
        bool matchesMissing = false;
        for (int j = 0; j < filter.Values.Count; j++)
        {
            if (filter.Values[j].Length == 0)
            {
                matchesMissing = true;
                continue;
            }

            string name = string.Create(CultureInfo.InvariantCulture, $"$fv{index}_{j}");
            parameters.AddWithValue(name, filter.Values[j]);
            names.Add(name);
        }

        sql.Append(filter.Operator == TagOperator.In ? " AND (" : " AND NOT (");
        bool any = false;
        if (names.Count > 0)
        {
            sql.Append(CultureInfo.InvariantCulture, $"s.id IN (SELECT series_id FROM series_tag WHERE key = {key} AND value IN ({string.Join(", ", names)}))");
            any = true;
        }

        if (matchesMissing)
        {
            if (any)
            {
                sql.Append(" OR ");
            }

            sql.Append(CultureInfo.InvariantCulture, $"NOT EXISTS (SELECT 1 FROM series_tag x WHERE x.series_id = s.id AND x.key = {key})");
        }

        sql.Append(')');
    }

    private sealed class Group(string[] tagValues)
    {
        public string[] TagValues { get; } = tagValues;

        public SortedDictionary<(long Time, long SeriesId), ResultValue[]> Rows { get; } = [];
    }
}
