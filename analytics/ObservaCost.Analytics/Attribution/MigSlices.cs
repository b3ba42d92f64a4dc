using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Compute slices of MIG-capable GPUs, from NVIDIA's Multi-Instance GPU User Guide ("Supported GPUs",
/// https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-gpus.html, and "Supported MIG Profiles",
/// https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html): a GPU model's total compute
/// slices, and the slices a GPU instance holds, read from its profile name <c>&lt;slices&gt;g.&lt;memory&gt;gb[+me]</c>
/// (<c>3g.40gb</c> → 3; <c>1g.10gb+me</c>, <c>1g.20gb</c> → 1; an A30's <c>2g.12gb</c> → 2 of its 4). The table is in
/// docs/analytics.md, "MIG instances".
/// </summary>
public static class MigSlices
{
    /// <summary>Total compute slices per canonical GPU model (<c>gpu_model</c> tag).</summary>
    public static IReadOnlyDictionary<string, int> TotalByGpuModel { get; } = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["A100"] = 7,
        ["A30"] = 4,
        ["H100"] = 7,
        ["H20"] = 7,
        ["H200"] = 7,
        ["GH200"] = 7,
        ["B200"] = 7,
        ["GB200"] = 7,
    };

    /// <summary>The GPU model's total compute slices (the tag or the full name: <c>H100</c>, <c>NVIDIA H100 80GB HBM3</c>), null when the table does not know it.</summary>
    public static int? Total(string? gpuModel) =>
        GpuModelName.Canonical(gpuModel) is string key && TotalByGpuModel.TryGetValue(key, out int slices) ? slices : null;

    /// <summary>The compute slices of a GPU instance profile (<c>3g.40gb</c> → 3), null when the name does not say.</summary>
    public static int? OfProfile(string? profile)
    {
        if (string.IsNullOrEmpty(profile))
        {
            return null;
        }

        int g = profile.IndexOf('g', StringComparison.Ordinal);
        return g > 0 && g + 1 < profile.Length && profile[g + 1] == '.'
            && int.TryParse(profile.AsSpan(0, g), NumberStyles.None, CultureInfo.InvariantCulture, out int slices) && slices > 0
            ? slices
            : null;
    }
}
