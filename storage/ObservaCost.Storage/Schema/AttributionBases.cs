namespace ObservaCost.Storage.Schema;

/// <summary>
/// Values of the <see cref="Tags.AttributionBasis"/> tag on cost windows: which signal divided the row's GPU
/// (docs/analytics.md, "MIG instances" and "Shared GPUs").
/// </summary>
public static class AttributionBases
{
    /// <summary>A whole GPU, one allocation at a time.</summary>
    public const string WholeGpu = "whole_gpu";

    /// <summary>A MIG instance (or the GPU's free slices): hardware by slices, energy by slices and activity.</summary>
    public const string MigSlices = "mig_slices";

    /// <summary>A MIG instance without activity readings: its energy by slices alone.</summary>
    public const string MigSlicesNoActivity = "mig_slices_no_activity";

    /// <summary>A MIG GPU whose model or instance profiles the slices table does not know: equal shares per instance.</summary>
    public const string MigEqual = "mig_equal";

    /// <summary>A shared GPU divided by each workload's own utilization.</summary>
    public const string ProcessUtilization = "process_utilization";

    /// <summary>A shared GPU divided by the weighted tokens each workload's (model, tenant) served in the window.</summary>
    public const string Tokens = "tokens";

    /// <summary>A shared GPU divided by the fraction each workload requested.</summary>
    public const string RequestedFraction = "requested_fraction";

    /// <summary>As <see cref="RequestedFraction"/>, the requests adding up to more than the GPU and so normalised.</summary>
    public const string RequestedFractionNormalised = "requested_fraction_normalised";

    /// <summary>A shared GPU divided equally over the workloads on it.</summary>
    public const string Equal = "equal";
}
