using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// The collector's one writer to the store: reads the spool in order, writes each batch, and only then moves the
/// spool's read position. While the store is down it waits with growing delays and the spool keeps everything.
/// </summary>
public sealed partial class SpoolForwarder(
    DiskSpool spool,
    ITimeSeriesStore store,
    ForwarderOptions options,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<SpoolForwarder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan delay = options.RetryInitialDelay;
        var inFlight = new Queue<(SpoolBatch Batch, Task<WriteResult> Write, long Started)>();
        SpoolBatch? lastRead = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Keep up to MaxBatchesInFlight writes going; they are committed strictly in spool order.
            while (inFlight.Count < options.MaxBatchesInFlight && spool.ReadBatch(options.MaxBatchPoints, options.MaxBatchBytes, lastRead) is { } batch)
            {
                inFlight.Enqueue((batch, store.WriteAsync(new LineProtocolBatch(batch.Lines, batch.PointCount, WritePrecision.Nanoseconds), stoppingToken), time.GetTimestamp()));
                lastRead = batch;
            }

            if (inFlight.Count == 0)
            {
                try
                {
                    await spool.WaitForDataAsync(options.IdlePoll, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            (SpoolBatch head, Task<WriteResult> write, long started) = inFlight.Peek();
            try
            {
                WriteResult result = await write;
                inFlight.Dequeue();
                metrics.BatchWritten(result.PointsWritten, result.PointsRejected, time.GetElapsedTime(started));
                if (result.PointsRejected > 0)
                {
                    LogRejected(logger, result.PointsRejected, head.PointCount, result.Errors.Count > 0 ? result.Errors[0] : string.Empty);
                }

                spool.Commit(head);
                delay = options.RetryInitialDelay;
            }
            catch (Exception ex) when (ex is StoreUnavailableException or StoreRequestException)
            {
                // Let the other writes finish, then start again from the first batch not committed; batches the
                // store did take are written again and overwrite themselves.
                metrics.StoreFailed();
                await DrainAsync(inFlight);
                lastRead = null;
                LogStoreDown(logger, store.Backend, spool.PendingPoints, delay.TotalSeconds, ex.Message);
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.RetryMaxDelay.Ticks));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                await DrainAsync(inFlight);
                return;
            }
        }
    }

    private static async Task DrainAsync(Queue<(SpoolBatch Batch, Task<WriteResult> Write, long Started)> inFlight)
    {
        while (inFlight.TryDequeue(out (SpoolBatch Batch, Task<WriteResult> Write, long Started) item))
        {
            try
            {
                await item.Write;
            }
            catch (Exception ex) when (ex is StoreUnavailableException or StoreRequestException or OperationCanceledException)
            {
                // Its batch is read and written again.
            }
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "The store rejected {Rejected} of {Points} points: {Reason}")]
    private static partial void LogRejected(ILogger logger, int rejected, int points, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "The {Backend} store is not taking writes; {Pending} points wait in the spool; next try in {DelaySeconds:F1} s: {Reason}")]
    private static partial void LogStoreDown(ILogger logger, string backend, long pending, double delaySeconds, string reason);
}

/// <summary>How the forwarder writes to the store. Configuration section <c>Collector:Forwarder</c>.</summary>
public sealed class ForwarderOptions
{
    public const string SectionName = "Collector:Forwarder";

    public int MaxBatchPoints { get; set; } = 5_000;

    public int MaxBatchBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Batches written to the store at once (committed in order).</summary>
    public int MaxBatchesInFlight { get; set; } = 2;

    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often an idle forwarder looks at the spool even without a signal.</summary>
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromSeconds(1);
}
