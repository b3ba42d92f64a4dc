using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// A durable, ordered on-disk queue of line-protocol batches: every point the collector acknowledges is appended here
/// (and flushed to disk) before the acknowledgement, and a forwarder reads it in order and writes it to the store.
/// </summary>
/// <remarks>
/// <para>Layout: segment files <c>segment-{sequence:D12}.spool</c>, each a run of records
/// <c>[magic u32][payload length u32][point count u32][CRC-32C u32][payload]</c> (little-endian), and
/// <c>read.position</c> holding the sequence and offset of the first record not yet written to the store (replaced
/// atomically by rename).</para>
/// <para>After a crash, the tail of the last segment is checked record by record and cut at the first torn or corrupt
/// record, so only an append that was never acknowledged can be lost. Records between the saved read position and
/// the last store write are sent again; the store overwrites identical points, so nothing is counted twice.</para>
/// <para>Trace context: each record's appending span (<see cref="Activity.Current"/>) is kept in memory beside the
/// spool, at most <see cref="MaxTracedRecords"/> records, and handed to the forwarder with the batch
/// (<see cref="SpoolBatch.Traces"/>), so ingest, spool, forwarder and store write are one trace. It is not written to
/// disk: a record forwarded after a restart starts a trace of its own, and the file format stays the same.</para>
/// </remarks>
public sealed class DiskSpool : IDisposable
{
    private const uint Magic = 0x5053434F; // "OCSP"
    private const int HeaderBytes = 16;
    private const string PositionFile = "read.position";

    /// <summary>Records whose trace context is kept (a bound on memory: beyond it, a record's forwarding starts a trace of its own).</summary>
    public const int MaxTracedRecords = 10_000;

    private readonly SpoolOptions _options;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly Lock _state = new();
    private readonly List<Segment> _segments = [];
    private readonly SemaphoreSlim _dataAvailable = new(0, int.MaxValue);
    private FileStream? _appendStream;
    private long _readSequence;
    private long _readOffset;
    private long _pendingBytes;
    private long _pendingPoints;
    private bool _disposed;

    // (sequence, offset) of a record's start -> its appending span; the queue holds the keys in spool order, so a
    // commit removes its records' entries from the front. Both under _state.
    private readonly Dictionary<(long Sequence, long Offset), ActivityContext> _traces = [];
    private readonly Queue<(long Sequence, long Offset)> _tracedOrder = new();

    public DiskSpool(SpoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Directory.CreateDirectory(options.Directory);
        Recover();
    }

    /// <summary>Bytes on disk not yet written to the store.</summary>
    public long PendingBytes => Interlocked.Read(ref _pendingBytes);

    /// <summary>Points on disk not yet written to the store.</summary>
    public long PendingPoints => Interlocked.Read(ref _pendingPoints);

    /// <summary>Records cut from a torn tail at start-up (appends that were never acknowledged).</summary>
    public int RecoveredTornRecords { get; private set; }

    /// <summary>
    /// Appends one batch and flushes it to disk. Returns false, writing nothing, if the spool would grow past
    /// <see cref="SpoolOptions.MaxBytes"/> (the caller answers 429).
    /// </summary>
    public ValueTask<bool> AppendAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken = default) =>
        AppendAsync([(lines, pointCount)], cancellationToken);

    /// <summary>
    /// Appends several records (one request cut into forwarder-sized pieces), each flushed like a single append: all
    /// of them, or nothing when the spool would grow past <see cref="SpoolOptions.MaxBytes"/>.
    /// </summary>
    public async ValueTask<bool> AppendAsync(IReadOnlyList<(ReadOnlyMemory<byte> Lines, int PointCount)> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long totalBytes = 0;
        foreach ((ReadOnlyMemory<byte> lines, int pointCount) in records)
        {
            totalBytes += pointCount <= 0 || lines.IsEmpty ? 0 : HeaderBytes + lines.Length;
        }

        if (totalBytes == 0)
        {
            return true;
        }

        await _appendLock.WaitAsync(cancellationToken);
        try
        {
            if (PendingBytes + totalBytes > _options.MaxBytes)
            {
                return false;
            }

            byte[] header = new byte[HeaderBytes];
            foreach ((ReadOnlyMemory<byte> lines, int pointCount) in records)
            {
                if (pointCount <= 0 || lines.IsEmpty)
                {
                    continue;
                }

                long recordBytes = HeaderBytes + lines.Length;
                Segment segment = CurrentSegmentForAppend(recordBytes);
                BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), lines.Length);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), pointCount);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), Crc32.Compute(lines.Span));
                FileStream stream = _appendStream!;
                await stream.WriteAsync(header, cancellationToken);
                await stream.WriteAsync(lines, cancellationToken);
                if (_options.FlushToDisk)
                {
                    stream.Flush(flushToDisk: true);
                }
                else
                {
                    await stream.FlushAsync(cancellationToken);
                }

                lock (_state)
                {
                    if (Activity.Current is { } appending && _traces.Count < MaxTracedRecords)
                    {
                        _traces[(segment.Sequence, segment.Length)] = appending.Context;
                        _tracedOrder.Enqueue((segment.Sequence, segment.Length));
                    }

                    segment.Length += recordBytes;
                }

                Interlocked.Add(ref _pendingBytes, recordBytes);
                Interlocked.Add(ref _pendingPoints, pointCount);
            }

            _dataAvailable.Release();
            return true;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    /// <summary>Waits until something may be there to read.</summary>
    public async Task WaitForDataAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (PendingPoints > 0)
        {
            return;
        }

        await _dataAvailable.WaitAsync(timeout, cancellationToken);
    }

    /// <summary>
    /// Reads records from the saved read position (or from where <paramref name="after"/> ended), up to
    /// <paramref name="maxPoints"/> points and <paramref name="maxBytes"/> bytes (at least one record). Nothing is
    /// consumed until <see cref="Commit"/>.
    /// </summary>
    public SpoolBatch? ReadBatch(int maxPoints, int maxBytes, SpoolBatch? after = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long sequence;
        long offset;
        Segment[] segments;
        lock (_state)
        {
            sequence = after?.EndSequence ?? _readSequence;
            offset = after?.EndOffset ?? _readOffset;
            segments = _segments.ToArray();
        }

        var chunks = new List<byte[]>();
        var traces = new List<ActivityContext>();
        long payloadBytes = 0;
        int points = 0;
        int records = 0;
        foreach (Segment segment in segments)
        {
            if (segment.Sequence < sequence)
            {
                continue;
            }

            if (segment.Sequence > sequence)
            {
                sequence = segment.Sequence;
                offset = 0;
            }

            long length;
            lock (_state)
            {
                length = segment.Length;
            }

            if (offset >= length)
            {
                continue;
            }

            using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.Position = offset;
            byte[] header = new byte[HeaderBytes];
            while (offset < length)
            {
                file.ReadExactly(header);
                int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
                int count = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
                if (records > 0 && (points + count > maxPoints || payloadBytes + payloadLength > maxBytes))
                {
                    return new SpoolBatch(Join(chunks, payloadBytes), points, records, sequence, offset) { Traces = traces };
                }

                byte[] data = new byte[payloadLength];
                file.ReadExactly(data);
                if (Crc32.Compute(data) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12)))
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"Spool record at {segment.Path}:{offset} fails its checksum."));
                }

                chunks.Add(data);
                lock (_state)
                {
                    if (_traces.TryGetValue((sequence, offset), out ActivityContext trace))
                    {
                        traces.Add(trace);
                    }
                }

                payloadBytes += payloadLength;
                points += count;
                records++;
                offset += HeaderBytes + payloadLength;
            }
        }

        return records == 0 ? null : new SpoolBatch(Join(chunks, payloadBytes), points, records, sequence, offset) { Traces = traces };
    }

    /// <summary>One record's payload is used as it is; several are joined once.</summary>
    private static byte[] Join(List<byte[]> chunks, long totalBytes)
    {
        if (chunks.Count == 1)
        {
            return chunks[0];
        }

        byte[] joined = new byte[totalBytes];
        int at = 0;
        foreach (byte[] chunk in chunks)
        {
            chunk.CopyTo(joined, at);
            at += chunk.Length;
        }

        return joined;
    }

    /// <summary>Marks a batch as written to the store: saves the read position and deletes finished segments.</summary>
    public void Commit(SpoolBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        List<Segment> finished = [];
        lock (_state)
        {
            _readSequence = batch.EndSequence;
            _readOffset = batch.EndOffset;
            while (_tracedOrder.TryPeek(out (long Sequence, long Offset) traced)
                && (traced.Sequence < _readSequence || (traced.Sequence == _readSequence && traced.Offset < _readOffset)))
            {
                _tracedOrder.Dequeue();
                _traces.Remove(traced);
            }

            foreach (Segment segment in _segments)
            {
                bool isAppendTarget = segment == _segments[^1];
                if (segment.Sequence < _readSequence || (segment.Sequence == _readSequence && _readOffset >= segment.Length && !isAppendTarget))
                {
                    finished.Add(segment);
                }
            }
        }

        SavePosition(batch.EndSequence, batch.EndOffset);
        lock (_state)
        {
            foreach (Segment segment in finished)
            {
                _segments.Remove(segment);
            }
        }

        foreach (Segment segment in finished)
        {
            File.Delete(segment.Path);
        }

        Interlocked.Add(ref _pendingBytes, -batch.PayloadBytesWithHeaders);
        Interlocked.Add(ref _pendingPoints, -batch.PointCount);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _appendStream?.Dispose();
        _appendLock.Dispose();
        _dataAvailable.Dispose();
    }

    private Segment CurrentSegmentForAppend(long recordBytes)
    {
        lock (_state)
        {
            Segment? last = _segments.Count > 0 ? _segments[^1] : null;
            if (last is not null && _appendStream is not null && (last.Length == 0 || last.Length + recordBytes <= _options.SegmentBytes))
            {
                return last;
            }

            long sequence = last is null ? _readSequence + 1 : last.Sequence + 1;
            var segment = new Segment(sequence, SegmentPath(sequence)) { Length = 0 };
            _appendStream?.Dispose();
            _appendStream = new FileStream(segment.Path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, 64 * 1024);
            _segments.Add(segment);
            return segment;
        }
    }

    private string SegmentPath(long sequence) =>
        Path.Combine(_options.Directory, string.Create(CultureInfo.InvariantCulture, $"segment-{sequence:D12}.spool"));

    private void Recover()
    {
        (_readSequence, _readOffset) = LoadPosition();
        var files = Directory.GetFiles(_options.Directory, "segment-*.spool")
            .Select(path => (Path: path, Sequence: long.Parse(Path.GetFileNameWithoutExtension(path).AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture)))
            .OrderBy(f => f.Sequence)
            .ToList();
        foreach ((string path, long sequence) in files)
        {
            if (sequence < _readSequence)
            {
                File.Delete(path);
                continue;
            }

            (long validLength, int points, int torn) = Scan(path, sequence == _readSequence ? _readOffset : 0);
            if (torn > 0)
            {
                using var truncate = new FileStream(path, FileMode.Open, FileAccess.Write);
                truncate.SetLength(validLength);
                truncate.Flush(flushToDisk: true);
                RecoveredTornRecords += torn;
            }

            _segments.Add(new Segment(sequence, path) { Length = validLength });
            long from = sequence == _readSequence ? _readOffset : 0;
            _pendingBytes += Math.Max(0, validLength - from);
            _pendingPoints += points;
        }

        if (_segments.Count > 0)
        {
            Segment last = _segments[^1];
            _appendStream = new FileStream(last.Path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, 64 * 1024);
        }
    }

    /// <summary>Walks a segment's records; returns the length of its valid prefix, the points after <paramref name="countFrom"/>, and whether a bad tail was found.</summary>
    private static (long ValidLength, int Points, int Torn) Scan(string path, long countFrom)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long length = file.Length;
        long offset = 0;
        int points = 0;
        byte[] header = new byte[HeaderBytes];
        while (offset + HeaderBytes <= length)
        {
            file.Position = offset;
            file.ReadExactly(header);
            int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
            int count = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || payloadLength < 0 || count < 0 || offset + HeaderBytes + payloadLength > length)
            {
                break;
            }

            byte[] data = new byte[payloadLength];
            file.ReadExactly(data);
            if (Crc32.Compute(data) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12)))
            {
                break;
            }

            if (offset >= countFrom)
            {
                points += count;
            }

            offset += HeaderBytes + payloadLength;
        }

        return (offset, points, offset < length ? 1 : 0);
    }

    private (long Sequence, long Offset) LoadPosition()
    {
        string path = Path.Combine(_options.Directory, PositionFile);
        if (!File.Exists(path))
        {
            return (0, 0);
        }

        string[] parts = File.ReadAllText(path).Trim().Split(' ');
        if (parts.Length != 2 ||
            !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long sequence) ||
            !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
        {
            throw new InvalidDataException($"The spool read position in {path} is unreadable; remove it to replay the whole spool.");
        }

        return (sequence, offset);
    }

    private void SavePosition(long sequence, long offset)
    {
        string path = Path.Combine(_options.Directory, PositionFile);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{sequence} {offset}"));
            writer.Flush();

            // Not fsynced: a position lost in a crash only replays batches the store already has, and they overwrite.
            stream.Flush(flushToDisk: false);
        }

        File.Move(temp, path, overwrite: true);
    }

    private sealed class Segment(long sequence, string path)
    {
        public long Sequence { get; } = sequence;

        public string Path { get; } = path;

        public long Length { get; set; }
    }
}

/// <summary>Records read from the spool, and where reading ended.</summary>
public sealed record SpoolBatch(byte[] Lines, int PointCount, int RecordCount, long EndSequence, long EndOffset)
{
    /// <summary>The appending spans of the batch's records that the spool still knew (in spool order; none after a restart).</summary>
    public IReadOnlyList<ActivityContext> Traces { get; init; } = [];

    public long PayloadBytesWithHeaders => Lines.LongLength + (16L * RecordCount);
}

/// <summary>The spool. Configuration section <c>Collector:Spool</c>.</summary>
public sealed class SpoolOptions
{
    public const string SectionName = "Collector:Spool";

    public string Directory { get; set; } = "data/spool";

    /// <summary>Largest spool on disk; beyond it ingest answers 429.</summary>
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>Size at which a new segment file is started.</summary>
    public long SegmentBytes { get; set; } = 64L << 20;

    /// <summary>fsync each append before acknowledging it (off only for tests and benchmarks that measure without it).</summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>The Retry-After sent with 429 when the spool is full.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// CRC-32C (Castagnoli) with the processor's CRC32 instruction through <see cref="System.Numerics.BitOperations.Crc32C(uint, ulong)"/>
/// (a software fallback in the runtime where the instruction is missing). System.IO.Hashing is not in the registry
/// this project builds from.
/// </summary>
internal static class Crc32
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = System.Numerics.BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = System.Numerics.BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
