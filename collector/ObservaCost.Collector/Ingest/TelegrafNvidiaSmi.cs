using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// Maps Telegraf's <c>inputs.nvidia_smi</c> points (measurement <c>nvidia_smi</c>: tags <c>index, uuid, name, host</c>;
/// fields <c>utilization_gpu</c> %, <c>power_draw</c> W, <c>memory_used</c>/<c>memory_total</c> MiB,
/// <c>temperature_gpu</c> °C) to <see cref="GpuSample"/>.
/// </summary>
public static class TelegrafNvidiaSmi
{
    public const string Measurement = "nvidia_smi";

    public static ReadOnlySpan<byte> MeasurementUtf8 => "nvidia_smi"u8;
    private const long BytesPerMebibyte = 1024 * 1024;

    public static GpuSample Map(ParsedPoint point, string? pool, string? cluster)
    {
        ArgumentNullException.ThrowIfNull(point);
        int index = int.TryParse(point.GetTag("index"), NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : 0;
        return new GpuSample
        {
            Time = UnixTime.FromNanoseconds(point.TimestampNanoseconds),
            Cluster = point.GetTag("cluster") ?? cluster,
            Node = point.GetTag("host") ?? point.GetTag("node") ?? "unknown",
            GpuIndex = index,
            GpuUuid = point.GetTag("uuid"),
            GpuModel = point.GetTag("name"),
            Pool = point.GetTag("pool") ?? pool,
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
