using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Embedded;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. It takes the same line protocol as InfluxDB (and the same
/// idempotence: measurement, tag set, field and time identify a value; a later write overwrites) and answers the
/// same typed queries with InfluxQL's semantics, computed in SQL.
/// </summary>
public sealed partial class SqliteStore : ITimeSeriesStore, IAsyncDisposable, IDisposable
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS series (
            id INTEGER PRIMARY KEY,
            measurement TEXT NOT NULL,
            tag_set TEXT NOT NULL,
            UNIQUE (measurement, tag_set));
        CREATE TABLE IF NOT EXISTS series_tag (
            series_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (series_id, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS series_tag_by_value ON series_tag (key, value, series_id);
        CREATE TABLE IF NOT EXISTS field_type (
            measurement TEXT NOT NULL,
            field TEXT NOT NULL,
            kind INTEGER NOT NULL,
            PRIMARY KEY (measurement, field)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS field_value (
            series_id INTEGER NOT NULL,
            field TEXT NOT NULL,
            time_ns INTEGER NOT NULL,
            value ANY,
            PRIMARY KEY (series_id, field, time_ns)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS field_value_by_time ON field_value (time_ns);
        """;

    private readonly SqliteStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteStore> _logger;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<(string Measurement, string TagSet), long> _seriesIds = [];
    private readonly Dictionary<(string Measurement, string Field), FieldKind> _fieldKinds = [];
    private SqliteConnection? _writer;
    private long _lastRetentionRunTimestamp;
    private bool _disposed;

    public SqliteStore(SqliteStoreOptions options, TimeProvider time, ILogger<SqliteStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _time = time;
        _logger = logger;
        string fullPath = Path.GetFullPath(options.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)options.BusyTimeout.TotalSeconds,
        }.ToString();
    }

    public string Backend => "sqlite";

    public async Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batch.PointCount == 0 || batch.Lines.IsEmpty)
        {
            return WriteResult.AllWritten(0);
        }

        var points = new List<ParsedPoint>(batch.PointCount);
        var errors = new List<LineError>();
        long now = UnixTime.ToNanoseconds(_time.GetUtcNow());
        LineProtocolParser.Parse(batch.Lines.Span, batch.Precision, now, points, errors);
        var messages = errors.Select(e => "unable to parse: " + e).ToList();

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            SqliteConnection connection = await GetWriterAsync(cancellationToken);
            int written = WritePoints(connection, batch.Lines.Span, points, messages);
            await EnforceRetentionIfDueAsync(connection, cancellationToken);
            int rejected = errors.Count + (points.Count - written);
            if (rejected > 0)
            {
                LogRejected(_logger, rejected, batch.PointCount, messages.Count > 0 ? messages[0] : string.Empty);
            }

            return new WriteResult(written, rejected, messages.Take(100).ToList());
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6 or 10 or 13)
        {
            // SQLITE_BUSY, LOCKED, IOERR, FULL: the batch was rolled back and can be written again.
            throw new StoreUnavailableException($"The embedded store could not write: {ex.Message}", ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await EnsureSchemaAsync(connection, cancellationToken);

        // One read transaction: the statements of a query (one per column) see the same snapshot even while a batch
        // is being written (WAL readers do not block the writer).
        await using SqliteTransaction snapshot = connection.BeginTransaction(deferred: true);
        QueryResult result = await SqliteQueryExecutor.ExecuteAsync(connection, snapshot, query, cancellationToken);
        await snapshot.CommitAsync(cancellationToken);
        return result;
    }

    public async Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(measurement);
        ArgumentNullException.ThrowIfNull(tags);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            SqliteConnection connection = await GetWriterAsync(cancellationToken);
            await using SqliteCommand delete = connection.CreateCommand();
            var sql = new StringBuilder(
                "DELETE FROM field_value WHERE time_ns >= $from AND time_ns < $to AND series_id IN (SELECT id FROM series WHERE measurement = $m");
            int i = 0;
            foreach (KeyValuePair<string, string> tag in tags)
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND id IN (SELECT series_id FROM series_tag WHERE key = $k{i} AND value = $v{i})");
                delete.Parameters.AddWithValue("$k" + i.ToString(CultureInfo.InvariantCulture), tag.Key);
                delete.Parameters.AddWithValue("$v" + i.ToString(CultureInfo.InvariantCulture), tag.Value);
                i++;
            }

            sql.Append(')');
            delete.CommandText = sql.ToString();
            delete.Parameters.AddWithValue("$from", UnixTime.ToNanoseconds(rangeStart));
            delete.Parameters.AddWithValue("$to", UnixTime.ToNanoseconds(rangeEnd));
            delete.Parameters.AddWithValue("$m", measurement);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6 or 10 or 13)
        {
            throw new StoreUnavailableException($"The embedded store could not delete: {ex.Message}", ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 1;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>Deletes values older than the retention period; returns how many were deleted.</summary>
    public async Task<int> EnforceRetentionAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            SqliteConnection connection = await GetWriterAsync(cancellationToken);
            return await DeleteExpiredAsync(connection, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writer?.Dispose();
        _writeLock.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        _writeLock.Dispose();
    }

    private static async Task EnsureSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = Schema;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<SqliteConnection> GetWriterAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return _writer;
        }

        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await EnsureSchemaAsync(connection, cancellationToken);
        await using (SqliteCommand load = connection.CreateCommand())
        {
            load.CommandText = "SELECT measurement, field, kind FROM field_type";
            await using SqliteDataReader reader = await load.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                _fieldKinds[(reader.GetString(0), reader.GetString(1))] = (FieldKind)reader.GetInt32(2);
            }
        }

        _lastRetentionRunTimestamp = _time.GetTimestamp();
        _writer = connection;
        return connection;
    }

    /// <summary>
    /// Writes the points in one transaction. A point the store refuses for good (a constraint SQLite enforces, a value
    /// too big) does not fail the batch: the transaction is rolled back and written again with each point in its own
    /// savepoint, so only the refused points are left out, each with its reason. Transient failures (busy, locked,
    /// I/O, disk full) still throw and leave nothing written.
    /// </summary>
    private int WritePoints(SqliteConnection connection, ReadOnlySpan<byte> lines, List<ParsedPoint> points, List<string> messages)
    {
        var refused = new List<string>();
        try
        {
            int written = WriteTransaction(connection, lines, points, refused, isolatePoints: false);
            messages.AddRange(refused);
            return written;
        }
        catch (SqliteException ex) when (IsRefusal(ex))
        {
            refused.Clear();
            int written = WriteTransaction(connection, lines, points, refused, isolatePoints: true);
            messages.AddRange(refused);
            return written;
        }
    }

    /// <summary>Errors that writing the same point again would repeat: constraint, too big, datatype mismatch, range.</summary>
    private static bool IsRefusal(SqliteException ex) => ex.SqliteErrorCode is 18 or 19 or 20 or 25;

    private int WriteTransaction(SqliteConnection connection, ReadOnlySpan<byte> lines, List<ParsedPoint> points, List<string> refused, bool isolatePoints)
    {
        using SqliteTransaction transaction = connection.BeginTransaction();
        var statements = new WriteStatements(connection, transaction);
        var newKinds = new List<(string, string)>();
        var newSeries = new List<(string, string)>();
        int written = 0;
        try
        {
            foreach (ParsedPoint point in points)
            {
                string? reason = CheckKeys(point);
                if (reason is not null)
                {
                    refused.Add(Refusal(lines, point, reason));
                    continue;
                }

                if (!isolatePoints)
                {
                    reason = WritePoint(statements, point, newKinds, newSeries);
                }
                else
                {
                    int kindsBefore = newKinds.Count;
                    int seriesBefore = newSeries.Count;
                    statements.Run("SAVEPOINT point");
                    try
                    {
                        reason = WritePoint(statements, point, newKinds, newSeries);
                        statements.Run("RELEASE point");
                    }
                    catch (SqliteException ex) when (IsRefusal(ex))
                    {
                        statements.Run("ROLLBACK TO point");
                        statements.Run("RELEASE point");
                        ForgetFrom(newKinds, kindsBefore, newSeries, seriesBefore);
                        reason = ex.Message;
                    }
                }

                if (reason is not null)
                {
                    refused.Add(Refusal(lines, point, reason));
                    continue;
                }

                written++;
            }

            transaction.Commit();
            return written;
        }
        catch
        {
            // The transaction rolls back: forget what this batch added to the caches.
            ForgetFrom(newKinds, 0, newSeries, 0);
            throw;
        }
        finally
        {
            statements.Dispose();
        }
    }

    /// <summary>Writes one point; returns why it was refused, or null when it was written.</summary>
    private string? WritePoint(WriteStatements statements, ParsedPoint point, List<(string, string)> newKinds, List<(string, string)> newSeries)
    {
        string? conflict = CheckFieldKinds(point, newKinds, statements.InsertKind);
        if (conflict is not null)
        {
            return conflict;
        }

        KeyValuePair<string, string>[] tags = point.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        string tagSet = TagSet(tags);
        if (!_seriesIds.TryGetValue((point.Measurement, tagSet), out long seriesId))
        {
            SetValues(statements.FindSeries, point.Measurement, tagSet);
            object? found = statements.FindSeries.ExecuteScalar();
            if (found is long id)
            {
                seriesId = id;
            }
            else
            {
                SetValues(statements.InsertSeries, point.Measurement, tagSet);
                seriesId = (long)statements.InsertSeries.ExecuteScalar()!;
                foreach (KeyValuePair<string, string> tag in tags)
                {
                    SetValues(statements.InsertTag, seriesId, tag.Key, tag.Value);
                    statements.InsertTag.ExecuteNonQuery();
                }
            }

            newSeries.Add((point.Measurement, tagSet));
            _seriesIds[(point.Measurement, tagSet)] = seriesId;
        }

        foreach (KeyValuePair<string, FieldValue> field in point.Fields)
        {
            object value = field.Value.Kind switch
            {
                FieldKind.Float => field.Value.Float,
                FieldKind.Integer => field.Value.Integer,
                FieldKind.Boolean => field.Value.Boolean ? 1L : 0L,
                _ => field.Value.String!,
            };
            SetValues(statements.Upsert, seriesId, field.Key, point.TimestampNanoseconds, value);
            statements.Upsert.ExecuteNonQuery();
        }

        return null;
    }

    /// <summary>A tag key or field key given twice in one point: InfluxDB refuses the point ("duplicate tags"), and so does this store.</summary>
    private static string? CheckKeys(ParsedPoint point)
    {
        for (int i = 1; i < point.Tags.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (string.Equals(point.Tags[i].Key, point.Tags[j].Key, StringComparison.Ordinal))
                {
                    return "duplicate tags";
                }
            }
        }

        for (int i = 1; i < point.Fields.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (string.Equals(point.Fields[i].Key, point.Fields[j].Key, StringComparison.Ordinal))
                {
                    return "duplicate fields";
                }
            }
        }

        return null;
    }

    /// <summary>The refusal in InfluxDB's words: <c>unable to write '&lt;line&gt;': &lt;reason&gt;</c>.</summary>
    private static string Refusal(ReadOnlySpan<byte> lines, ParsedPoint point, string reason)
    {
        if (point.SourceLength <= 0 || point.SourceOffset + point.SourceLength > lines.Length)
        {
            return reason;
        }

        ReadOnlySpan<byte> line = lines.Slice(point.SourceOffset, Math.Min(point.SourceLength, LineProtocolParser.MaxErrorTextLength));
        return "unable to write '" + Encoding.UTF8.GetString(line) + "': " + reason;
    }

    private void ForgetFrom(List<(string, string)> newKinds, int kindsFrom, List<(string, string)> newSeries, int seriesFrom)
    {
        for (int i = kindsFrom; i < newKinds.Count; i++)
        {
            _fieldKinds.Remove(newKinds[i]);
        }

        for (int i = seriesFrom; i < newSeries.Count; i++)
        {
            _seriesIds.Remove(newSeries[i]);
        }

        newKinds.RemoveRange(kindsFrom, newKinds.Count - kindsFrom);
        newSeries.RemoveRange(seriesFrom, newSeries.Count - seriesFrom);
    }

    /// <summary>The prepared statements of one write transaction.</summary>
    private sealed class WriteStatements(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        public SqliteCommand FindSeries { get; } = Prepare(connection, transaction, "SELECT id FROM series WHERE measurement = $m AND tag_set = $t", "$m", "$t");

        public SqliteCommand InsertSeries { get; } = Prepare(connection, transaction, "INSERT INTO series (measurement, tag_set) VALUES ($m, $t) RETURNING id", "$m", "$t");

        public SqliteCommand InsertTag { get; } = Prepare(connection, transaction, "INSERT INTO series_tag (series_id, key, value) VALUES ($s, $k, $v)", "$s", "$k", "$v");

        public SqliteCommand InsertKind { get; } = Prepare(connection, transaction, "INSERT INTO field_type (measurement, field, kind) VALUES ($m, $f, $k)", "$m", "$f", "$k");

        public SqliteCommand Upsert { get; } = Prepare(connection, transaction, "INSERT OR REPLACE INTO field_value (series_id, field, time_ns, value) VALUES ($s, $f, $t, $v)", "$s", "$f", "$t", "$v");

        public void Run(string sql)
        {
            using SqliteCommand command = Prepare(connection, transaction, sql);
            command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            FindSeries.Dispose();
            InsertSeries.Dispose();
            InsertTag.Dispose();
            InsertKind.Dispose();
            Upsert.Dispose();
        }
    }

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private static void SetValues(SqliteCommand command, params object[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }

    private string? CheckFieldKinds(ParsedPoint point, List<(string, string)> newKinds, SqliteCommand insertKind)
    {
        foreach (KeyValuePair<string, FieldValue> field in point.Fields)
        {
            if (_fieldKinds.TryGetValue((point.Measurement, field.Key), out FieldKind existing) && existing != field.Value.Kind)
            {
                return FieldKinds.Conflict(field.Key, point.Measurement, field.Value.Kind, existing);
            }
        }

        foreach (KeyValuePair<string, FieldValue> field in point.Fields)
        {
            if (_fieldKinds.TryAdd((point.Measurement, field.Key), field.Value.Kind))
            {
                newKinds.Add((point.Measurement, field.Key));
                SetValues(insertKind, point.Measurement, field.Key, (int)field.Value.Kind);
                insertKind.ExecuteNonQuery();
            }
        }

        return null;
    }

    /// <summary>The canonical tag set: sorted <c>key=value</c> pairs with separators escaped.</summary>
    private static string TagSet(KeyValuePair<string, string>[] sortedTags)
    {
        if (sortedTags.Length == 0)
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        foreach (KeyValuePair<string, string> tag in sortedTags)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            AppendEscaped(sb, tag.Key);
            sb.Append('=');
            AppendEscaped(sb, tag.Value);
        }

        return sb.ToString();

        static void AppendEscaped(StringBuilder sb, string text)
        {
            foreach (char c in text)
            {
                if (c is ',' or '=' or '\\')
                {
                    sb.Append('\\');
                }

                sb.Append(c);
            }
        }
    }

    private async Task EnforceRetentionIfDueAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        if (_options.Retention <= TimeSpan.Zero || _time.GetElapsedTime(_lastRetentionRunTimestamp) < _options.RetentionCheckInterval)
        {
            return;
        }

        _lastRetentionRunTimestamp = _time.GetTimestamp();
        await DeleteExpiredAsync(connection, cancellationToken);
    }

    private async Task<int> DeleteExpiredAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        if (_options.Retention <= TimeSpan.Zero)
        {
            return 0;
        }

        long cutoff = UnixTime.ToNanoseconds(_time.GetUtcNow() - _options.Retention);
        await using SqliteCommand delete = connection.CreateCommand();
        delete.CommandText = "DELETE FROM field_value WHERE time_ns < $cutoff";
        delete.Parameters.AddWithValue("$cutoff", cutoff);
        int deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        if (deleted > 0)
        {
            LogRetention(_logger, deleted, _options.Retention.TotalDays);
        }

        return deleted;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "The embedded store rejected {Rejected} of {Points} points; first reason: {Reason}")]
    private static partial void LogRejected(ILogger logger, int rejected, int points, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Retention removed {Deleted} values older than {RetentionDays} days")]
    private static partial void LogRetention(ILogger logger, int deleted, double retentionDays);
}
