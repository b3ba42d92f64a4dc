using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Idle;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// One part of a divided GPU (docs/analytics.md, "MIG instances" and "Shared GPUs"): a MIG instance holding
/// <see cref="Slices"/> of the GPU's compute slices, or the whole GPU (<see cref="MigInstance"/> null, all slices)
/// shared by several workloads. Who holds the part over time is <see cref="Shares"/> when its workloads were weighed
/// (<see cref="GpuSharing"/>), else its own samples' <see cref="Allocations"/>, each holding all of it.
/// </summary>
public sealed record GpuPartition
{
    public string? MigInstance { get; init; }

    public string? MigProfile { get; init; }

    /// <summary>The compute slices this part holds (of <see cref="GpuWindowInput.TotalSlices"/>).</summary>
    public required double Slices { get; init; }

    /// <summary>The part's own allocation from its samples (a MIG instance's pod); time they do not cover is unallocated.</summary>
    public IReadOnlyList<AllocationSpan> Allocations { get; init; } = [];

    /// <summary>
    /// A MIG instance's graphics-engine activity × 100 (from its own samples), its idle signal and the weight of its
    /// energy share; unused for a whole GPU, which has the GPU's utilization.
    /// </summary>
    public IReadOnlyList<TimedValue> ActivityPercent { get; init; } = [];

    /// <summary>Sums of the activity samples (the rollup gives its own); null: each sample of <see cref="ActivityPercent"/>.</summary>
    public IReadOnlyList<UtilizationBucket>? ActivityBuckets { get; init; }

    /// <summary>The workloads seen on the part per step (<c>gpu_workload</c>, or several pods on one GPU's samples).</summary>
    public IReadOnlyList<WorkloadBucket> Workloads { get; init; } = [];

    /// <summary>Who held what fraction of the part when, once weighed; null: <see cref="Allocations"/>, each whole.</summary>
    public IReadOnlyList<AllocationShare>? Shares { get; init; }

    /// <summary>The basis of the part's rows (<see cref="AttributionBases"/>).</summary>
    public string AttributionBasis { get; init; } = AttributionBases.MigSlices;
}

/// <summary>One workload on a part in the step [Start, End): its model and tenant, and its mean own utilization and requested fraction where measured.</summary>
public sealed record WorkloadBucket(
    DateTimeOffset Start,
    DateTimeOffset End,
    string Workload,
    string? Model,
    string? Tenant,
    double? UtilizationPercent,
    double? RequestedFraction);

/// <summary>
/// A fraction <see cref="Weight"/> (0–1) of a part held by a model and tenant over [Start, End); with no model and
/// <see cref="Unused"/>, capacity no workload used or requested, which is idle.
/// </summary>
public sealed record AllocationShare(DateTimeOffset Start, DateTimeOffset End, string? Model, string? Tenant, double Weight, bool Unused = false);

public static partial class GpuCostCalculator
{
    /// <summary>
    /// A divided GPU: the window is cut into pieces at every step, share and idle edge; each piece's hardware and node
    /// energy go to the parts by slices and each part's to its holders by weight; the GPU's energy of the piece (its
    /// step's energy spread evenly over the step) goes to the parts by the MIG activity rule (docs/analytics.md,
    /// "MIG instances"), then by weight. Free slices are a
    /// line with no model, idle all window; a part is idle whole over its idle intervals and by its unused fraction
    /// outside them.
    /// </summary>
    private static GpuWindowCost ComputeDivided(
        GpuWindowInput gpu,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        PriceEntry price,
        EnergyPricing energy,
        TariffSchedule schedule,
        IdleThresholds idle,
        TimeSpan maxGap)
    {
        IReadOnlyList<GpuPartition> parts = gpu.Partitions!;
        double held = parts.Sum(p => p.Slices);
        double total = Math.Max(gpu.TotalSlices, held);
        double freeFraction = (total - held) / total;
        TimeSpan step = gpu.ShareStep > TimeSpan.Zero ? gpu.ShareStep : TimeSpan.FromMinutes(1);
        bool energyBilled = price.EnergyBilledSeparately;

        var occupants = new List<AllocationShare>[parts.Count];
        var idleIntervals = new IReadOnlyList<TimeInterval>[parts.Count];
        var activity = new IReadOnlyList<UtilizationBucket>[parts.Count];
        var basis = new string[parts.Count];
        IReadOnlyList<UtilizationBucket> gpuBuckets = gpu.UtilizationBuckets ?? GpuTrace.Buckets(gpu.UtilizationPercent);
        var cuts = new SortedSet<DateTimeOffset> { windowStart, windowEnd };
        for (DateTimeOffset at = PeriodPlan.AlignUp(windowStart, step); at < windowEnd; at += step)
        {
            cuts.Add(at);
        }

        for (int i = 0; i < parts.Count; i++)
        {
            GpuPartition part = parts[i];
            bool mig = part.MigInstance is not null;
            occupants[i] = part.Shares is { } shares ? [.. shares] : [.. part.Allocations.Select(a => new AllocationShare(a.Start, a.End, a.Model, a.Tenant, 1))];
            activity[i] = mig ? part.ActivityBuckets ?? GpuTrace.Buckets(part.ActivityPercent) : gpuBuckets;
            idleIntervals[i] = IdleDetector.Detect((mig ? part.ActivityPercent : gpu.UtilizationPercent).ToArray(), windowStart, windowEnd, idle, maxGap).IdleIntervals;
            basis[i] = mig && part.AttributionBasis == AttributionBases.MigSlices && !activity[i].Any(b => b.Time >= windowStart && b.Time < windowEnd)
                ? AttributionBases.MigSlicesNoActivity
                : part.AttributionBasis;
            foreach (AllocationShare share in occupants[i])
            {
                AddCut(cuts, share.Start, windowStart, windowEnd);
                AddCut(cuts, share.End, windowStart, windowEnd);
            }

            foreach (TimeInterval interval in idleIntervals[i])
            {
                AddCut(cuts, interval.Start, windowStart, windowEnd);
                AddCut(cuts, interval.End, windowStart, windowEnd);
            }
        }

        var lines = new Dictionary<(int Part, string? Model, string? Tenant), LineSum>();
        double idleHours = 0, idleCost = 0, idleEnergy = 0, idleCo2e = 0;
        var activityRatio = new double?[parts.Count];
        DateTimeOffset previous = windowStart;
        DateTimeOffset segmentStep = DateTimeOffset.MinValue;
        double segmentSeconds = 0;
        EnergyCostResult segmentEnergy = default, segmentNode = default;
        foreach (DateTimeOffset cut in cuts)
        {
            if (cut <= previous)
            {
                continue;
            }

            DateTimeOffset a = previous, b = cut;
            previous = cut;
            DateTimeOffset stepStart = PeriodPlan.AlignDown(a, step), stepEnd = stepStart + step;
            Hardware hw = Hardware.Of(price, a, b);
            if (stepStart != segmentStep)
            {
                // The step's energy, spread evenly over it: a piece's share is its part of the step's time, so the
                // raw samples and the rollup (which keeps a minute's energy, not where in the minute it fell) agree.
                segmentStep = stepStart;
                DateTimeOffset segmentStart = stepStart > windowStart ? stepStart : windowStart;
                DateTimeOffset segmentEnd = stepEnd < windowEnd ? stepEnd : windowEnd;
                segmentSeconds = (segmentEnd - segmentStart).TotalSeconds;
                segmentEnergy = EnergyOf(gpu, segmentStart, segmentEnd, energy, schedule, maxGap);
                segmentNode = NodeEnergyOf(gpu, segmentStart, segmentEnd, energy, schedule, maxGap);
            }

            double timeShare = (b - a).TotalSeconds / segmentSeconds;
            EnergyCostResult gpuEnergy = segmentEnergy * timeShare;
            EnergyCostResult node = segmentNode * timeShare;

            // The MIG energy rule: with B = Σ slices × activity / total, the active part E × B goes by slices ×
            // activity, the idle part E × (1 − B) by slices over all slices; without every part's activity, E by slices.
            bool everyActivity = true;
            double busy = 0;
            for (int i = 0; i < parts.Count; i++)
            {
                double mean = MeanUtilization(activity[i], stepStart, stepEnd, out int samples);
                activityRatio[i] = samples > 0 ? mean / 100 : null;
                everyActivity &= samples > 0;
                busy += parts[i].Slices * (activityRatio[i] ?? 0) / total;
            }

            if (!everyActivity)
            {
                busy = 0;
            }

            for (int i = 0; i < parts.Count; i++)
            {
                double slicesShare = parts[i].Slices / total;
                double energyShare = everyActivity ? (parts[i].Slices * activityRatio[i]!.Value / total) + ((1 - busy) * slicesShare) : slicesShare;
                double utilization = MeanUtilization(activity[i], stepStart, stepEnd, out _);
                bool partIdle = idleIntervals[i].Any(t => t.Start <= a && b <= t.End);
                double taken = 0;
                foreach (AllocationShare share in occupants[i])
                {
                    if (share.Start <= a && b <= share.End && share.Weight > 0)
                    {
                        double weight = Math.Min(share.Weight, 1 - taken);
                        taken += weight;
                        Charge(i, share.Model, share.Tenant, slicesShare * weight, energyShare * weight, utilization);
                        if (share.Unused && !partIdle)
                        {
                            Idle(slicesShare * weight, energyShare * weight);
                        }
                    }
                }

                if (taken < 1 - 1e-12)
                {
                    Charge(i, null, null, slicesShare * (1 - taken), energyShare * (1 - taken), utilization);
                }

                if (partIdle)
                {
                    Idle(slicesShare, energyShare);
                }
            }

            if (freeFraction > 0)
            {
                double freeEnergy = everyActivity ? (1 - busy) * freeFraction : freeFraction;
                Charge(-1, null, null, freeFraction, freeEnergy, 0);
                Idle(freeFraction, freeEnergy);
            }

            void Charge(int part, string? model, string? tenant, double hardwareShare, double energyShare, double utilizationPercent)
            {
                if (hardwareShare <= 0 && energyShare <= 0)
                {
                    return;
                }

                if (!lines.TryGetValue((part, model, tenant), out LineSum? sum))
                {
                    sum = new LineSum();
                    lines.Add((part, model, tenant), sum);
                }

                EnergyCostResult e = gpuEnergy * energyShare;
                EnergyCostResult n = node * hardwareShare;
                sum.Hours += hw.Hours * hardwareShare;
                sum.Utilized += hw.Hours * hardwareShare * utilizationPercent / 100;
                sum.Capex += hw.CapexUsd * hardwareShare;
                sum.Opex += hw.OpexUsd * hardwareShare;
                sum.Rental += hw.RentalUsd * hardwareShare;
                sum.GpuEnergy += e.EnergyJoules;
                sum.NodeEnergy += n.EnergyJoules;
                sum.Facility += e.FacilityEnergyJoules + n.FacilityEnergyJoules;
                sum.EnergyCost += energyBilled ? e.CostUsd + n.CostUsd : 0;
                sum.OperationalCo2e += e.Co2eGrams + n.Co2eGrams;
                sum.EmbodiedCo2e += hw.EmbodiedCo2eGrams * hardwareShare;
            }

            void Idle(double hardwareShare, double energyShare)
            {
                EnergyCostResult e = (gpuEnergy * energyShare) + (node * hardwareShare);
                idleHours += hw.Hours * hardwareShare;
                idleEnergy += e.FacilityEnergyJoules;
                idleCost += ((hw.CapexUsd + hw.OpexUsd + hw.RentalUsd) * hardwareShare) + (energyBilled ? e.CostUsd : 0);
                idleCo2e += e.Co2eGrams + (hw.EmbodiedCo2eGrams * hardwareShare);
            }
        }

        string freeBasis = parts.Any(p => p.MigInstance is not null) ? AttributionBases.MigSlices : parts[0].AttributionBasis;
        var result = lines.Select(l =>
        {
            GpuPartition? part = l.Key.Part >= 0 ? parts[l.Key.Part] : null;
            LineSum s = l.Value;
            return new GpuCostLine(l.Key.Model, l.Key.Tenant, s.Hours, s.GpuEnergy, s.Facility, s.Capex, s.Opex, s.EnergyCost, s.NodeEnergy, s.Utilized, s.Rental,
                energy.Carbon is null ? double.NaN : s.OperationalCo2e, s.EmbodiedCo2e)
            {
                MigInstance = part?.MigInstance,
                MigProfile = part?.MigProfile,
                AttributionBasis = part is null ? freeBasis : basis[l.Key.Part],
            };
        }).ToList();
        return new GpuWindowCost(result, idleHours, idleCost, idleEnergy, energy.Carbon is null ? double.NaN : idleCo2e);
    }

    private static void AddCut(SortedSet<DateTimeOffset> cuts, DateTimeOffset at, DateTimeOffset windowStart, DateTimeOffset windowEnd)
    {
        if (at > windowStart && at < windowEnd)
        {
            cuts.Add(at);
        }
    }

    private static double MeanUtilization(IReadOnlyList<UtilizationBucket> buckets, DateTimeOffset start, DateTimeOffset end, out int samples)
    {
        double sum = 0;
        samples = 0;
        foreach (UtilizationBucket bucket in buckets)
        {
            if (bucket.Time >= start && bucket.Time < end)
            {
                sum += bucket.SumPercent;
                samples += bucket.Samples;
            }
        }

        return samples > 0 ? sum / samples : 0;
    }

    private sealed class LineSum
    {
        public double Hours { get; set; }

        public double Utilized { get; set; }

        public double Capex { get; set; }

        public double Opex { get; set; }

        public double Rental { get; set; }

        public double GpuEnergy { get; set; }

        public double NodeEnergy { get; set; }

        public double Facility { get; set; }

        public double EnergyCost { get; set; }

        /// <summary>Operational gCO2e of the line's energy (GPU and node), as <see cref="EnergyCostResult.Co2eGrams"/>.</summary>
        public double OperationalCo2e { get; set; }

        public double EmbodiedCo2e { get; set; }
    }
}
