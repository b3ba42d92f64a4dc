using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage;

/// <summary>
/// A time-series store: InfluxDB (any version that speaks line protocol and InfluxQL) or the embedded SQLite store.
/// Line protocol is the one write format, so both backends see the same points.
/// </summary>
public interface ITimeSeriesStore
{
    /// <summary>Short backend name for logs and metrics: <c>influxdb</c> or <c>sqlite</c>.</summary>
    string Backend { get; }

    /// <summary>
    /// Writes a batch of line protocol. Returns how many points were written and which were rejected (with the
    /// server's reasons). Throws <see cref="StoreUnavailableException"/> when the store could not be reached after
    /// retries: then no point of the batch may be assumed written, and writing it again is safe (points are
    /// idempotent: the same measurement, tags and time overwrite).
    /// </summary>
    Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Answers a typed query; aggregation runs in the store.</summary>
    Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the points of <paramref name="measurement"/> in [<paramref name="rangeStart"/>, <paramref name="rangeEnd"/>) whose
    /// tags equal every entry of <paramref name="tags"/>. Used before a window is recomputed, so a recomputation
    /// replaces the window's points instead of merging with them (a row that no longer exists, or a field that is
    /// now absent, would otherwise survive).
    /// </summary>
    Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    /// <summary>True when the store answers.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken = default);
}

/// <summary>Encoded line protocol with the number of points in it.</summary>
public readonly record struct LineProtocolBatch(ReadOnlyMemory<byte> Lines, int PointCount, WritePrecision Precision);

/// <summary>The outcome of a write.</summary>
public sealed record WriteResult(int PointsWritten, int PointsRejected, IReadOnlyList<string> Errors)
{
    public static WriteResult AllWritten(int points) => new(points, 0, []);
}

/// <summary>The store could not be reached or kept failing after retries; the batch may be written again later.</summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }
}

/// <summary>The store refused a request for a reason that retrying will not change (authentication, a bad query).</summary>
public sealed class StoreRequestException : Exception
{
    public StoreRequestException(string message, int? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
    }

    public StoreRequestException()
    {
    }

    public StoreRequestException(string message)
        : base(message)
    {
    }

    public StoreRequestException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public int? StatusCode { get; }
}
