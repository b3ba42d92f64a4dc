using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>
/// Reads the MIG devices of <c>nvidia-smi -q -x</c> (the <c>&lt;mig_devices&gt;</c> of each <c>&lt;gpu&gt;</c>) into one
/// <see cref="GpuSample"/> per GPU instance: the physical GPU's identity (joined by UUID to its query-gpu row),
/// <c>mig_instance</c> = the GPU instance id, <c>mig_profile</c> derived by <see cref="MigProfiles.Derive"/>, and the
/// instance's memory used and total. nvidia-smi has no activity per instance (utilization is <c>[N/A]</c> under MIG),
/// so none is written; power and energy stay on the whole GPU's sample.
/// </summary>
/// <remarks>
/// Compute instances of one GPU instance are summed: their multiprocessors add up to the GPU instance's, and they
/// share its memory (the same <c>fb_memory_usage</c> on each, counted once).
/// </remarks>
public static class NvidiaSmiMigParser
{
    private const long MebibyteBytes = 1024 * 1024;

    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Ignore,
        XmlResolver = null,
        MaxCharactersInDocument = 64L << 20,
    };

    /// <summary>
    /// The instances of the MIG GPUs among <paramref name="wholeGpus"/> (keyed by UUID). A GPU of the XML with no row
    /// there is skipped; a MIG device that cannot be read is an error, and the others are kept.
    /// </summary>
    public static (IReadOnlyList<GpuSample> Instances, IReadOnlyList<NvidiaSmiParseError> Errors) Parse(string xml, IReadOnlyDictionary<string, GpuSample> wholeGpus)
    {
        ArgumentNullException.ThrowIfNull(xml);
        ArgumentNullException.ThrowIfNull(wholeGpus);
        var instances = new List<GpuSample>();
        var errors = new List<NvidiaSmiParseError>();
        XDocument document;
        try
        {
            using var text = new StringReader(xml);
            using var reader = XmlReader.Create(text, Settings);
            document = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }
        catch (XmlException ex)
        {
            errors.Add(new NvidiaSmiParseError(ex.LineNumber, "nvidia-smi -q -x output is not XML: " + ex.Message));
            return (instances, errors);
        }

        foreach (XElement gpu in document.Root?.Elements("gpu") ?? [])
        {
            string? uuid = gpu.Element("uuid")?.Value.Trim();
            if (uuid is null || !wholeGpus.TryGetValue(uuid, out GpuSample? whole))
            {
                continue;
            }

            long? gpuTotalMiB = Mebibytes(gpu.Element("fb_memory_usage")?.Element("total"));
            var byInstance = new SortedDictionary<int, (int Multiprocessors, long? UsedMiB, long? TotalMiB)>();
            foreach (XElement device in gpu.Element("mig_devices")?.Elements("mig_device") ?? [])
            {
                int line = ((IXmlLineInfo)device).LineNumber;
                if (!int.TryParse(device.Element("gpu_instance_id")?.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int instance))
                {
                    errors.Add(new NvidiaSmiParseError(line, $"a MIG device of {uuid} has no readable gpu_instance_id"));
                    continue;
                }

                _ = int.TryParse(
                    device.Element("device_attributes")?.Element("shared")?.Element("multiprocessor_count")?.Value.Trim(),
                    NumberStyles.None,
                    CultureInfo.InvariantCulture,
                    out int multiprocessors);
                XElement? memory = device.Element("fb_memory_usage");
                (int sms, long? used, long? total) = byInstance.GetValueOrDefault(instance);
                byInstance[instance] = (sms + multiprocessors, used ?? Mebibytes(memory?.Element("used")), total ?? Mebibytes(memory?.Element("total")));
            }

            foreach ((int instance, (int multiprocessors, long? usedMiB, long? totalMiB)) in byInstance)
            {
                instances.Add(new GpuSample
                {
                    Time = whole.Time,
                    Cluster = whole.Cluster,
                    Node = whole.Node,
                    GpuIndex = whole.GpuIndex,
                    GpuUuid = whole.GpuUuid,
                    GpuModel = whole.GpuModel,
                    Pool = whole.Pool,
                    MigInstance = instance.ToString(CultureInfo.InvariantCulture),
                    MigProfile = MigProfiles.Derive(whole.GpuModel, multiprocessors, totalMiB, gpuTotalMiB),
                    MemoryUsedBytes = usedMiB * MebibyteBytes,
                    MemoryTotalBytes = totalMiB * MebibyteBytes,
                });
            }
        }

        return (instances, errors);
    }

    /// <summary>A <c>"40960 MiB"</c> element as MiB; null when absent or not a number.</summary>
    private static long? Mebibytes(XElement? element)
    {
        string? text = element?.Value.Trim();
        if (text is null)
        {
            return null;
        }

        int space = text.IndexOf(' ', StringComparison.Ordinal);
        ReadOnlySpan<char> number = space < 0 ? text : text.AsSpan(0, space);
        return long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;
    }
}

/// <summary>
/// The MIG profile name (<c>3g.40gb</c>) of a GPU instance from what nvidia-smi reports of it: its multiprocessors
/// and memory, and the GPU's memory. nvidia-smi's <c>-q</c>/<c>-q -x</c> name no profile, so it is derived.
/// </summary>
/// <remarks>
/// <para>Compute slices = multiprocessors ÷ multiprocessors per slice, rounded down, at most 7:</para>
/// <list type="table">
/// <item><term>A100, A30</term><description>14 per slice (1g = 14, 3g = 42, 7g = 98).</description></item>
/// <item><term>H100, H200, H20, H800, GH200</term><description>16 per slice (1g = 16, 2g = 32, 3g = 60, 4g = 64, 7g = 132).</description></item>
/// </list>
/// <para>
/// Memory: NVIDIA names it by eighths of the GPU's nominal memory. Eighths = the instance's memory × 8 ÷ the GPU's,
/// rounded; nominal GB = the GPU's memory in GiB rounded to the nearest of 24, 40, 80, 94, 141; the name's GB = nominal
/// × eighths ÷ 8, rounded half up (H200: 141 × 4 ÷ 8 = 70.5 → <c>3g.71gb</c>). Other models, or a reading missing: null.
/// </para>
/// </remarks>
public static class MigProfiles
{
    private static readonly int[] NominalGigabytes = [24, 40, 80, 94, 141];

    public static string? Derive(string? gpuModel, int multiprocessors, long? instanceMiB, long? gpuMiB)
    {
        int? perSlice = MultiprocessorsPerSlice(gpuModel);
        if (perSlice is not int per || multiprocessors < per || instanceMiB is not long instance || gpuMiB is not long gpu || gpu <= 0 || instance <= 0)
        {
            return null;
        }

        int slices = Math.Min(7, multiprocessors / per);
        double gibibytes = gpu / 1024.0;
        int nominal = NominalGigabytes.MinBy(n => Math.Abs(n - gibibytes));
        double eighths = Math.Max(1, Math.Round(instance * 8.0 / gpu, MidpointRounding.AwayFromZero));
        double gigabytes = Math.Round(nominal * eighths / 8, MidpointRounding.AwayFromZero);
        return string.Create(CultureInfo.InvariantCulture, $"{slices}g.{gigabytes}gb");
    }

    /// <summary>Multiprocessors of one compute slice of a MIG-capable GPU model; null for a model not in the table.</summary>
    public static int? MultiprocessorsPerSlice(string? gpuModel)
    {
        if (gpuModel is null)
        {
            return null;
        }

        if (gpuModel.Contains("A100", StringComparison.OrdinalIgnoreCase) || gpuModel.Contains("A30", StringComparison.OrdinalIgnoreCase))
        {
            return 14;
        }

        foreach (string hopper in (ReadOnlySpan<string>)["H100", "H200", "H20", "H800", "GH200"])
        {
            if (gpuModel.Contains(hopper, StringComparison.OrdinalIgnoreCase))
            {
                return 16;
            }
        }

        return null;
    }
}
