using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Storage.Writing;

namespace ObservaCost.Storage.Tests.Writing;

public sealed class BatchingPointWriterTests
{
    /// <summary>An in-memory store that records batches and can be told to be down.</summary>
    private sealed class RecordingStore : ITimeSeriesStore
    {
        private readonly Lock _gate = new();

        public List<int> BatchSizes { get; } = [];

        public List<string> Lines { get; } = [];

        public int FailuresLeft { get; set; }

        public TaskCompletionSource? Gate { get; set; }

        public string Backend => "recording";

        public async Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default)
        {
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }

            lock (_gate)
            {
                if (FailuresLeft > 0)
                {
                    FailuresLeft--;
                    throw new StoreUnavailableException("down");
                }

                BatchSizes.Add(batch.PointCount);
                Lines.AddRange(System.Text.Encoding.UTF8.GetString(batch.Lines.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            return WriteResult.AllWritten(batch.PointCount);
        }

        public Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default) => Task.FromResult(QueryResult.Empty);

        public Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The batching writer never deletes.");

        public Task<bool> PingAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);
    }

    private static GpuSample Sample(int i) => new()
    {
        Time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + i),
        Node = "n",
        GpuIndex = 0,
        PowerWatts = i,
    };

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    [Fact]
    public async Task FullBatches_AreSentBySize()
    {
        var store = new RecordingStore();
        await using var writer = new BatchingPointWriter(store, new PointBatchingOptions { MaxBatchPoints = 100, MaxBatchAge = TimeSpan.FromHours(1) }, WritePrecision.Nanoseconds, TimeProvider.System, NullLogger.Instance);
        for (int i = 0; i < 350; i++)
        {
            await writer.WriteAsync(Sample(i));
        }

        await WaitUntil(() => store.BatchSizes.Count == 3);
        Assert.Equal([100, 100, 100], store.BatchSizes);
        await writer.FlushAsync();
        Assert.Equal([100, 100, 100, 50], store.BatchSizes);
        Assert.Equal(350, writer.Statistics.PointsWritten);
    }

    [Fact]
    public async Task PartialBatch_IsSentWhenItsAgeIsReached()
    {
        var store = new RecordingStore();
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        await using var writer = new BatchingPointWriter(store, new PointBatchingOptions { MaxBatchPoints = 1000, MaxBatchAge = TimeSpan.FromSeconds(5) }, WritePrecision.Nanoseconds, clock, NullLogger.Instance);
        await writer.WriteAsync(Sample(1));
        await writer.WriteAsync(Sample(2));
        await Task.Delay(100);
        Assert.Empty(store.BatchSizes);
        clock.Advance(TimeSpan.FromSeconds(4));
        await Task.Delay(100);
        Assert.Empty(store.BatchSizes);
        clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntil(() => store.BatchSizes.Count == 1);
        Assert.Equal(2, store.BatchSizes[0]);
    }

    [Fact]
    public async Task StoreDown_BatchIsKeptAndRetried_InOrder()
    {
        var store = new RecordingStore { FailuresLeft = 3 };
        var options = new PointBatchingOptions { MaxBatchPoints = 10, RetryInitialDelay = TimeSpan.FromMilliseconds(10), RetryMaxDelay = TimeSpan.FromMilliseconds(20) };
        await using var writer = new BatchingPointWriter(store, options, WritePrecision.Nanoseconds, TimeProvider.System, NullLogger.Instance);
        for (int i = 0; i < 30; i++)
        {
            await writer.WriteAsync(Sample(i));
        }

        await writer.FlushAsync();
        Assert.Equal(30, store.Lines.Count);
        Assert.Equal(3, writer.Statistics.StoreFailures);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"power_watts={i} "), store.Lines.Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..(l.LastIndexOf(' ') + 1)]));
    }

    [Fact]
    public async Task SlowStore_HoldsWritersBack_InsteadOfBufferingWithoutLimit()
    {
        var store = new RecordingStore { Gate = new TaskCompletionSource() };
        var options = new PointBatchingOptions { MaxBatchPoints = 10, MaxPendingBatches = 2 };
        await using var writer = new BatchingPointWriter(store, options, WritePrecision.Nanoseconds, TimeProvider.System, NullLogger.Instance);
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                await writer.WriteAsync(Sample(i));
            }
        });

        try
        {
            // Wait until the writer has filled everything it may hold, then check it holds no more.
            await WaitUntil(() => writer.Statistics.PointsAccepted >= 30);
            await Task.Delay(300);
            Assert.False(producer.IsCompleted);
            // At most: one batch in the store's hands, two queued, one being filled.
            Assert.InRange(writer.Statistics.PointsAccepted, 30, 40);
        }
        finally
        {
            store.Gate.TrySetResult();
        }

        await producer;
        await writer.FlushAsync();
        Assert.Equal(100, store.Lines.Count);
    }

    [Fact]
    public async Task UnencodablePoint_IsCountedAndReported_OthersGoThrough()
    {
        var store = new RecordingStore();
        await using var writer = new BatchingPointWriter(store, new PointBatchingOptions(), WritePrecision.Nanoseconds, TimeProvider.System, NullLogger.Instance);
        Assert.True(await writer.WriteAsync(Sample(1)));
        Assert.False(await writer.WriteAsync(new GpuSample { Time = DateTimeOffset.UnixEpoch, Node = "bad\\", GpuIndex = 0, PowerWatts = 1 }, out string? reason));
        Assert.Contains("backslash", reason, StringComparison.Ordinal);
        Assert.False(await writer.WriteAsync(new GpuSample { Time = DateTimeOffset.UnixEpoch, Node = "n", GpuIndex = 0, PowerWatts = double.NaN }));
        await writer.FlushAsync();
        Assert.Single(store.Lines);
        Assert.Equal(2, writer.Statistics.PointsRejectedByEncoder);
    }
}
