using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Idle;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Attribution;

/// <summary>Who a GPU served during [Start, End): a model and tenant, or nobody (both null).</summary>
public sealed record AllocationSpan(DateTimeOffset Start, DateTimeOffset End, string? Model, string? Tenant);

/// <summary>What is known of one GPU in one window.</summary>
public sealed record GpuWindowInput
{
    public required string GpuUuid { get; init; }

    public required string Node { get; init; }

    public string? Pool { get; init; }

    public string? GpuModel { get; init; }

    /// <summary>
    /// The tenant this GPU's samples were bound to at ingest (the <c>tenant</c> tag), null for the fleet's own sources:
    /// such a GPU is read apart from the fleet's view of the same UUID, all its time is that tenant's, and it shares
    /// node power only with GPUs bound to the same tenant.
    /// </summary>
    public string? BoundTenant { get; init; }

    /// <summary>Non-overlapping spans in time order; time they do not cover is unallocated.</summary>
    public IReadOnlyList<AllocationSpan> Allocations { get; init; } = [];

    public IReadOnlyList<TimedValue> PowerWatts { get; init; } = [];

    /// <summary>The GPU's energy counter; used instead of <see cref="PowerWatts"/> when it has two readings or more.</summary>
    public IReadOnlyList<TimedValue> EnergyCounterJoules { get; init; } = [];

    /// <summary>Graphics-engine activity × 100 where the source has it, else GPU utilization, in %.</summary>
    public IReadOnlyList<TimedValue> UtilizationPercent { get; init; } = [];

    /// <summary>
    /// Sums of the clamped utilization samples the utilized GPU-hours are the mean of; null means each sample of
    /// <see cref="UtilizationPercent"/> on its own (the rollup's expanded series has stand-in samples, so it gives its sums).
    /// </summary>
    public IReadOnlyList<UtilizationBucket>? UtilizationBuckets { get; init; }

    /// <summary>This GPU's share of its node's non-GPU power (CPU, memory, fans, NICs), charged like GPU power.</summary>
    public double NodePowerWatts { get; init; }

    /// <summary>
    /// The parts a divided GPU is split into: its MIG instances, or the whole GPU as one part shared by workloads; null
    /// for a whole GPU with one allocation at a time (<see cref="Allocations"/>). See <see cref="GpuPartition"/>.
    /// </summary>
    public IReadOnlyList<GpuPartition>? Partitions { get; init; }

    /// <summary>The compute slices <see cref="Partitions"/> divide (7 on an H100; 1 for a shared whole GPU); slices no part holds are the GPU's own idle capacity.</summary>
    public double TotalSlices { get; init; } = 1;

    /// <summary>The GPU is MIG-partitioned but the slices table knows its model or a profile not: its instances share it equally.</summary>
    public bool MigSlicesUnknown { get; init; }

    /// <summary>The step a divided GPU's shares and activity are taken per (the reader's resolution).</summary>
    public TimeSpan ShareStep { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// This GPU's share of its node's measured non-GPU power over time (<see cref="NodePowerAttribution"/>); when it has
    /// samples it is integrated like GPU power and <see cref="NodePowerWatts"/> is not used.
    /// </summary>
    public IReadOnlyList<TimedValue> NodeNonGpuPowerWatts { get; init; } = [];

    /// <summary>Where the node power came from: <c>measured</c>, <c>fixed</c> or <c>none</c> (<see cref="ObservaCost.Storage.Schema.NodePowerSources"/>).</summary>
    public string? NodePowerSource { get; init; }
}

/// <summary>The cost of one GPU's time attributed to one model and tenant (or to nobody).</summary>
public sealed record GpuCostLine(
    string? Model,
    string? Tenant,
    double GpuHours,
    double GpuEnergyJoules,
    double FacilityEnergyJoules,
    double CapexUsd,
    double OpexUsd,
    double EnergyCostUsd,
    double NodeEnergyJoules = 0,
    double UtilizedGpuHours = 0,
    double RentalUsd = 0,
    double OperationalCo2eGrams = double.NaN,
    double EmbodiedCo2eGrams = 0)
{
    public double CostUsd => CapexUsd + OpexUsd + RentalUsd + EnergyCostUsd;

    /// <summary>The MIG GPU instance the line is a part of; null for a whole GPU and for a MIG GPU's free slices.</summary>
    public string? MigInstance { get; init; }

    public string? MigProfile { get; init; }

    /// <summary>How the line's share of the GPU was found (<see cref="ObservaCost.Storage.Schema.AttributionBases"/>); null: a whole GPU.</summary>
    public string? AttributionBasis { get; init; }

    /// <summary>Operational + embodied gCO2e; NaN when the grid's carbon intensity is unknown or not configured.</summary>
    public double Co2eGrams => OperationalCo2eGrams + EmbodiedCo2eGrams;
}

/// <summary>
/// One GPU's window: cost lines that add up to its whole cost, and its idle share of it (idle energy is facility
/// energy, PUE included, as the idle dollars are).
/// </summary>
public sealed record GpuWindowCost(
    IReadOnlyList<GpuCostLine> Lines,
    double IdleGpuHours,
    double IdleCostUsd,
    double IdleEnergyJoules,
    double IdleCo2eGrams = double.NaN)
{
    public double CostUsd => Lines.Sum(l => l.CostUsd);

    public double GpuHours => Lines.Sum(l => l.GpuHours);
}

/// <summary>
/// Prices one GPU over one window. The GPU is charged for the whole window (capex, opex and a rental's hourly price accrue
/// whether it works or not, each its own component), split by time over its allocation
/// spans; each span's energy is integrated over that span alone (the counter where there is one, else power), priced
/// at the tariff of each moment and scaled by PUE. Idle time (see <see cref="IdleDetector"/>) is costed the same way
/// over the idle intervals, whether the GPU was allocated or not, so idle dollars are a part of the total, never extra.
/// Carbon goes with the energy and the hours: operational gCO2e = facility energy (GPU and node) × the grid's intensity
/// of each moment, embodied gCO2e = GPU-hours × the entry's amortised embodied carbon; idle carbon like idle dollars.
/// Without a carbon intensity (<see cref="EnergyPricing.Carbon"/> null) operational carbon is NaN: unknown.
/// </summary>
public static partial class GpuCostCalculator
{
    public static GpuWindowCost Compute(
        GpuWindowInput gpu,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        PriceEntry price,
        EnergyPricing energy,
        TariffSchedule schedule,
        IdleThresholds idle,
        TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(price);
        ArgumentNullException.ThrowIfNull(energy);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(idle);
        if (gpu.Partitions is { Count: > 0 })
        {
            return ComputeDivided(gpu, windowStart, windowEnd, price, energy, schedule, idle, maxGap);
        }

        var lines = new List<GpuCostLine>();
        IReadOnlyList<UtilizationBucket> buckets = gpu.UtilizationBuckets ?? GpuTrace.Buckets(gpu.UtilizationPercent);
        foreach (AllocationSpan span in Segments(gpu.Allocations, windowStart, windowEnd))
        {
            Hardware hw = Hardware.Of(price, span.Start, span.End);
            EnergyCostResult e = EnergyOf(gpu, span.Start, span.End, energy, schedule, maxGap);
            EnergyCostResult node = NodeEnergyOf(gpu, span.Start, span.End, energy, schedule, maxGap);
            lines.Add(new GpuCostLine(span.Model, span.Tenant, hw.Hours, e.EnergyJoules, e.FacilityEnergyJoules + node.FacilityEnergyJoules, hw.CapexUsd, hw.OpexUsd,
                price.EnergyBilledSeparately ? e.CostUsd + node.CostUsd : 0, node.EnergyJoules, hw.Hours * MeanUtilization(buckets, span.Start, span.End) / 100, hw.RentalUsd,
                Operational(energy, e + node), hw.EmbodiedCo2eGrams));
        }

        IdleResult idleResult = IdleDetector.Detect(gpu.UtilizationPercent.ToArray(), windowStart, windowEnd, idle, maxGap);
        double idleHours = 0, idleCost = 0, idleEnergy = 0, idleCo2e = 0;
        foreach (TimeInterval interval in idleResult.IdleIntervals)
        {
            Hardware hw = Hardware.Of(price, interval.Start, interval.End);
            EnergyCostResult e = EnergyOf(gpu, interval.Start, interval.End, energy, schedule, maxGap) +
                NodeEnergyOf(gpu, interval.Start, interval.End, energy, schedule, maxGap);
            idleHours += hw.Hours;
            idleEnergy += e.FacilityEnergyJoules;
            idleCost += hw.CapexUsd + hw.OpexUsd + hw.RentalUsd + (price.EnergyBilledSeparately ? e.CostUsd : 0);
            idleCo2e += Operational(energy, e) + hw.EmbodiedCo2eGrams;
        }

        return new GpuWindowCost(lines, idleHours, idleCost, idleEnergy, energy.Carbon is null ? double.NaN : idleCo2e);
    }

    /// <summary>The allocation spans clipped to the window, with the time between them as unallocated spans.</summary>
    public static IReadOnlyList<AllocationSpan> Segments(IReadOnlyList<AllocationSpan> allocations, DateTimeOffset windowStart, DateTimeOffset windowEnd)
    {
        ArgumentNullException.ThrowIfNull(allocations);
        var segments = new List<AllocationSpan>();
        DateTimeOffset at = windowStart;
        foreach (AllocationSpan a in allocations.OrderBy(a => a.Start))
        {
            DateTimeOffset start = a.Start < at ? at : a.Start;
            DateTimeOffset end = a.End > windowEnd ? windowEnd : a.End;
            if (end <= start)
            {
                continue;
            }

            if (start > at)
            {
                segments.Add(new AllocationSpan(at, start, null, null));
            }

            segments.Add(a with { Start = start, End = end });
            at = end;
        }

        if (at < windowEnd)
        {
            segments.Add(new AllocationSpan(at, windowEnd, null, null));
        }

        return segments;
    }

    /// <summary>The hardware components of [start, end): each rate × the hours (embodied carbon amortises like capex).</summary>
    private readonly record struct Hardware(double Hours, double CapexUsd, double OpexUsd, double RentalUsd, double EmbodiedCo2eGrams)
    {
        public static Hardware Of(PriceEntry price, DateTimeOffset start, DateTimeOffset end)
        {
            double hours = (end - start).TotalHours;
            return new(hours, hours * price.CapexUsdPerGpuHour, hours * price.OpexUsdPerGpuHour, hours * price.RentalUsdPerGpuHour, hours * price.EmbodiedCo2eGramsPerGpuHour);
        }
    }

    /// <summary>The operational gCO2e of integrated energy; NaN (unknown) when no carbon intensity is configured.</summary>
    private static double Operational(EnergyPricing energy, EnergyCostResult e) => energy.Carbon is null ? double.NaN : e.Co2eGrams;

    /// <summary>The mean of the (clamped) utilization samples taken in [start, end), 0 when there are none.</summary>
    private static double MeanUtilization(IReadOnlyList<UtilizationBucket> buckets, DateTimeOffset start, DateTimeOffset end) =>
        MeanUtilization(buckets, start, end, out _);

    private static EnergyCostResult NodeEnergyOf(GpuWindowInput gpu, DateTimeOffset start, DateTimeOffset end, EnergyPricing energy, TariffSchedule schedule, TimeSpan maxGap) =>
        gpu.NodeNonGpuPowerWatts.Count > 0 ? EnergyCost.OfPowerSamples(gpu.NodeNonGpuPowerWatts.ToArray(), maxGap, start, end, schedule, energy.Pue)
        : gpu.NodePowerWatts > 0 ? EnergyCost.OfConstantPower(gpu.NodePowerWatts, start, end, schedule, energy.Pue)
        : default;

    private static EnergyCostResult EnergyOf(GpuWindowInput gpu, DateTimeOffset start, DateTimeOffset end, EnergyPricing energy, TariffSchedule schedule, TimeSpan maxGap) =>
        gpu.EnergyCounterJoules.Count >= 2
            ? EnergyCost.OfCounterSamples(gpu.EnergyCounterJoules.ToArray(), start, end, schedule, energy.Pue)
            : EnergyCost.OfPowerSamples(gpu.PowerWatts.ToArray(), maxGap, start, end, schedule, energy.Pue);
}
