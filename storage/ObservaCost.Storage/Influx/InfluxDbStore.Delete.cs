using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Influx;

/// <summary>
/// Range deletes that lose no series on influxd 1.x.
/// <para>
/// influxd 1.x (seen on 1.6.7; influxdata/influxdb#9185, #10502, #10504) drops from its index every series of the
/// measurement whose points are all in a cache snapshot being written to a TSM file while a <c>DELETE</c> runs, whatever
/// the range: the points stay on disk but reads stop seeing them until a restart, or until a point is written to the
/// series (which brings back all of them, including in-range points the delete did not reach, because the snapshot's
/// file was not yet in the set the delete tombstoned). Reproduced by
/// <c>tests/ObservaCost.Storage.Tests/Influx/InfluxDbRangeDeleteTests.cs</c>.
/// </para>
/// <para>
/// So a delete is: count the range (nothing in it: no <c>DELETE</c> is sent); record one point of each series the
/// delete touches (the last before the range, else the first after it, else the first in it); <c>DELETE</c>; list the
/// series (<c>SHOW SERIES</c>) and count the range. Every series with points outside the range still listed and nothing
/// left in the range: done. Otherwise the delete met a snapshot: write back the recorded point of each series with
/// points outside the range that vanished (an idempotent overwrite: same series, time and fields), and, the first time,
/// of each series with points only in the range that vanished (that brings back in-range points the delete left on
/// disk), then <c>DELETE</c> again, at most <see cref="MaxDeleteAttempts"/> times.
/// </para>
/// </summary>
public sealed partial class InfluxDbStore
{
    /// <summary>
    /// DELETEs sent for one range at most. Each one after the first follows a delete that met a cache snapshot (about
    /// 0.2 s at 300,000 points; the next try waits <c>RetryInitialDelay</c>); a snapshot starts once the cache has been
    /// cold for <c>cache-snapshot-write-cold-duration</c> or each time it fills, so five in a row do not all meet one.
    /// </summary>
    internal const int MaxDeleteAttempts = 5;

    public async Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(measurement);
        ArgumentNullException.ThrowIfNull(tags);

        // A delete may come before any write (a history import into a new store): InfluxDB refuses a DELETE on a
        // database that does not exist, so create it first, as a write would.
        await EnsureDatabaseAsync(cancellationToken);
        var from = new StringBuilder(" FROM ");
        InfluxQlRenderer.AppendIdentifier(from, measurement);
        var tagFilter = new StringBuilder();
        foreach (KeyValuePair<string, string> tag in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            InfluxQlRenderer.AppendIdentifier(tagFilter, tag.Key);
            tagFilter.Append(" = ");
            InfluxQlRenderer.AppendString(tagFilter, tag.Value);
            tagFilter.Append(" AND ");
        }

        long startNs = UnixTime.ToNanoseconds(rangeStart);
        long endNs = UnixTime.ToNanoseconds(rangeEnd);
        string table = from.ToString();
        string inRange = string.Create(CultureInfo.InvariantCulture, $"{table} WHERE {tagFilter}time >= {startNs} AND time < {endNs}");

        // A range that holds no point is not deleted at all: nothing to delete, and no DELETE to meet a snapshot.
        if (await CountAsync(inRange, cancellationToken) == 0)
        {
            return;
        }

        // One point of each series the delete touches, to write back if the delete drops the series.
        Dictionary<string, FieldType> fieldTypes = await FieldTypesAsync(table, cancellationToken);
        var mustSurvive = new Dictionary<string, RecordedPoint>(StringComparer.Ordinal);
        var onlyInRange = new Dictionary<string, RecordedPoint>(StringComparer.Ordinal);
        await FirstRowsAsync(string.Create(CultureInfo.InvariantCulture, $"SELECT *{table} WHERE {tagFilter}time < {startNs} GROUP BY * ORDER BY time DESC LIMIT 1"), measurement, mustSurvive, null, cancellationToken);
        await FirstRowsAsync(string.Create(CultureInfo.InvariantCulture, $"SELECT *{table} WHERE {tagFilter}time >= {endNs} GROUP BY * LIMIT 1"), measurement, mustSurvive, null, cancellationToken);
        await FirstRowsAsync($"SELECT *{inRange} GROUP BY * LIMIT 1", measurement, onlyInRange, mustSurvive, cancellationToken);

        string delete = "DELETE" + inRange;
        string showSeries = tagFilter.Length == 0 ? "SHOW SERIES" + table : string.Create(CultureInfo.InvariantCulture, $"SHOW SERIES{table} WHERE {tagFilter.ToString(0, tagFilter.Length - 5)}");
        int healed = 0;
        int attempts = 0;
        bool rangeWrittenBack = false;
        bool done = await _deleteRepeat.ExecuteAsync(
            async ct =>
            {
                attempts++;
                await ExecuteAsync(delete, ct);
                HashSet<string> present = await SeriesKeysAsync(showSeries, ct);
                var writeBack = mustSurvive.Where(s => !present.Contains(s.Key)).Select(s => s.Value).ToList();
                if (writeBack.Count == 0 && await CountAsync(inRange, ct) == 0)
                {
                    return true;
                }

                // The delete met a cache snapshot: it dropped series that have points outside the range, or left points
                // in it. Series with points only in the range that it dropped may keep theirs on disk: write those back
                // too (once), so that the next DELETE removes their points for good.
                healed += writeBack.Count;
                if (!rangeWrittenBack)
                {
                    writeBack.AddRange(onlyInRange.Where(s => !present.Contains(s.Key)).Select(s => s.Value));
                    rangeWrittenBack = true;
                }

                await WriteBackAsync(measurement, writeBack, fieldTypes, ct);
                return false;
            },
            cancellationToken);
        if (!done)
        {
            throw new StoreRequestException(string.Create(CultureInfo.InvariantCulture,
                $"InfluxDB lost series or kept points of {measurement} on each of {attempts} deletes of [{rangeStart:O}, {rangeEnd:O}) ({healed} dropped series written back); the range is not replaced."));
        }

        if (healed > 0)
        {
            LogSeriesHealed(_logger, measurement, healed, mustSurvive.Count, attempts);
        }
    }

    private enum FieldType
    {
        Float,
        Integer,
        String,
        Boolean,
    }

    private async Task<long> CountAsync(string fromWhere, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync("SELECT count(*)" + fromWhere, counts, cancellationToken);
        long max = 0;
        foreach (SeriesBuilder series in counts.Values)
        {
            foreach (SeriesRow row in series.Rows)
            {
                // count(*) answers one column per field; the largest is the number of points (every point has a field).
                foreach (ResultValue cell in row.Cells)
                {
                    max = Math.Max(max, cell.Kind == ResultValueKind.Integer ? cell.Integer : 0);
                }
            }
        }

        return max;
    }

    private async Task<Dictionary<string, FieldType>> FieldTypesAsync(string table, CancellationToken cancellationToken)
    {
        var answer = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync("SHOW FIELD KEYS" + table, answer, cancellationToken);
        var types = new Dictionary<string, FieldType>(StringComparer.Ordinal);
        foreach (SeriesRow row in answer.Values.SelectMany(s => s.Rows))
        {
            string key = row.Cells[0].Text ?? string.Empty;
            FieldType type = row.Cells[1].Text switch
            {
                "float" => FieldType.Float,
                "integer" => FieldType.Integer,
                "string" => FieldType.String,
                "boolean" => FieldType.Boolean,
                string other => throw new StoreRequestException($"Field {key} of {table.Trim()} has type {other}, which a delete cannot write back."),
                null => throw new StoreRequestException($"SHOW FIELD KEYS{table} answered no type for {key}."),
            };
            types.TryAdd(key, type);
        }

        return types;
    }

    /// <summary>Adds the first row of each series of <paramref name="select"/> not already in <paramref name="rows"/> or <paramref name="except"/>.</summary>
    private async Task FirstRowsAsync(string select, string measurement, Dictionary<string, RecordedPoint> rows, Dictionary<string, RecordedPoint>? except, CancellationToken cancellationToken)
    {
        var answer = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync(select, answer, cancellationToken);
        foreach (SeriesBuilder series in answer.Values)
        {
            if (series.Rows.Count == 0)
            {
                continue;
            }

            string key = SeriesKey(measurement, series.Tags);
            if (except is null || !except.ContainsKey(key))
            {
                rows.TryAdd(key, new RecordedPoint(key, series.Tags, series.Rows[0]));
            }
        }
    }

    private async Task<HashSet<string>> SeriesKeysAsync(string showSeries, CancellationToken cancellationToken)
    {
        var answer = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync(showSeries, answer, cancellationToken);
        return answer.Values.SelectMany(s => s.Rows).Select(row => row.Cells[0].Text ?? string.Empty).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Writes each recorded row back as it was read: same series, time and fields (an idempotent overwrite).</summary>
    private async Task WriteBackAsync(string measurement, List<RecordedPoint> points, Dictionary<string, FieldType> fieldTypes, CancellationToken cancellationToken)
    {
        if (points.Count == 0)
        {
            return;
        }

        using var writer = new LineProtocolWriter(_options.Precision);
        foreach (RecordedPoint point in points)
        {
            writer.Begin(measurement);
            foreach (KeyValuePair<string, string> tag in point.Tags)
            {
                writer.Tag(tag.Key, tag.Value);
            }

            SeriesRow row = point.Row;
            for (int c = 0; c < row.Columns.Length; c++)
            {
                // The time column's cell is null: the row carries its time apart.
                ResultValue cell = row.Cells[c];
                if (cell.IsNull)
                {
                    continue;
                }

                string field = row.Columns[c];
                if (!fieldTypes.TryGetValue(field, out FieldType type))
                {
                    throw new StoreRequestException($"Field {field} of {measurement} is not in SHOW FIELD KEYS; the delete cannot write it back.");
                }

                switch (type)
                {
                    case FieldType.Float:
                        writer.Field(field, cell.Number);
                        break;
                    case FieldType.Integer:
                        writer.Field(field, cell.Integer);
                        break;
                    case FieldType.Boolean:
                        writer.Field(field, cell.Number != 0);
                        break;
                    default:
                        writer.Field(field, cell.Text ?? string.Empty);
                        break;
                }
            }

            if (!writer.End(row.Time))
            {
                throw new StoreRequestException($"The point of {point.Key} to write back after a delete could not be encoded: {writer.LastRejection}");
            }
        }

        WriteResult result = await WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, writer.Precision), cancellationToken);
        if (result.PointsRejected > 0)
        {
            throw new StoreRequestException(string.Create(CultureInfo.InvariantCulture,
                $"InfluxDB rejected {result.PointsRejected} of {writer.PointCount} points of {measurement} written back after a delete: {string.Join("; ", result.Errors.Take(3))}"));
        }
    }

    /// <summary>
    /// The key influxd lists in SHOW SERIES: the measurement (comma and space escaped), then each tag with a value,
    /// sorted by key (comma, equals sign and space escaped).
    /// </summary>
    internal static string SeriesKey(string measurement, IEnumerable<KeyValuePair<string, string>> tags)
    {
        var key = new StringBuilder();
        Escape(key, measurement, escapeEquals: false);
        foreach (KeyValuePair<string, string> tag in tags.Where(t => t.Value.Length > 0).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            key.Append(',');
            Escape(key, tag.Key, escapeEquals: true);
            key.Append('=');
            Escape(key, tag.Value, escapeEquals: true);
        }

        return key.ToString();
    }

    private static void Escape(StringBuilder to, string text, bool escapeEquals)
    {
        foreach (char c in text)
        {
            if (c is ',' or ' ' || (escapeEquals && c == '='))
            {
                to.Append('\\');
            }

            to.Append(c);
        }
    }

    /// <summary>One point of a series as read before a delete: what is written back if the delete drops the series.</summary>
    private sealed record RecordedPoint(string Key, SortedDictionary<string, string> Tags, SeriesRow Row);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "InfluxDB dropped {Healed} series of {Measurement} from its index on a range delete (a delete during a cache snapshot); wrote back one recorded point of each ({Recorded} series had points outside the range; {Deletes} DELETEs)")]
    private static partial void LogSeriesHealed(ILogger logger, string measurement, int healed, int recorded, int deletes);
}
