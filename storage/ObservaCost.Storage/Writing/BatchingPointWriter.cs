using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Storage.Writing;

/// <summary>
/// Encodes points into line-protocol batches and sends them to one store from one background loop. A batch is sent
/// when it holds <see cref="PointBatchingOptions.MaxBatchPoints"/> points or <see cref="PointBatchingOptions.MaxBatchBytes"/>
/// bytes, or when its first point is <see cref="PointBatchingOptions.MaxBatchAge"/> old. At most
/// <see cref="PointBatchingOptions.MaxPendingBatches"/> full batches wait; beyond that writers wait (back-pressure).
/// A batch the store cannot take is kept and tried again, with growing delays, until it is written or the writer is
/// disposed after <see cref="PointBatchingOptions.ShutdownTimeout"/>.
/// </summary>
public sealed partial class BatchingPointWriter : IAsyncDisposable
{
    private readonly ITimeSeriesStore _store;
    private readonly PointBatchingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingBatch> _queue;
    private readonly ConcurrentBag<LineProtocolWriter> _spare = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private LineProtocolWriter _current;
    private long _currentStartedTimestamp;
    private long _pointsAccepted;
    private long _pointsWritten;
    private long _pointsRejectedByStore;
    private long _pointsRejectedByEncoder;
    private long _pointsDropped;
    private long _batchesSent;
    private long _storeFailures;
    private bool _disposed;

    public BatchingPointWriter(ITimeSeriesStore store, PointBatchingOptions options, WritePrecision precision, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        Precision = precision;
        _current = NewBuffer();
        _queue = Channel.CreateBounded<PendingBatch>(new BoundedChannelOptions(options.MaxPendingBatches)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Raised after each batch the store answered, with its result.</summary>
    public event Action<WriteResult, TimeSpan>? BatchCompleted;

    public WritePrecision Precision { get; }

    public WriterStatistics Statistics => new(
        Interlocked.Read(ref _pointsAccepted),
        Interlocked.Read(ref _pointsWritten),
        Interlocked.Read(ref _pointsRejectedByStore),
        Interlocked.Read(ref _pointsRejectedByEncoder),
        Interlocked.Read(ref _pointsDropped),
        Interlocked.Read(ref _batchesSent),
        Interlocked.Read(ref _storeFailures));

    /// <summary>Encodes a point into the current batch; false if it cannot be encoded (it is counted, nothing else changes).</summary>
    public ValueTask<bool> WriteAsync(ILineProtocolPoint point, CancellationToken cancellationToken = default) =>
        WriteAsync(point, out _, cancellationToken);

    /// <summary>
    /// Encodes a point into the current batch. Returns false, with <paramref name="rejection"/> set, if the point
    /// cannot be encoded (it is counted and nothing else is affected).
    /// </summary>
    public ValueTask<bool> WriteAsync(ILineProtocolPoint point, out string? rejection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(point);
        ObjectDisposedException.ThrowIf(_disposed, this);
        LineProtocolWriter? full = null;
        bool ok;
        lock (_gate)
        {
            if (_current.PointCount == 0)
            {
                _currentStartedTimestamp = _time.GetTimestamp();
            }

            ok = point.WriteTo(_current);
            rejection = ok ? null : _current.LastRejection;
            if (_current.PointCount >= _options.MaxBatchPoints || _current.Length >= _options.MaxBatchBytes)
            {
                full = SwapCurrent();
            }
        }

        if (ok)
        {
            Interlocked.Increment(ref _pointsAccepted);
        }
        else
        {
            Interlocked.Increment(ref _pointsRejectedByEncoder);
        }
        if (full is null)
        {
            return ValueTask.FromResult(ok);
        }

        return EnqueueAsync(full, ok, cancellationToken);
    }

    /// <summary>Adds lines that are already encoded with this writer's precision (each ending in a newline).</summary>
    public ValueTask WriteLinesAsync(ReadOnlySpan<byte> lines, int pointCount, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LineProtocolWriter? full = null;
        lock (_gate)
        {
            if (_current.PointCount == 0)
            {
                _currentStartedTimestamp = _time.GetTimestamp();
            }

            _current.WriteRaw(lines, pointCount);
            if (_current.PointCount >= _options.MaxBatchPoints || _current.Length >= _options.MaxBatchBytes)
            {
                full = SwapCurrent();
            }
        }

        Interlocked.Add(ref _pointsAccepted, pointCount);
        return full is null ? ValueTask.CompletedTask : new ValueTask(EnqueueAsync(full, true, cancellationToken).AsTask());
    }

    /// <summary>Sends everything written so far and waits until the store has answered for it.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LineProtocolWriter? partial;
        lock (_gate)
        {
            partial = _current.PointCount > 0 ? SwapCurrent() : null;
        }

        if (partial is not null)
        {
            await _queue.Writer.WriteAsync(new PendingBatch(partial, null), cancellationToken);
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new PendingBatch(null, done), cancellationToken);
        await done.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_options.ShutdownTimeout, _time);
            await FlushAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Flush did not finish in time; the loop is stopped below and counts what it could not write.
        }

        _disposed = true;
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop;
        _stopping.Dispose();
        _current.Dispose();
        while (_spare.TryTake(out LineProtocolWriter? spare))
        {
            spare.Dispose();
        }
    }

    private async ValueTask<bool> EnqueueAsync(LineProtocolWriter full, bool result, CancellationToken cancellationToken)
    {
        await _queue.Writer.WriteAsync(new PendingBatch(full, null), cancellationToken);
        return result;
    }

    private LineProtocolWriter SwapCurrent()
    {
        LineProtocolWriter full = _current;
        _current = _spare.TryTake(out LineProtocolWriter? spare) ? spare : NewBuffer();
        return full;
    }

    private LineProtocolWriter NewBuffer() => new(Precision, Math.Min(_options.MaxBatchBytes, 1024 * 1024) + 4096);

    private async Task RunAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            if (_queue.Reader.TryRead(out PendingBatch pending))
            {
                if (pending.Lines is not null)
                {
                    await SendAsync(pending.Lines, stopping);
                }

                pending.Flushed?.TrySetResult();
                continue;
            }

            LineProtocolWriter? aged = null;
            TimeSpan wait = _options.MaxBatchAge;
            lock (_gate)
            {
                if (_current.PointCount > 0)
                {
                    TimeSpan age = _time.GetElapsedTime(_currentStartedTimestamp);
                    if (age >= _options.MaxBatchAge)
                    {
                        aged = SwapCurrent();
                    }
                    else
                    {
                        wait = _options.MaxBatchAge - age;
                    }
                }
            }

            if (aged is not null)
            {
                await SendAsync(aged, stopping);
                continue;
            }

            using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            Task<bool> readable = _queue.Reader.WaitToReadAsync(waitCts.Token).AsTask();
            Task delay = Task.Delay(wait, _time, waitCts.Token);
            Task first = await Task.WhenAny(readable, delay);
            await waitCts.CancelAsync();
            try
            {
                await Task.WhenAll(readable, delay);
            }
            catch (OperationCanceledException)
            {
                // The other wait was cancelled.
            }

            if (first == readable && readable.IsCompletedSuccessfully && !await readable)
            {
                return;
            }
        }

        // Stopped: whatever is still queued could not be written in time.
        while (_queue.Reader.TryRead(out PendingBatch left))
        {
            if (left.Lines is not null)
            {
                Interlocked.Add(ref _pointsDropped, left.Lines.PointCount);
                LogDropped(_logger, left.Lines.PointCount);
                left.Lines.Dispose();
            }

            left.Flushed?.TrySetCanceled(CancellationToken.None);
        }
    }

    private async Task SendAsync(LineProtocolWriter lines, CancellationToken stopping)
    {
        var batch = new LineProtocolBatch(lines.WrittenMemory, lines.PointCount, Precision);
        TimeSpan delay = _options.RetryInitialDelay;
        while (true)
        {
            long started = _time.GetTimestamp();
            try
            {
                WriteResult result = await _store.WriteAsync(batch, stopping);
                Interlocked.Add(ref _pointsWritten, result.PointsWritten);
                Interlocked.Add(ref _pointsRejectedByStore, result.PointsRejected);
                Interlocked.Increment(ref _batchesSent);
                BatchCompleted?.Invoke(result, _time.GetElapsedTime(started));
                break;
            }
            catch (Exception ex) when (ex is StoreUnavailableException or StoreRequestException)
            {
                Interlocked.Increment(ref _storeFailures);
                LogStoreFailed(_logger, _store.Backend, batch.PointCount, delay.TotalSeconds, ex.Message);
                try
                {
                    await Task.Delay(delay, _time, stopping);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Add(ref _pointsDropped, batch.PointCount);
                    LogDropped(_logger, batch.PointCount);
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.RetryMaxDelay.Ticks));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Interlocked.Add(ref _pointsDropped, batch.PointCount);
                LogDropped(_logger, batch.PointCount);
                break;
            }
        }

        lines.Reset();
        if (_spare.Count < 4)
        {
            _spare.Add(lines);
        }
        else
        {
            lines.Dispose();
        }
    }

    private readonly record struct PendingBatch(LineProtocolWriter? Lines, TaskCompletionSource? Flushed);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "The {Backend} store could not take a batch of {Points} points; trying again in {DelaySeconds:F1} s: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string backend, int points, double delaySeconds, string reason);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "Shutting down with {Points} points the store never took")]
    private static partial void LogDropped(ILogger logger, int points);
}

/// <summary>Counters of a <see cref="BatchingPointWriter"/>.</summary>
public readonly record struct WriterStatistics(
    long PointsAccepted,
    long PointsWritten,
    long PointsRejectedByStore,
    long PointsRejectedByEncoder,
    long PointsDropped,
    long BatchesSent,
    long StoreFailures);
