using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Where every source hands its encoded points: the durable spool. A source acknowledges its input only after
/// an <c>AcceptAsync</c> returned true.
/// </summary>
public sealed class IngestPipeline(DiskSpool spool, CollectorMetrics metrics, IOptions<SpoolOptions> spoolOptions)
{
    public TimeSpan RetryAfter => spoolOptions.Value.RetryAfter;

    /// <summary>Appends lines that are already nanosecond line protocol, each ending in a newline.</summary>
    public async ValueTask<bool> AcceptAsync(ReadOnlyMemory<byte> lines, int pointCount, string source, CancellationToken cancellationToken)
    {
        if (pointCount == 0)
        {
            return true;
        }

        if (!await spool.AppendAsync(lines, pointCount, cancellationToken))
        {
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
}
