using System.Diagnostics;
using Microsoft.Extensions.Options;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// The collector's one writer to the store: reads the spool in order, writes each batch, and only then moves the
/// spool's read position. While the store is down it waits with growing delays and the spool keeps everything.
/// A batch the store refuses in part is split in halves until each refused point is alone; those points go to the
/// dead-letter file (<see cref="DeadLetterFile"/>) and the batch is committed, so one poison record never stops the
/// spool.
/// </summary>
public sealed partial class SpoolForwarder(
    DiskSpool spool,
    ITimeSeriesStore store,
    ForwarderOptions options,
    IOptions<SpoolOptions> spoolOptions,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<SpoolForwarder> logger) : BackgroundService
{
    private readonly DeadLetterFile _deadLetters = new(spoolOptions.Value.Directory, options.DeadLetterMaxBytes, time);
    private readonly LogThrottle _throttle = new(time, TimeSpan.FromMinutes(1));

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
                inFlight.Enqueue((batch, ForwardAsync(batch, stoppingToken), time.GetTimestamp()));
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
                if (result.PointsRejected > 0)
                {
                    // Let the writes already sent finish, isolate the refused points of this batch alone, then read
                    // and write the batches after it again, so every point still reaches the store in spool order.
                    await DrainAsync(inFlight);
                    lastRead = null;
                    result = await IsolateRefusedAsync(head, result, stoppingToken);
                    lastRead = head;
                }

                metrics.BatchWritten(result.PointsWritten, result.PointsRejected, time.GetElapsedTime(started));
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

    /// <summary>
    /// Writes one spool batch inside a <c>spool forward</c> span whose parent is the first record's appending span (the
    /// ingest request's trace) and whose links are the others', so the store write's span joins the ingest trace.
    /// </summary>
    private async Task<WriteResult> ForwardAsync(SpoolBatch batch, CancellationToken cancellationToken)
    {
        using Activity? activity = CollectorMetrics.ActivitySource.StartActivity(
            "spool forward",
            ActivityKind.Internal,
            batch.Traces.Count > 0 ? batch.Traces[0] : default,
            links: batch.Traces.Skip(1).Select(t => new ActivityLink(t)));
        activity?.SetTag("observacost.batch.points", batch.PointCount);
        activity?.SetTag("observacost.batch.records", batch.RecordCount);
        try
        {
            WriteResult result = await store.WriteAsync(new LineProtocolBatch(batch.Lines, batch.PointCount, WritePrecision.Nanoseconds), cancellationToken);
            activity?.SetTag("observacost.batch.points_rejected", result.PointsRejected);
            return result;
        }
        catch (Exception ex) when (ex is StoreUnavailableException or StoreRequestException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Splits a batch the store refused in part until each refused point is alone (writing again what the store
    /// took is safe: points overwrite themselves), moves the refused points to the dead letters, and returns the
    /// batch's final outcome. A store failure on the way throws before anything reaches the dead letters, so the
    /// batch is isolated again from the start.
    /// </summary>
    private async Task<WriteResult> IsolateRefusedAsync(SpoolBatch batch, WriteResult first, CancellationToken cancellationToken)
    {
        var records = new List<Range>(batch.PointCount);
        LineProtocolParser.SplitRecords(batch.Lines, records);
        var refused = new List<DeadLetter>();
        int written = records.Count <= 1
            ? Refuse(records, first)
            : await WriteHalvesAsync(0, records.Count);
        int kept = _deadLetters.Append(refused, store.Backend);
        metrics.DeadLettered(kept, refused.Count - kept);
        if (refused.Count > 0 && _throttle.ShouldLog("dead-letter", out long suppressed))
        {
            LogDeadLettered(logger, refused.Count, batch.PointCount, refused[0].Reason, _deadLetters.Path, suppressed);
        }

        if (kept < refused.Count && _throttle.ShouldLog("dead-letter-full", out long suppressedFull))
        {
            LogDeadLetterFull(logger, refused.Count - kept, _deadLetters.Path, options.DeadLetterMaxBytes, suppressedFull);
        }

        return new WriteResult(written, refused.Count, refused.Select(r => r.Reason).Take(100).ToList());

        async Task<int> WriteHalvesAsync(int from, int to)
        {
            int middle = from + ((to - from) / 2);
            return await WriteRecordsAsync(from, middle) + await WriteRecordsAsync(middle, to);
        }

        async Task<int> WriteRecordsAsync(int from, int to)
        {
            Range bytes = new(records[from].Start, records[to - 1].End);
            WriteResult result = await store.WriteAsync(new LineProtocolBatch(batch.Lines.AsMemory()[bytes], to - from, WritePrecision.Nanoseconds), cancellationToken);
            if (result.PointsRejected == 0)
            {
                return result.PointsWritten;
            }

            return to - from == 1 ? Refuse(records[from..to], result) : await WriteHalvesAsync(from, to);
        }

        int Refuse(List<Range> alone, WriteResult result)
        {
            foreach (Range record in alone)
            {
                refused.Add(new DeadLetter(result.Errors.Count > 0 ? result.Errors[0] : "refused by the store without a reason", batch.Lines.AsMemory()[record]));
            }

            return 0;
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

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "The store refused {Refused} of {Points} points of a batch; they were moved to the dead letters in {Path} ({Suppressed} such warnings suppressed before); first reason: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, int refused, int points, string reason, string path, long suppressed);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "The dead-letter file {Path} is full ({MaxBytes} bytes, Collector:Forwarder:DeadLetterMaxBytes): {Dropped} refused points were dropped ({Suppressed} such errors suppressed before); inspect and remove the file")]
    private static partial void LogDeadLetterFull(ILogger logger, int dropped, string path, long maxBytes, long suppressed);

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

    /// <summary>Largest dead-letter file (<c>deadletter/deadletter.jsonl</c> under the spool directory); refused points beyond it are dropped, counted and logged.</summary>
    public long DeadLetterMaxBytes { get; set; } = 64L << 20;
}
