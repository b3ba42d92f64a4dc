using System.Diagnostics;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Where every source hands its encoded points: the durable spool. A source acknowledges its input only after
/// an <c>AcceptAsync</c> returned true.
/// </summary>
public sealed class IngestPipeline(DiskSpool spool, CollectorMetrics metrics, IOptions<SpoolOptions> spoolOptions, IOptions<ForwarderOptions> forwarderOptions)
{
    public TimeSpan RetryAfter => spoolOptions.Value.RetryAfter;

    /// <summary>Appends lines that are already nanosecond line protocol, each ending in a newline.</summary>
    public async ValueTask<bool> AcceptAsync(ReadOnlyMemory<byte> lines, int pointCount, string source, CancellationToken cancellationToken)
    {
        if (pointCount == 0)
        {
            return true;
        }

        // The records keep this span's context (in memory, DiskSpool) for the forwarder's span: one trace from ingest to store.
        using Activity? activity = CollectorMetrics.ActivitySource.StartActivity("spool append");
        activity?.SetTag("observacost.source", source);
        activity?.SetTag("observacost.batch.points", pointCount);
        ForwarderOptions forwarder = forwarderOptions.Value;
        bool appended = lines.Length <= forwarder.MaxBatchBytes && pointCount <= forwarder.MaxBatchPoints
            ? await spool.AppendAsync(lines, pointCount, cancellationToken)
            : await spool.AppendAsync(Split(lines, pointCount, forwarder.MaxBatchPoints, forwarder.MaxBatchBytes), cancellationToken);
        if (!appended)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "spool full");
            return false;
        }

        metrics.Received(source, pointCount);
        return true;
    }

    /// <summary>Appends the points durably. False: the spool is full, nothing was taken, the caller answers 429.</summary>
    public async ValueTask<bool> AcceptAsync(LineProtocolWriter encoded, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (encoded.PointCount == 0)
        {
            return true;
        }

        if (encoded.Precision != WritePrecision.Nanoseconds)
        {
            throw new ArgumentException("The spool holds nanosecond line protocol.", nameof(encoded));
        }

        return await AcceptAsync(encoded.WrittenMemory, encoded.PointCount, source, cancellationToken);
    }

    /// <summary>
    /// Cuts a large body into spool records the forwarder reads one batch at a time (at most
    /// <paramref name="maxPoints"/> points and about <paramref name="maxBytes"/> bytes each), at point boundaries found by
    /// the parser (a string field may hold a line break). Without this a 30 MiB body was one record, read and parsed
    /// whole by the forwarder and the store: hundreds of megabytes for one request. The records are slices of
    /// <paramref name="lines"/>: nothing is copied.
    /// </summary>
    public static List<(ReadOnlyMemory<byte> Lines, int PointCount)> Split(ReadOnlyMemory<byte> lines, int pointCount, int maxPoints, int maxBytes)
    {
        var records = new List<(ReadOnlyMemory<byte>, int)>();
        var errors = new List<LineError>();
        int start = 0;
        int points = 0;
        int total = 0;
        LineProtocolParser.Scan(lines.Span, WritePrecision.Nanoseconds, 0, line =>
        {
            if (points > 0 && (points == maxPoints || line.Offset + line.Length - start > maxBytes))
            {
                records.Add((lines[start..line.Offset], points));
                start = line.Offset;
                points = 0;
            }

            points++;
            total++;
            return false;
        }, static _ => { }, errors);
        if (errors.Count > 0 || total != pointCount)
        {
            // Not cut where the parser disagrees with the encoder: the body stays one record, as it came.
            return [(lines, pointCount)];
        }

        records.Add((lines[start..], points));
        return records;
    }
}
