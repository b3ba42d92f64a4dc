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

/// <summary>
/// Values of the <see cref="Tags.NodePowerSource"/> tag on <c>cost_window</c>: where a row's node (non-GPU) energy came from.
/// </summary>
public static class NodePowerSources
{
    /// <summary>The node's measured power (<c>node_sample</c>) in the window, less its GPUs' power.</summary>
    public const string Measured = "measured";

    /// <summary>No node power measured in the window: the pricing file's fixed <c>energy.nodePowerWatts</c>.</summary>
    public const string Fixed = "fixed";

    /// <summary>Neither measured nor configured: no node energy.</summary>
    public const string None = "none";

    /// <summary>A sum over rows of more than one of the above (e.g. the fleet total of a window with measured and fixed nodes).</summary>
    public const string Mixed = "mixed";

    /// <summary>The source of a sum of rows: the one source they share, <see cref="Mixed"/> if they differ, null for no rows.</summary>
    public static string? Combine(string? left, string? right) =>
        left is null ? right : right is null || string.Equals(left, right, StringComparison.Ordinal) ? left : Mixed;
}
