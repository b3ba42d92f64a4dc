using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// The ingest rules that keep one tenant out of another's figures, shared by every push endpoint: a point pushed with a
/// tenant-bound token carries <c>tenant=&lt;the token's tenant&gt;</c> (cost attribution reads that tag before the
/// namespace), a <c>namespace</c> that names anything else is refused, and the measurements the analytics service
/// computes are refused for every caller.
/// </summary>
public static class TenantBinding
{
    /// <summary>The reason a point of <paramref name="caller"/> with this namespace is refused, or null.</summary>
    public static string? NamespaceConflict(IngestCaller caller, string? @namespace)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.Tenant is not null && !string.IsNullOrEmpty(@namespace) && !string.Equals(@namespace, caller.Tenant, StringComparison.Ordinal)
            ? $"namespace '{@namespace}' is not the token's tenant '{caller.Tenant}': a tenant token writes only its own namespace"
            : null;
    }

    /// <summary>The reason a point of this measurement is refused at ingest, or null.</summary>
    public static string? ComputedMeasurement(ReadOnlySpan<byte> measurementUtf8) =>
        Measurements.IsComputed(measurementUtf8)
            ? "the measurement is computed by the analytics service and cannot be written through ingest"
            : null;
}
