using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// Gauges of one inference server (e.g. a vLLM instance) at one scrape: queue depth and KV-cache use. Token and request
/// counters from the same server become <see cref="InferenceWindow"/> deltas instead.
/// </summary>
public sealed record InferenceServerSample : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    public required string Model { get; init; }

    /// <summary>The scraped instance (host:port or pod), bounded by the deployment size.</summary>
    public required string Instance { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public double? RequestsRunning { get; init; }

    public double? RequestsWaiting { get; init; }

    /// <summary>KV-cache use, 0–1.</summary>
    public double? KvCacheUsageRatio { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.InferenceServer)
            .Tag(Tags.Instance, Instance)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Field(Fields.KvCacheUsageRatio, KvCacheUsageRatio)
            .Field(Fields.RequestsRunning, RequestsRunning)
            .Field(Fields.RequestsWaiting, RequestsWaiting)
            .End(UnixTime.ToNanoseconds(Time));
    }
}
