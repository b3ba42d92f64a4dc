using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// One measured reading of a whole node's (server's) power, from its baseboard management controller (IPMI DCMI,
/// Redfish) or another node-level source. Analytics takes the node's non-GPU power from it (docs/analytics.md,
/// "Whole-node power").
/// </summary>
public sealed record NodeSample : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    public string? Cluster { get; init; }

    public required string Node { get; init; }

    public string? Pool { get; init; }

    /// <summary>What measured it (e.g. <c>ipmi_dcmi</c>, <c>redfish</c>).</summary>
    public required string Source { get; init; }

    /// <summary>What the reading covers: <see cref="NodePowerScopes"/>.</summary>
    public required string Scope { get; init; }

    public double? PowerWatts { get; init; }

    /// <summary>An energy counter of the node, joules, where the source has one.</summary>
    public double? EnergyJoules { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.NodeSample)
            .Tag(Tags.Cluster, Cluster)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Scope, Scope)
            .Tag(Tags.Source, Source)
            .Field(Fields.EnergyJoules, EnergyJoules)
            .Field(Fields.PowerWatts, PowerWatts)
            .End(UnixTime.ToNanoseconds(Time));
    }
}

/// <summary>Values of the <see cref="Tags.Scope"/> tag on <c>node_sample</c>.</summary>
public static class NodePowerScopes
{
    /// <summary>The whole server's input power, its GPUs included (IPMI DCMI, Redfish chassis power).</summary>
    public const string WholeNode = "node";

    /// <summary>The node's power without its GPUs, measured as such.</summary>
    public const string NonGpu = "non_gpu";
}
