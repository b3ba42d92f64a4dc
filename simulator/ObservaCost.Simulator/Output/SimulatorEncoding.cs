using System.Globalization;
using System.Text;
using System.Text.Json;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Simulator.Output;

/// <summary>
/// The three forms the simulator speaks, each the format a real source sends to the collector: a dcgm-exporter page
/// per node, <c>gpu_sample</c> line protocol, and request logs as NDJSON. Every form is a pure function of the
/// readings or requests, so the same input gives the same bytes.
/// </summary>
public static class SimulatorEncoding
{
    /// <summary>The driver version label of every simulated page.</summary>
    public const string DriverVersion = "590.48.01";

    /// <summary>
    /// The gauges and counters a dcgm-exporter 4.x page of the captures in ../shared/data/dcgm-exporter carries, with
    /// their HELP texts and units as there (power in W, energy in mJ since driver load, framebuffer in MiB,
    /// utilization in %, the engine activity a 0–1 ratio, the Xid gauge the last error's code).
    /// </summary>
    private static readonly (string Name, string Type, string Help, Func<GpuReading, string> Value)[] DcgmMetrics =
    [
        ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", r => Integer(r.TemperatureCelsius)),
        ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", r => r.PowerWatts.ToString("F6", CultureInfo.InvariantCulture)),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).", r => r.EnergyMillijoules.ToString(CultureInfo.InvariantCulture)),
        ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", r => Integer(r.UtilizationPercent)),
        ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", r => (r.Gpu.Model.MemoryTotalMebibytes - r.MemoryUsedMebibytes).ToString(CultureInfo.InvariantCulture)),
        ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", r => r.MemoryUsedMebibytes.ToString(CultureInfo.InvariantCulture)),
        ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", r => r.XidCode.ToString(CultureInfo.InvariantCulture)),
        ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", r => (r.UtilizationPercent / 100 * 0.95).ToString("F6", CultureInfo.InvariantCulture)),
    ];

    /// <summary>
    /// The dcgm-exporter page of one node: the readings of its GPUs, labelled as dcgm-exporter labels them
    /// (<c>gpu</c>, <c>UUID</c>, <c>pci_bus_id</c>, <c>device</c>, <c>modelName</c>, <c>Hostname</c>,
    /// <c>DCGM_FI_DRIVER_VERSION</c>) plus, for an allocated GPU, the Kubernetes labels its pod-resources mapping adds
    /// (<c>container</c>, <c>namespace</c>, <c>pod</c>) and the pod's <c>model</c> label.
    /// </summary>
    public static string DcgmPage(IEnumerable<GpuReading> nodeReadings)
    {
        ArgumentNullException.ThrowIfNull(nodeReadings);
        GpuReading[] readings = [.. nodeReadings];
        var page = new StringBuilder(readings.Length * 2048);
        foreach ((string name, string type, string help, Func<GpuReading, string> value) in DcgmMetrics)
        {
            page.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            page.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (GpuReading r in readings)
            {
                page.Append(name).Append(CultureInfo.InvariantCulture,
                    $"{{gpu=\"{r.Gpu.Index}\",UUID=\"{r.Gpu.Uuid}\",pci_bus_id=\"{r.Gpu.PciBusId}\",device=\"nvidia{r.Gpu.Index}\",modelName=\"{r.Gpu.Model.MarketingName}\",Hostname=\"{r.Gpu.Node}\",DCGM_FI_DRIVER_VERSION=\"{DriverVersion}\"");
                if (r.Pod is not null)
                {
                    page.Append(CultureInfo.InvariantCulture, $",container=\"vllm\",namespace=\"{FleetSimulator.Namespace}\",pod=\"{r.Pod}\",model=\"{r.ServedModel}\"");
                }

                page.Append("} ").Append(value(r)).Append('\n');
            }
        }

        return page.ToString();
    }

    /// <summary>
    /// The readings as <c>gpu_sample</c> points tagged <c>source=simulated</c> and the fleet's cluster, with the
    /// fields the analytics read (utilization, power, the energy counter in J, the last Xid code) and the GPU model's
    /// canonical name. The history is written this lean (no temperature, memory or engine activity: seven days of
    /// them would double what the store must take); the live pages carry every dcgm-exporter field. With
    /// <paramref name="temperature"/> the points carry <c>temperature_celsius</c> too.
    /// </summary>
    public static void WriteGpuSamples(LineProtocolWriter writer, IEnumerable<GpuReading> readings, string cluster, bool temperature = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(readings);
        foreach (GpuReading r in readings)
        {
            new GpuSample
            {
                Time = r.Time,
                Cluster = cluster,
                Node = r.Gpu.Node,
                GpuIndex = r.Gpu.Index,
                GpuUuid = r.Gpu.Uuid,
                GpuModel = r.Gpu.Model.Name,
                Pool = r.Gpu.Pool,
                Namespace = r.Pod is null ? null : FleetSimulator.Namespace,
                Pod = r.Pod,
                Container = r.Pod is null ? null : "vllm",
                ServedModel = r.ServedModel,
                UtilizationPercent = r.UtilizationPercent,
                PowerWatts = r.PowerWatts,
                EnergyJoules = r.EnergyMillijoules / 1000.0,
                XidErrors = r.XidCode,
                TemperatureCelsius = temperature ? r.TemperatureCelsius : null,
                Source = FleetSimulator.SourceTag,
            }.WriteTo(writer);
        }
    }

    /// <summary>
    /// The requests as NDJSON request-log records, the body of <c>/api/v1/requests</c> and its import form. Without
    /// <paramref name="latency"/> the records carry no <c>latency_ms</c> and <c>ttft_ms</c>: the history is written so,
    /// because the collector's 10 s windows hold about one request each at the demo's rates, and the eight latency
    /// fields would more than double what the store takes per window.
    /// </summary>
    public static byte[] RequestLog(IEnumerable<SimulatedRequest> requests, bool latency = true)
    {
        ArgumentNullException.ThrowIfNull(requests);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            foreach (SimulatedRequest r in requests)
            {
                json.WriteStartObject();
                json.WriteString("timestamp"u8, r.Timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                json.WriteString("model"u8, r.Model);
                json.WriteString("tenant"u8, r.Tenant);
                json.WriteString("pool"u8, r.Pool);
                json.WriteString("node"u8, r.Node);
                json.WriteString("status"u8, "ok");
                json.WriteString("dataset"u8, Datasets.Simulated);
                json.WriteNumber("prompt_tokens"u8, r.PromptTokens);
                json.WriteNumber("completion_tokens"u8, r.CompletionTokens);
                if (latency)
                {
                    json.WriteNumber("ttft_ms"u8, r.TimeToFirstTokenMs);
                    json.WriteNumber("latency_ms"u8, r.LatencyMs);
                }

                json.WriteEndObject();
                json.Flush();
                buffer.WriteByte((byte)'\n');
                json.Reset();
            }
        }

        return buffer.ToArray();
    }

    private static string Integer(double value) => ((long)Math.Round(value)).ToString(CultureInfo.InvariantCulture);
}
