namespace ObservaCost.Storage.Schema;

/// <summary>
/// One GPU's identity, written as the <c>uuid</c> tag of <c>gpu_sample</c> so that every reader keys GPUs by it: the
/// strongest identity the source carries. The GPU's own UUID when present; else its PCI bus id on its node
/// (<c>&lt;node&gt;/pci:&lt;bus id&gt;</c>, the bus id upper-cased as nvidia-smi prints it); else its index on its node
/// (<c>&lt;node&gt;/gpu&lt;index&gt;</c>). A point with none of these cannot be told from another GPU and is refused.
/// </summary>
public static class GpuIdentity
{
    /// <summary>The tag carrying the PCI bus id (dcgm-exporter <c>pci_bus_id</c>, nvidia-smi <c>pci.bus_id</c>).</summary>
    public const string PciBusIdTag = "pci_bus_id";

    public const string MissingReason =
        "gpu_sample has no GPU identity: send the tag uuid, or node with pci_bus_id, or node with gpu (the index); without one, GPUs on a node would merge";

    /// <summary>The identity from the strongest of the given parts, or null when none identifies a GPU.</summary>
    public static string? Of(string? uuid, string? pciBusId, string? node, string? gpuIndex)
    {
        if (!string.IsNullOrEmpty(uuid))
        {
            return uuid;
        }

        if (string.IsNullOrEmpty(node))
        {
            return null;
        }

        if (!string.IsNullOrEmpty(pciBusId))
        {
            return node + "/pci:" + pciBusId.ToUpperInvariant();
        }

        return string.IsNullOrEmpty(gpuIndex) ? null : node + "/gpu" + gpuIndex;
    }
}
