using ObservaCost.Analytics.Energy;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Signals;

/// <summary>One minute of one GPU: its mean power and utilization, the model it was allocated to, the last Xid code.</summary>
public readonly record struct GpuMinute(DateTimeOffset Time, double? PowerWatts, double? UtilizationPercent, string? Model, long? XidCode);

/// <summary>A GPU's minutes in time order (history first: the rules compare the recent minutes with it).</summary>
public sealed record GpuSignal(string GpuUuid, string Node, IReadOnlyList<GpuMinute> Minutes);

/// <summary>Tokens a model served per minute (minutes without traffic may be absent: they count as 0).</summary>
public sealed record ModelTokenSignal(string Model, IReadOnlyList<TimedValue> TokensPerMinute);

/// <summary>A model's computed windows: cost per 1M tokens and mean utilization of its GPUs, in time order.</summary>
public sealed record ModelWindowSignal(string Model, IReadOnlyList<(DateTimeOffset WindowStart, double CostPerMillionTokensUsd, double UtilizationPercent)> Windows);

/// <summary>Thresholds of the cross-signal rules. Bound from <c>Analytics:Anomalies:Rules</c>.</summary>
public sealed class CrossSignalOptions
{
    public const string SectionName = "Analytics:Anomalies:Rules";

    /// <summary>How long power must stay high with no tokens before a GPU counts as a zombie. Default 15 min.</summary>
    public TimeSpan ZombieMinimumDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Power is high when it is above the GPU's idle floor by this fraction of its range (floor = lowest, peak =
    /// highest minute in the history). Default 0.5.
    /// </summary>
    public double HighPowerFraction { get; set; } = 0.5;

    /// <summary>A GPU whose power range is narrower than this cannot tell high from idle. Default 30 W.</summary>
    public double MinimumPowerRangeWatts { get; set; } = 30;

    /// <summary>How long a GPU may be allocated to a model that serves no tokens before it is flagged. Default 30 min.</summary>
    public TimeSpan UnusedAllocationDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How many recent windows the cost drift compares (first half against second half). Default 6.</summary>
    public int DriftWindows { get; set; } = 6;

    /// <summary>The relative rise of cost per token that counts as drift. Default 0.25.</summary>
    public double DriftRelativeChange { get; set; } = 0.25;

    /// <summary>Utilization is steady when its coefficient of variation over the windows is at most this. Default 0.1.</summary>
    public double SteadyUtilizationVariation { get; set; } = 0.1;

    /// <summary>The span before and after an Xid over which throughput is compared. Default 10 min.</summary>
    public TimeSpan XidComparisonSpan { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The relative fall of tokens per minute that counts as a drop. Default 0.5.</summary>
    public double XidThroughputDrop { get; set; } = 0.5;
}

/// <summary>
/// Rules that no single-series detector sees, because each needs two signals at once: power high while the
/// model's tokens stay flat (a stuck or zombie process), a GPU held by a model that served nothing, cost per token
/// drifting while utilization is steady, and an Xid error followed by a throughput drop. Pure: the caller reads the
/// signals (<see cref="Signals"/> from the store) and writes the events.
/// </summary>
public static class CrossSignalRules
{
    public const string ZombieDetector = "rule_zombie_power";
    public const string UnusedAllocationDetector = "rule_unused_allocation";
    public const string CostDriftDetector = "rule_cost_drift";
    public const string XidDropDetector = "rule_xid_throughput_drop";

    /// <summary>All rules over the evaluation range [from, to); events are dated where the condition began.</summary>
    public static IReadOnlyList<AnomalyEvent> Evaluate(
        IReadOnlyList<GpuSignal> gpus,
        IReadOnlyList<ModelTokenSignal> tokens,
        IReadOnlyList<ModelWindowSignal> windows,
        DateTimeOffset from,
        DateTimeOffset to,
        CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(options);
        var perMinute = tokens.ToDictionary(
            t => t.Model,
            t => t.TokensPerMinute.GroupBy(v => Minute(v.Time)).ToDictionary(g => g.Key, g => g.Sum(v => v.Value)),
            StringComparer.Ordinal);
        var events = new List<AnomalyEvent>();
        foreach (GpuSignal gpu in gpus)
        {
            events.AddRange(ZombiePower(gpu, perMinute, from, to, options));
            events.AddRange(UnusedAllocation(gpu, perMinute, from, to, options));
            events.AddRange(XidThroughputDrop(gpu, perMinute, from, to, options));
        }

        foreach (ModelWindowSignal model in windows)
        {
            events.AddRange(CostDrift(model, from, to, options));
        }

        return events;
    }

    /// <summary>Power above the GPU's floor by <see cref="CrossSignalOptions.HighPowerFraction"/> of its range, allocated, no tokens, long enough.</summary>
    public static IEnumerable<AnomalyEvent> ZombiePower(GpuSignal gpu, IReadOnlyDictionary<string, Dictionary<DateTimeOffset, double>> tokensPerMinute, DateTimeOffset from, DateTimeOffset to, CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(tokensPerMinute);
        ArgumentNullException.ThrowIfNull(options);
        double[] powers = [.. gpu.Minutes.Where(m => m.PowerWatts is not null).Select(m => m.PowerWatts!.Value)];
        if (powers.Length == 0 || powers.Max() - powers.Min() < options.MinimumPowerRangeWatts)
        {
            return [];
        }

        double floor = powers.Min();
        double threshold = floor + (options.HighPowerFraction * (powers.Max() - floor));
        return Runs(gpu, from, to, options.ZombieMinimumDuration,
            m => m.Model is not null && m.PowerWatts >= threshold && TokensAt(tokensPerMinute, m.Model, m.Time) <= 0,
            (start, minutes) => new AnomalyEvent
            {
                Time = start,
                Series = Fields.PowerWatts,
                EntityKind = "gpu",
                Entity = gpu.Node + "/" + gpu.GpuUuid,
                Detector = ZombieDetector,
                Severity = AnomalySeverity.Critical,
                Score = 1,
                Value = minutes.Average(m => m.PowerWatts!.Value),
                ExpectedValue = floor,
                LowerBound = floor,
                UpperBound = threshold,
                Magnitude = (minutes.Average(m => m.PowerWatts!.Value) - floor) / (powers.Max() - floor),
            });
    }

    /// <summary>Allocated to a model that served no tokens for <see cref="CrossSignalOptions.UnusedAllocationDuration"/>.</summary>
    public static IEnumerable<AnomalyEvent> UnusedAllocation(GpuSignal gpu, IReadOnlyDictionary<string, Dictionary<DateTimeOffset, double>> tokensPerMinute, DateTimeOffset from, DateTimeOffset to, CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(options);
        return Runs(gpu, from, to, options.UnusedAllocationDuration,
            m => m.Model is not null && TokensAt(tokensPerMinute, m.Model, m.Time) <= 0,
            (start, minutes) => new AnomalyEvent
            {
                Time = start,
                Series = Fields.Tokens,
                EntityKind = "gpu",
                Entity = gpu.Node + "/" + gpu.GpuUuid,
                Detector = UnusedAllocationDetector,
                Severity = AnomalySeverity.Warning,
                Score = 1,
                Value = 0,
                Magnitude = minutes.Count,
            });
    }

    /// <summary>A new non-zero Xid code, and the model's tokens per minute after it below (1 − drop) × before it.</summary>
    public static IEnumerable<AnomalyEvent> XidThroughputDrop(GpuSignal gpu, IReadOnlyDictionary<string, Dictionary<DateTimeOffset, double>> tokensPerMinute, DateTimeOffset from, DateTimeOffset to, CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(tokensPerMinute);
        ArgumentNullException.ThrowIfNull(options);
        long? previous = null;
        foreach (GpuMinute minute in gpu.Minutes)
        {
            long? code = minute.XidCode;
            bool fresh = code is > 0 && code != previous;
            previous = code ?? previous;
            if (!fresh || minute.Time < from || minute.Time >= to || minute.Model is null || !tokensPerMinute.TryGetValue(minute.Model, out Dictionary<DateTimeOffset, double>? series))
            {
                continue;
            }

            double before = MeanPerMinute(series, minute.Time - options.XidComparisonSpan, minute.Time);
            double after = MeanPerMinute(series, minute.Time, minute.Time + options.XidComparisonSpan);
            if (before > 0 && after <= (1 - options.XidThroughputDrop) * before)
            {
                yield return new AnomalyEvent
                {
                    Time = minute.Time,
                    Series = Fields.XidErrors,
                    EntityKind = "gpu",
                    Entity = gpu.Node + "/" + gpu.GpuUuid,
                    Detector = XidDropDetector,
                    Severity = AnomalySeverity.Critical,
                    Score = 1 - (after / before),
                    Value = code!.Value,
                    ExpectedValue = before,
                    Magnitude = 1 - (after / before),
                };
            }
        }
    }

    /// <summary>Cost per 1M tokens up by the drift fraction (second half of the windows against the first) while utilization is steady.</summary>
    public static IEnumerable<AnomalyEvent> CostDrift(ModelWindowSignal model, DateTimeOffset from, DateTimeOffset to, CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var recent = model.Windows.Where(w => w.WindowStart < to).TakeLast(options.DriftWindows).ToList();
        if (recent.Count < Math.Max(4, options.DriftWindows) || recent[^1].WindowStart < from)
        {
            yield break;
        }

        int half = recent.Count / 2;
        double first = recent.Take(half).Average(w => w.CostPerMillionTokensUsd);
        double second = recent.Skip(recent.Count - half).Average(w => w.CostPerMillionTokensUsd);
        double meanUtil = recent.Average(w => w.UtilizationPercent);
        double sd = Math.Sqrt(recent.Average(w => (w.UtilizationPercent - meanUtil) * (w.UtilizationPercent - meanUtil)));
        bool steady = meanUtil > 0 && sd / meanUtil <= options.SteadyUtilizationVariation;
        if (first > 0 && steady && second >= (1 + options.DriftRelativeChange) * first)
        {
            yield return new AnomalyEvent
            {
                Time = recent[^1].WindowStart,
                Series = Fields.CostPerMillionTokensUsd,
                EntityKind = "model",
                Entity = model.Model,
                Detector = CostDriftDetector,
                Severity = AnomalySeverity.Warning,
                Score = (second / first) - 1,
                Value = second,
                ExpectedValue = first,
                UpperBound = (1 + options.DriftRelativeChange) * first,
                Magnitude = (second / first) - 1,
            };
        }
    }

    /// <summary>Maximal runs of consecutive minutes meeting <paramref name="condition"/>, at least <paramref name="minimum"/> long, that end inside [from, to).</summary>
    private static IEnumerable<AnomalyEvent> Runs(GpuSignal gpu, DateTimeOffset from, DateTimeOffset to, TimeSpan minimum, Func<GpuMinute, bool> condition, Func<DateTimeOffset, List<GpuMinute>, AnomalyEvent> create)
    {
        var run = new List<GpuMinute>();
        foreach (GpuMinute minute in gpu.Minutes.Where(m => m.Time < to).Append(default))
        {
            bool continues = minute != default && condition(minute) && (run.Count == 0 || minute.Time - run[^1].Time <= TimeSpan.FromMinutes(1));
            if (continues)
            {
                run.Add(minute);
                continue;
            }

            if (run.Count > 0 && run[^1].Time + TimeSpan.FromMinutes(1) - run[0].Time >= minimum && run[^1].Time >= from)
            {
                yield return create(run[0].Time, run);
            }

            run = minute != default && condition(minute) ? [minute] : [];
        }
    }

    private static double TokensAt(IReadOnlyDictionary<string, Dictionary<DateTimeOffset, double>> tokensPerMinute, string model, DateTimeOffset time) =>
        tokensPerMinute.TryGetValue(model, out Dictionary<DateTimeOffset, double>? series) ? series.GetValueOrDefault(Minute(time)) : 0;

    private static double MeanPerMinute(Dictionary<DateTimeOffset, double> series, DateTimeOffset from, DateTimeOffset to)
    {
        double sum = 0;
        int minutes = 0;
        for (DateTimeOffset t = Minute(from); t < to; t += TimeSpan.FromMinutes(1))
        {
            sum += series.GetValueOrDefault(t);
            minutes++;
        }

        return minutes > 0 ? sum / minutes : 0;
    }

    private static DateTimeOffset Minute(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
}
