using System.Text;
using ObservaCost.Collector.Pipeline;

namespace ObservaCost.Collector.Tests.Pipeline;

public sealed class DiskSpoolTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-spool-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private SpoolOptions Options(long maxBytes = 1 << 20, long segmentBytes = 64 * 1024) =>
        new() { Directory = _dir, MaxBytes = maxBytes, SegmentBytes = segmentBytes, FlushToDisk = false };

    private static byte[] Lines(int from, int count) =>
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(from, count).Select(i => $"m v={i}i {i}\n")));

    private static List<int> Values(byte[] lines) =>
        Encoding.UTF8.GetString(lines).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => int.Parse(l.Split(' ')[1][2..^1], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    [Fact]
    public async Task AppendReadCommit_KeepsOrderAcrossSegments_AndDeletesFinishedSegments()
    {
        using var spool = new DiskSpool(Options(segmentBytes: 16 * 1024));
        for (int i = 0; i < 100; i++)
        {
            Assert.True(await spool.AppendAsync(Lines(i * 100, 100), 100));
        }

        Assert.True(Directory.GetFiles(_dir, "*.spool").Length > 3);
        Assert.Equal(10_000, spool.PendingPoints);
        var seen = new List<int>();
        while (spool.ReadBatch(1_500, 1 << 20) is { } batch)
        {
            Assert.True(batch.PointCount <= 1_500);
            seen.AddRange(Values(batch.Lines));
            spool.Commit(batch);
        }

        Assert.Equal(Enumerable.Range(0, 10_000), seen);
        Assert.Equal(0, spool.PendingPoints);
        Assert.Equal(0, spool.PendingBytes);
        Assert.Single(Directory.GetFiles(_dir, "*.spool"));
    }

    [Fact]
    public async Task Reopen_ResumesAtTheSavedPosition_UncommittedRecordsAreReadAgain()
    {
        using (var spool = new DiskSpool(Options()))
        {
            for (int i = 0; i < 10; i++)
            {
                await spool.AppendAsync(Lines(i * 10, 10), 10);
            }

            SpoolBatch first = spool.ReadBatch(30, 1 << 20)!;
            spool.Commit(first);
            SpoolBatch second = spool.ReadBatch(30, 1 << 20)!;
            Assert.Equal(30, Values(second.Lines)[0]);
            // Crash before committing the second batch.
        }

        using var reopened = new DiskSpool(Options());
        Assert.Equal(70, reopened.PendingPoints);
        var seen = new List<int>();
        while (reopened.ReadBatch(1000, 1 << 20) is { } batch)
        {
            seen.AddRange(Values(batch.Lines));
            reopened.Commit(batch);
        }

        Assert.Equal(Enumerable.Range(30, 70), seen);
        Assert.True(await reopened.AppendAsync(Lines(100, 5), 5));
        Assert.Equal(Enumerable.Range(100, 5), Values(reopened.ReadBatch(1000, 1 << 20)!.Lines));
    }

    [Fact]
    public async Task TornTail_IsCutAtStart_EarlierRecordsSurvive()
    {
        using (var spool = new DiskSpool(Options()))
        {
            for (int i = 0; i < 5; i++)
            {
                await spool.AppendAsync(Lines(i * 10, 10), 10);
            }
        }

        string segment = Directory.GetFiles(_dir, "*.spool").Single();
        long length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(length - 7); // the last append was cut short by a crash
        }

        using var reopened = new DiskSpool(Options());
        Assert.Equal(1, reopened.RecoveredTornRecords);
        Assert.Equal(40, reopened.PendingPoints);
        Assert.Equal(Enumerable.Range(0, 40), Values(reopened.ReadBatch(1000, 1 << 20)!.Lines));
    }

    [Fact]
    public async Task CorruptRecord_IsDetectedByItsChecksum()
    {
        using (var spool = new DiskSpool(Options()))
        {
            await spool.AppendAsync(Lines(0, 10), 10);
            await spool.AppendAsync(Lines(10, 10), 10);
        }

        string segment = Directory.GetFiles(_dir, "*.spool").Single();
        byte[] bytes = await File.ReadAllBytesAsync(segment);
        bytes[^3] ^= 0x55; // flip bits in the last record's payload
        await File.WriteAllBytesAsync(segment, bytes);

        using var reopened = new DiskSpool(Options());
        Assert.Equal(10, reopened.PendingPoints);
        Assert.Equal(Enumerable.Range(0, 10), Values(reopened.ReadBatch(1000, 1 << 20)!.Lines));
    }

    [Fact]
    public async Task Full_RefusesTheAppend_WritesNothing_AndTakesMoreOnceDrained()
    {
        using var spool = new DiskSpool(Options(maxBytes: 1 << 20, segmentBytes: 128 * 1024));
        byte[] chunk = Lines(0, 4000);
        int accepted = 0;
        while (await spool.AppendAsync(chunk, 4000))
        {
            accepted++;
        }

        long pending = spool.PendingBytes;
        Assert.True(pending <= 1 << 20);
        Assert.False(await spool.AppendAsync(chunk, 4000));
        Assert.Equal(pending, spool.PendingBytes);
        spool.Commit(spool.ReadBatch(4000, 1 << 20)!);
        Assert.True(await spool.AppendAsync(chunk, 4000));
        Assert.Equal(accepted * 4000, spool.PendingPoints);
    }

    [Fact]
    public async Task ConcurrentAppends_AreAllKept()
    {
        using var spool = new DiskSpool(Options(maxBytes: 64 << 20, segmentBytes: 256 * 1024));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 50; i++)
            {
                Assert.True(await spool.AppendAsync(Lines(((w * 50) + i) * 10, 10), 10));
            }
        })));

        var seen = new List<int>();
        while (spool.ReadBatch(333, 1 << 20) is { } batch)
        {
            seen.AddRange(Values(batch.Lines));
            spool.Commit(batch);
        }

        Assert.Equal(Enumerable.Range(0, 4000), seen.Order());
    }
}
