using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Maps Telegraf's <c>inputs.nvidia_smi</c> points (measurement <c>nvidia_smi</c>: tags <c>index, uuid, name, host</c>;
/// fields <c>utilization_gpu</c> %, <c>power_draw</c> W, <c>memory_used</c>/<c>memory_total</c> MiB,
/// <c>temperature_gpu</c> °C) to <see cref="GpuSample"/>. Allocation tags added by the user's processors
/// (<c>namespace</c>, <c>pod</c>, <c>container</c>, <c>served_model</c>) are kept; <c>name</c> becomes the canonical
/// <c>gpu_model</c> key with the full name in <c>gpu_name</c> (<see cref="GpuModelName"/>).
/// </summary>
public static class TelegrafNvidiaSmi
{
    public const string Measurement = "nvidia_smi";

    public static ReadOnlySpan<byte> MeasurementUtf8 => "nvidia_smi"u8;
    private const long BytesPerMebibyte = 1024 * 1024;

    /// <summary>The sample, or null when the point carries no GPU identity (<see cref="GpuIdentity"/>): no uuid,
    /// and no host with a pci_bus_id or an index.</summary>
    public static GpuSample? Map(ParsedPoint point, string? pool, string? cluster)
    {
        ArgumentNullException.ThrowIfNull(point);
        string? node = point.GetTag("host") ?? point.GetTag("node");
        string? identity = GpuIdentity.Of(point.GetTag("uuid"), point.GetTag(GpuIdentity.PciBusIdTag), node, point.GetTag("index"));
        if (identity is null)
        {
            return null;
        }

        int index = int.TryParse(point.GetTag("index"), NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : 0;
        return new GpuSample
        {
            Time = UnixTime.FromNanoseconds(point.TimestampNanoseconds),
            Cluster = point.GetTag("cluster") ?? cluster,
            Node = node ?? "unknown",
            GpuIndex = index,
            GpuUuid = identity,
            GpuModel = point.GetTag("name"),
            Pool = point.GetTag("pool") ?? pool,
            Namespace = point.GetTag(Tags.Namespace),
            Pod = point.GetTag(Tags.Pod),
            Container = point.GetTag(Tags.Container),
            ServedModel = point.GetTag(Tags.ServedModel),
            UtilizationPercent = point.GetField("utilization_gpu")?.AsDouble(),
            PowerWatts = point.GetField("power_draw")?.AsDouble(),
            MemoryUsedBytes = Mebibytes(point.GetField("memory_used")),
            MemoryTotalBytes = Mebibytes(point.GetField("memory_total")),
            TemperatureCelsius = point.GetField("temperature_gpu")?.AsDouble(),
        };
    }

    private static long? Mebibytes(FieldValue? value) =>
        value?.AsDouble() is { } mib ? (long)Math.Round(mib * BytesPerMebibyte) : null;
}
