namespace ObservaCost.Simulator.Model;

/// <summary>
/// A GPU model the simulator can place in a pool: its power range (idle floor to the board power limit), memory and
/// the names dcgm-exporter reports. <see cref="PowerSource"/> says where the figures come from.
/// </summary>
public sealed record GpuModelSpec(
    string Name,
    string MarketingName,
    double IdlePowerWatts,
    double MaxPowerWatts,
    int MemoryTotalMebibytes,
    string PowerSource);

/// <summary>The GPU models of the simulated fleets, with power ranges taken from real captures.</summary>
public static class GpuModels
{
    // Idle draw and power limit: nvidia-smi --query-gpu on an idle H100 SXM (driver 590.48.01):
    // ../shared/data/nvidia-smi/nvidia_gpu_exporter-captures/nvidia-smi-query-gpu__subset_all_captures.csv,
    // capture linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01: power.draw 69.85 W idle, power.limit 700.00 W, 81559 MiB.
    public static readonly GpuModelSpec H100 = new("H100", "NVIDIA H100 80GB HBM3", 69.85, 700, 81_559,
        "nvidia-smi capture linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01 (idle 69.85 W, power.limit 700 W)");

    // Same file, capture linux-x86_64__nvidia-h200__590.48.01: power.draw 77.71 W idle, power.limit 700.00 W, 143771 MiB.
    public static readonly GpuModelSpec H200 = new("H200", "NVIDIA H200", 77.71, 700, 143_771,
        "nvidia-smi capture linux-x86_64__nvidia-h200__590.48.01 (idle 77.71 W, power.limit 700 W)");

    // Idle draw: ../shared/data/dcgm-exporter/metrics_L40S_idle_upcloud-conformance.prom, DCGM_FI_DEV_POWER_USAGE 35.686 W
    // at 0 % utilization; power limit 350 W and 46068 MiB from the nvidia-smi capture linux-x86_64__nvidia-l40s__595.80
    // (its own "idle" row is not idle: 100 % utilization at 144.97 W, so the dcgm capture gives the floor).
    public static readonly GpuModelSpec L40S = new("L40S", "NVIDIA L40S", 35.686, 350, 46_068,
        "dcgm-exporter capture metrics_L40S_idle_upcloud-conformance.prom (idle 35.686 W); nvidia-smi capture linux-x86_64__nvidia-l40s__595.80 (power.limit 350 W)");

    // Idle draw: ../shared/data/dcgm-exporter/metrics_L4_single_gpu_kops-conformance.prom, DCGM_FI_DEV_POWER_USAGE 16.365 W at
    // 0 % utilization. The L4 is in no nvidia-smi capture: its 72 W board power and 23034 MiB (24 GB) are NVIDIA's L4 datasheet figures.
    public static readonly GpuModelSpec L4 = new("L4", "NVIDIA L4", 16.365, 72, 23_034,
        "dcgm-exporter capture metrics_L4_single_gpu_kops-conformance.prom (idle 16.365 W); NVIDIA L4 datasheet (72 W, 24 GB)");

    public static IReadOnlyList<GpuModelSpec> All { get; } = [H100, H200, L40S, L4];

    /// <summary>The model named <paramref name="name"/> (H100, H200, L40S, L4; case-insensitive), or null.</summary>
    public static GpuModelSpec? Find(string? name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
}
