using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Simulator.Model;

namespace ObservaCost.Simulator.Configuration;

/// <summary>A pool of identical GPUs on identical nodes, serving one model (configuration <c>Simulator:Pools:i</c>).</summary>
public sealed class SimulatedPoolOptions
{
    /// <summary>The pool name (tag <c>pool</c>; the example pricing file prices <c>chat-h100</c> and <c>small-l40s</c> by name).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>H100, H200, L40S or L4 (<see cref="GpuModels"/>).</summary>
    public string GpuModel { get; set; } = string.Empty;

    public int Nodes { get; set; } = 1;

    public int GpusPerNode { get; set; } = 4;

    /// <summary>GPUs per node left unallocated (the highest indexes): idle capacity.</summary>
    public int SpareGpusPerNode { get; set; }

    /// <summary>The model the allocated GPUs serve (a name in <see cref="FleetOptions.Models"/>).</summary>
    public string ServedModel { get; set; } = string.Empty;

    /// <summary>The utilization of a serving GPU when its model's demand is at its peak (100 % of <c>PeakRequestsPerMinute</c>).</summary>
    public double PeakUtilizationPercent { get; set; } = 85;
}

/// <summary>A served model and its traffic (configuration <c>Simulator:Models:i</c>).</summary>
public sealed class SimulatedModelOptions
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Requests per minute at the diurnal and weekly peak.</summary>
    public double PeakRequestsPerMinute { get; set; } = 30;

    public TokenProfile TokenProfile { get; set; } = TokenProfile.Conversation;

    /// <summary>Decode time per completion token, for the request's latency.</summary>
    public double MillisecondsPerCompletionToken { get; set; } = 20;

    /// <summary>Prefill time per prompt token, for the time to first token.</summary>
    public double MillisecondsPerPromptToken { get; set; } = 0.1;
}

/// <summary>A tenant and its share of every model's requests (configuration <c>Simulator:Tenants:i</c>).</summary>
public sealed class SimulatedTenantOptions
{
    public string Name { get; set; } = string.Empty;

    public double Share { get; set; } = 1;
}

/// <summary>What a fault does.</summary>
public enum FaultKind
{
    /// <summary>A process holds the GPU at high power (and utilization) under a model that serves no tokens.</summary>
    Zombie,

    /// <summary>The GPU is allocated to a model that gets no traffic and stays at 0 % (idle power).</summary>
    StuckAtZero,

    /// <summary>The model's demand is multiplied by <see cref="SimulatedFaultOptions.Factor"/>.</summary>
    DemandSpike,

    /// <summary>The GPU reports Xid <see cref="SimulatedFaultOptions.XidCode"/> and drops to 0 %; its model's throughput falls to <see cref="SimulatedFaultOptions.Factor"/> of demand.</summary>
    XidError,

    /// <summary>The node's driver reloads: every GPU's energy counter restarts at 0.</summary>
    DriverRestart,
}

/// <summary>An injected fault (configuration <c>Simulator:Faults:i</c>), placed relative to the anchor time.</summary>
public sealed class SimulatedFaultOptions
{
    public FaultKind Kind { get; set; }

    /// <summary>The fault's start relative to the anchor (the end of the history): negative is in the history.</summary>
    public TimeSpan StartOffset { get; set; }

    public TimeSpan Duration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The pool of the GPU or node (not for <see cref="FaultKind.DemandSpike"/>).</summary>
    public string? Pool { get; set; }

    /// <summary>0-based node of the pool.</summary>
    public int NodeIndex { get; set; }

    /// <summary>0-based GPU of the node.</summary>
    public int GpuIndex { get; set; }

    /// <summary>Zombie and stuck: the model the GPU is allocated to (it gets no traffic). Spike: the model whose demand rises.</summary>
    public string? Model { get; set; }

    /// <summary>Spike: the demand multiplier. Xid: the share of demand still served (0.2 = an 80 % drop).</summary>
    public double Factor { get; set; } = 1;

    public int XidCode { get; set; } = 79;
}

/// <summary>
/// The simulated fleet (configuration section <c>Simulator</c>). Validated by <see cref="FleetOptionsValidator"/>,
/// which reports every failure naming its key.
/// </summary>
public sealed class FleetOptions
{
    public const string SectionName = "Simulator";

    /// <summary>The seed: same seed and same anchor time give byte-identical output.</summary>
    public long Seed { get; set; } = 20261130;

    /// <summary>The cluster tag of every GPU sample.</summary>
    public string Cluster { get; set; } = "simulated";

    public List<SimulatedPoolOptions> Pools { get; set; } = [];

    public List<SimulatedModelOptions> Models { get; set; } = [];

    public List<SimulatedTenantOptions> Tenants { get; set; } = [];

    public List<SimulatedFaultOptions> Faults { get; set; } = [];

    /// <summary>GPU sample spacing of the written history.</summary>
    public TimeSpan HistorySampleStep { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Whether the written history's GPU samples carry <c>temperature_celsius</c> (the live pages always do). Off by
    /// default: the demo's history stays lean; the dashboards' query tests turn it on for the temperature panel.
    /// </summary>
    public bool HistoryTemperature { get; set; }

    /// <summary>GPU sample spacing (and request post interval) of the live phase.</summary>
    public TimeSpan LiveSampleStep { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>History request logs are imported in ranges of this length (each range must stay under the collector's open-group limit).</summary>
    public TimeSpan HistoryImportChunk { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The most GPUs a fleet may have.</summary>
    public int MaxGpus { get; set; } = 4096;

    /// <summary>The most requests one model may draw in a minute (a bound on every buffer of requests).</summary>
    public int MaxRequestsPerMinute { get; set; } = 20_000;

    /// <summary>The most GPU samples (lines) in one <c>/write</c> body.</summary>
    public int MaxLinesPerWrite { get; set; } = 10_000;
}

/// <summary>Checks <see cref="FleetOptions"/>; reports all failures, each naming its configuration key.</summary>
public sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string S = FleetOptions.SectionName + ":";
        void Check(bool ok, string failure)
        {
            if (!ok)
            {
                failures.Add(failure);
            }
        }

        Check(options.Seed >= 0, $"{S}Seed must not be negative.");
        Check(options.Pools.Count > 0, $"{S}Pools must name at least one pool.");
        Check(options.Models.Count > 0, $"{S}Models must name at least one model.");
        Check(options.Tenants.Count > 0, $"{S}Tenants must name at least one tenant.");
        Check(options.HistorySampleStep >= TimeSpan.FromSeconds(1) && options.HistorySampleStep.Ticks % TimeSpan.TicksPerSecond == 0 && TimeSpan.FromHours(1).Ticks % options.HistorySampleStep.Ticks == 0,
            $"{S}HistorySampleStep must be whole seconds that divide an hour.");
        Check(options.LiveSampleStep >= TimeSpan.FromSeconds(1) && options.LiveSampleStep.Ticks % TimeSpan.TicksPerSecond == 0 && TimeSpan.FromHours(1).Ticks % options.LiveSampleStep.Ticks == 0,
            $"{S}LiveSampleStep must be whole seconds that divide an hour.");
        Check(options.HistoryImportChunk >= TimeSpan.FromMinutes(1) && options.HistoryImportChunk.Ticks % TimeSpan.TicksPerMinute == 0,
            $"{S}HistoryImportChunk must be whole minutes, at least one.");
        Check(options.MaxGpus is > 0 and <= 100_000, $"{S}MaxGpus must be between 1 and 100000.");
        Check(options.MaxRequestsPerMinute is > 0 and <= 1_000_000, $"{S}MaxRequestsPerMinute must be between 1 and 1000000.");
        Check(options.MaxLinesPerWrite is >= 100 and <= 1_000_000, $"{S}MaxLinesPerWrite must be between 100 and 1000000.");
        Check(!string.IsNullOrWhiteSpace(options.Cluster), $"{S}Cluster is required.");

        var models = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Models.Count; i++)
        {
            SimulatedModelOptions m = options.Models[i];
            string p = string.Create(CultureInfo.InvariantCulture, $"{S}Models:{i}:");
            Check(!string.IsNullOrWhiteSpace(m.Name) && models.Add(m.Name), $"{p}Name is required and must be unique.");
            Check(m.PeakRequestsPerMinute > 0 && m.PeakRequestsPerMinute <= options.MaxRequestsPerMinute / 4.0,
                $"{p}PeakRequestsPerMinute must be positive and at most a quarter of {S}MaxRequestsPerMinute (room for spikes).");
            Check(m.MillisecondsPerCompletionToken >= 0 && m.MillisecondsPerPromptToken >= 0, $"{p}MillisecondsPerCompletionToken and MillisecondsPerPromptToken must not be negative.");
        }

        var pools = new HashSet<string>(StringComparer.Ordinal);
        long gpus = 0;
        for (int i = 0; i < options.Pools.Count; i++)
        {
            SimulatedPoolOptions pool = options.Pools[i];
            string p = string.Create(CultureInfo.InvariantCulture, $"{S}Pools:{i}:");
            Check(!string.IsNullOrWhiteSpace(pool.Name) && pools.Add(pool.Name), $"{p}Name is required and must be unique.");
            Check(GpuModels.Find(pool.GpuModel) is not null, $"{p}GpuModel must be one of {string.Join(", ", GpuModels.All.Select(g => g.Name))}.");
            Check(pool.Nodes is > 0 and <= 1_000, $"{p}Nodes must be between 1 and 1000.");
            Check(pool.GpusPerNode is > 0 and <= 16, $"{p}GpusPerNode must be between 1 and 16.");
            Check(pool.SpareGpusPerNode >= 0 && pool.SpareGpusPerNode < pool.GpusPerNode, $"{p}SpareGpusPerNode must be at least 0 and below GpusPerNode.");
            Check(models.Contains(pool.ServedModel), $"{p}ServedModel must name one of {S}Models.");
            Check(pool.PeakUtilizationPercent is > 0 and <= 100, $"{p}PeakUtilizationPercent must be in (0, 100].");
            gpus += (long)Math.Max(0, pool.Nodes) * Math.Max(0, pool.GpusPerNode);
        }

        Check(gpus <= options.MaxGpus, string.Create(CultureInfo.InvariantCulture, $"{S}Pools add up to {gpus} GPUs, more than {S}MaxGpus ({options.MaxGpus})."));
        for (int i = 0; i < options.Tenants.Count; i++)
        {
            string p = string.Create(CultureInfo.InvariantCulture, $"{S}Tenants:{i}:");
            Check(!string.IsNullOrWhiteSpace(options.Tenants[i].Name), $"{p}Name is required.");
            Check(options.Tenants[i].Share > 0, $"{p}Share must be positive.");
        }

        for (int i = 0; i < options.Faults.Count; i++)
        {
            SimulatedFaultOptions f = options.Faults[i];
            string p = string.Create(CultureInfo.InvariantCulture, $"{S}Faults:{i}:");
            Check(f.Duration > TimeSpan.Zero, $"{p}Duration must be positive.");
            if (f.Kind == FaultKind.DemandSpike)
            {
                Check(f.Model is not null && models.Contains(f.Model), $"{p}Model must name one of {S}Models for a demand spike.");
                Check(f.Factor is > 1 and <= 4, $"{p}Factor must be in (1, 4] for a demand spike.");
                continue;
            }

            SimulatedPoolOptions? pool = options.Pools.FirstOrDefault(x => string.Equals(x.Name, f.Pool, StringComparison.Ordinal));
            Check(pool is not null, $"{p}Pool must name one of {S}Pools.");
            Check(pool is null || (f.NodeIndex >= 0 && f.NodeIndex < pool.Nodes), $"{p}NodeIndex must be a node of the pool.");
            Check(pool is null || f.Kind == FaultKind.DriverRestart || (f.GpuIndex >= 0 && f.GpuIndex < pool.GpusPerNode), $"{p}GpuIndex must be a GPU of the node.");
            Check(f.Kind is not (FaultKind.Zombie or FaultKind.StuckAtZero) || (!string.IsNullOrWhiteSpace(f.Model) && !models.Contains(f.Model!)),
                $"{p}Model must name a model outside {S}Models (one that gets no traffic) for a zombie or a stuck GPU.");
            Check(f.Kind != FaultKind.XidError || (f.Factor is >= 0 and < 1 && f.XidCode > 0), $"{p}Factor must be in [0, 1) and XidCode positive for an Xid error.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
