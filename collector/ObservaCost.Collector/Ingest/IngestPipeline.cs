using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Where every source hands its encoded points: the durable spool. A source acknowledges its input only after
/// <see cref="AcceptAsync"/> returned true.
/// </summary>
public sealed class IngestPipeline(DiskSpool spool, CollectorMetrics metrics, IOptions<SpoolOptions> spoolOptions)
{
    public TimeSpan RetryAfter => spoolOptions.Value.RetryAfter;

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

        if (!await spool.AppendAsync(encoded.WrittenMemory, encoded.PointCount, cancellationToken))
        {
            return false;
        }

        metrics.Received(source, encoded.PointCount);
        return true;
    }
}
