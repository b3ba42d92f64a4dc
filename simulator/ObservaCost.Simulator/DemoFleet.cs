using ObservaCost.Simulator.Configuration;
using ObservaCost.Simulator.Model;

namespace ObservaCost.Simulator;

/// <summary>
/// The fleet <c>observacost run --demo</c> simulates: 16 GPUs on 4 nodes in four pools (H100, H200, L40S, L4), three
/// served models, three tenants, and one of each fault in the last day of the history. Sized so that seven days of
/// history at a 60 s step are written and backfilled within about 90 s on a 2-core machine (docs/simulator.md has the
/// measured write time).
/// </summary>
public static class DemoFleet
{
    public const long DefaultSeed = 20261130;

    /// <summary>A new copy of the demo fleet's options (callers may change it, e.g. the seed).</summary>
    public static FleetOptions Default => Create(DefaultSeed);

    public static FleetOptions Create(long seed) => new()
    {
        Seed = seed,
        Pools =
        [
            // The pool names chat-h100 and small-l40s are priced by name in docs/pricing.example.json (owned GPUs);
            // chat-h200 and small-l4 fall to its default entry (rented at 2.5 $/GPU-hour).
            new() { Name = "chat-h100", GpuModel = "H100", Nodes = 1, GpusPerNode = 4, SpareGpusPerNode = 1, ServedModel = "llama-3.1-70b", PeakUtilizationPercent = 85 },
            new() { Name = "chat-h200", GpuModel = "H200", Nodes = 1, GpusPerNode = 4, SpareGpusPerNode = 1, ServedModel = "llama-3.1-70b", PeakUtilizationPercent = 80 },
            new() { Name = "small-l40s", GpuModel = "L40S", Nodes = 1, GpusPerNode = 4, SpareGpusPerNode = 1, ServedModel = "mistral-7b", PeakUtilizationPercent = 75 },
            new() { Name = "small-l4", GpuModel = "L4", Nodes = 1, GpusPerNode = 4, ServedModel = "qwen2.5-coder-7b", PeakUtilizationPercent = 90 },
        ],
        Models =
        [
            new() { Name = "llama-3.1-70b", PeakRequestsPerMinute = 24, TokenProfile = TokenProfile.Conversation, MillisecondsPerCompletionToken = 25, MillisecondsPerPromptToken = 0.15 },
            new() { Name = "mistral-7b", PeakRequestsPerMinute = 15, TokenProfile = TokenProfile.Conversation, MillisecondsPerCompletionToken = 8, MillisecondsPerPromptToken = 0.03 },
            new() { Name = "qwen2.5-coder-7b", PeakRequestsPerMinute = 9, TokenProfile = TokenProfile.Code, MillisecondsPerCompletionToken = 10, MillisecondsPerPromptToken = 0.04 },
        ],
        Tenants =
        [
            new() { Name = "acme", Share = 0.5 },
            new() { Name = "globex", Share = 0.3 },
            new() { Name = "initech", Share = 0.2 },
        ],
        Faults =
        [
            // A training job left behind on a spare H100: 2 h at ~96 % and ~600 W under a model no request names.
            new() { Kind = FaultKind.Zombie, Pool = "chat-h100", NodeIndex = 0, GpuIndex = 3, Model = "llama-3.1-70b-ft", StartOffset = TimeSpan.FromHours(-20), Duration = TimeSpan.FromHours(2) },
            // A canary replica on a spare L40S that the router never sends to: allocated, 0 %, idle power, from 30 h before the anchor on.
            new() { Kind = FaultKind.StuckAtZero, Pool = "small-l40s", NodeIndex = 0, GpuIndex = 3, Model = "mistral-7b-canary", StartOffset = TimeSpan.FromHours(-30), Duration = TimeSpan.FromDays(30) },
            // Three times llama's demand for 30 min.
            new() { Kind = FaultKind.DemandSpike, Model = "llama-3.1-70b", Factor = 3, StartOffset = TimeSpan.FromHours(-9), Duration = TimeSpan.FromMinutes(30) },
            // Xid 79 (fallen off the bus) on an L4: the GPU drops to 0 % and the coder model serves 20 % of its demand for 45 min.
            new() { Kind = FaultKind.XidError, Pool = "small-l4", NodeIndex = 0, GpuIndex = 0, XidCode = 79, Factor = 0.2, StartOffset = TimeSpan.FromHours(-5), Duration = TimeSpan.FromMinutes(45) },
            // The H200 node's driver reloads: its energy counters restart at 0.
            new() { Kind = FaultKind.DriverRestart, Pool = "chat-h200", NodeIndex = 0, StartOffset = TimeSpan.FromHours(-14), Duration = TimeSpan.FromMinutes(1) },
        ],
    };
}
