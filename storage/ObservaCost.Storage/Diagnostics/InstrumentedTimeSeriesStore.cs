using System.Diagnostics;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Diagnostics;

/// <summary>
/// The configured store with its telemetry: each write, query and delete is a client span (a child of the caller's
/// span: the forwarder's batch, an analytics job's period) and one <c>db.client.operation.duration</c> measurement.
/// Pings (health checks) are passed through untraced.
/// </summary>
public sealed class InstrumentedTimeSeriesStore(ITimeSeriesStore inner, StoreMetrics metrics, TimeProvider time) : ITimeSeriesStore
{
    /// <summary>The store behind the telemetry.</summary>
    public ITimeSeriesStore Inner => inner;

    public string Backend => inner.Backend;

    public async Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default)
    {
        WriteResult result = await TraceAsync("write", a => a?.SetTag("db.operation.batch.size", batch.PointCount), () => inner.WriteAsync(batch, cancellationToken));
        metrics.Written(Backend, batch.Lines.Length, result.PointsRejected);
        return result;
    }

    public Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default) =>
        TraceAsync("query", a => a?.SetTag("db.collection.name", query?.Measurement), () => inner.QueryAsync(query!, cancellationToken));

    public Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
        TraceAsync("delete", a => a?.SetTag("db.collection.name", measurement), async () =>
        {
            await inner.DeleteAsync(measurement, rangeStart, rangeEnd, tags, cancellationToken);
            return true;
        });

    public Task<bool> PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);

    private async Task<T> TraceAsync<T>(string operation, Action<Activity?> describe, Func<Task<T>> call)
    {
        using Activity? activity = StoreMetrics.ActivitySource.StartActivity(operation + " " + Backend, ActivityKind.Client);
        activity?.SetTag("db.system.name", Backend);
        activity?.SetTag("db.operation.name", operation);
        describe(activity);
        long started = time.GetTimestamp();
        try
        {
            T result = await call();
            metrics.Operation(Backend, operation, time.GetElapsedTime(started), errorType: null);
            return result;
        }
        catch (Exception ex)
        {
            // Counted and marked, then passed on: the caller decides what a failure means.
            string errorType = ex.GetType().FullName ?? ex.GetType().Name;
            metrics.Operation(Backend, operation, time.GetElapsedTime(started), errorType);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            activity?.SetTag("error.type", errorType);
            throw;
        }
    }
}
