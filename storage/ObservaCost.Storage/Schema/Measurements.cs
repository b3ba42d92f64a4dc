using System.Text;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// The store schema: measurement, tag and field names shared by the collector and analytics. Tags hold only bounded
/// identities (cluster, node, GPU, model, tenant, pool, Kubernetes placement); never request ids or timestamps.
/// </summary>
public static class Measurements
{
    public const string GpuSample = "gpu_sample";

    /// <summary>
    /// One workload's signals on a shared GPU (or MIG instance): per-process or per-pod utilization, a device plugin's
    /// requested fraction (<see cref="GpuWorkloadSample"/>).
    /// </summary>
    public const string GpuWorkload = "gpu_workload";

    /// <summary>A whole node's (server's) measured power (<see cref="NodeSample"/>): IPMI DCMI, Redfish and the like.</summary>
    public const string NodeSample = "node_sample";
    public const string InferenceWindow = "inference_window";
    public const string InferenceServer = "inference_server";
    public const string InferenceRequest = "inference_request";
    public const string CostWindow = "cost_window";
    public const string IdleWindow = "idle_window";
    public const string KpiWindow = "kpi_window";
    public const string GpuMinute = "gpu_minute";

    /// <summary>The rollup's kept raw GPU samples at their own times (first, last and idle-state changes of each minute), for cost.</summary>
    public const string GpuTrace = "gpu_trace";
    public const string AnomalyEvent = "anomaly_event";
    public const string ForecastPoint = "forecast_point";

    /// <summary>
    /// The measurements only the analytics service computes and writes (cost, idle, KPIs, the GPU-minute rollup and trace,
    /// anomalies, forecasts). Every ingest endpoint refuses them, for every caller, point by point.
    /// </summary>
    public static readonly IReadOnlyList<string> Computed = [CostWindow, IdleWindow, KpiWindow, GpuMinute, GpuTrace, AnomalyEvent, ForecastPoint];

    /// <summary>True when the UTF-8 measurement name is one of <see cref="Computed"/>.</summary>
    public static bool IsComputed(ReadOnlySpan<byte> measurementUtf8)
    {
        foreach (string computed in Computed)
        {
            if (Ascii.Equals(measurementUtf8, computed))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Tag keys.</summary>
public static class Tags
{
    /// <summary>How a cost row's share of its GPU was found (<see cref="AttributionBases"/>).</summary>
    public const string AttributionBasis = "attribution_basis";

    public const string Cluster = "cluster";

    /// <summary>
    /// Which data set a request window belongs to: absent for a real fleet, <see cref="Datasets.Simulated"/> for the
    /// demo's. Not <see cref="Source"/>: on <c>inference_window</c> that tag names the ingest path the readers choose by.
    /// </summary>
    public const string Dataset = "dataset";
    public const string Container = "container";
    public const string Detector = "detector";
    public const string Entity = "entity";
    public const string EntityKind = "entity_kind";
    public const string GpuIndex = "gpu";
    public const string GpuModel = "gpu_model";
    public const string GpuUuid = "uuid";
    public const string Horizon = "horizon";
    public const string Instance = "instance";
    public const string Key = "key";
    public const string Method = "method";
    public const string MigInstance = "mig_instance";
    public const string MigProfile = "mig_profile";
    public const string Model = "model";
    public const string Namespace = "namespace";
    public const string Node = "node";
    public const string Pod = "pod";
    public const string Pool = "pool";
    public const string ServedModel = "served_model";
    public const string Scope = "scope";

    /// <summary>On <c>cost_window</c>: where the row's node energy came from (<see cref="NodePowerSources"/>).</summary>
    public const string NodePowerSource = "node_power_source";
    public const string Series = "series";
    public const string Severity = "severity";
    public const string Source = "source";
    public const string Status = "status";
    public const string Tenant = "tenant";
    public const string Window = "window";

    /// <summary>A workload's name where no pod names it (e.g. the process name nvidia-smi pmon reports); bounded by what runs on a GPU.</summary>
    public const string Workload = "workload";
}

/// <summary>Values of the <see cref="Tags.Source"/> tag on inference windows: who wrote them (the collector writes, analytics prefers).</summary>
public static class InferenceWindowSources
{
    /// <summary>Windows aggregated live from request logs.</summary>
    public const string RequestLog = "request_log";

    /// <summary>Windows written by the <c>import-requests</c> verb from historical request logs.</summary>
    public const string RequestLogImport = "request_log_import";
}

/// <summary>The values of the <see cref="Tags.Dataset"/> tag; a request record naming any other is refused.</summary>
public static class Datasets
{
    /// <summary>Made up by the fleet simulator (<c>observacost run --demo</c>, <c>observacost simulate</c>).</summary>
    public const string Simulated = "simulated";

    /// <summary>Every value the tag may take (absent: a real fleet).</summary>
    public static IReadOnlyList<string> Known { get; } = [Simulated];

    public static bool IsKnown(string value) => Known.Contains(value, StringComparer.Ordinal);
}

/// <summary>Field keys, with units in their names.</summary>
public static class Fields
{
    public const string UtilizationPercent = "utilization_percent";
    public const string GraphicsEngineActivityRatio = "gr_engine_active_ratio";
    public const string PowerWatts = "power_watts";
    public const string EnergyJoules = "energy_joules";

    /// <summary>A GPU's full marketing name ("NVIDIA H100 80GB HBM3") when its <c>gpu_model</c> key differs (<see cref="Schema.GpuModelName"/>).</summary>
    public const string GpuName = "gpu_name";
    public const string MemoryUsedBytes = "memory_used_bytes";
    public const string MemoryTotalBytes = "memory_total_bytes";

    /// <summary>A workload's memory limit on a shared GPU (a device plugin's share), in bytes.</summary>
    public const string MemoryLimitBytes = "memory_limit_bytes";

    /// <summary>The fraction of a GPU (or MIG instance) a workload requested from its device plugin, 0–1.</summary>
    public const string RequestedFraction = "requested_fraction";

    /// <summary>How many workloads the source saw on the same GPU (or MIG instance) at that moment, this one included.</summary>
    public const string WorkloadsOnGpu = "workloads_on_gpu";
    public const string TemperatureCelsius = "temperature_celsius";
    public const string XidErrors = "xid_errors";
    public const string SampleCount = "sample_count";

    // The rollup's kept samples (gpu_trace): what the samples since the previous kept sample of the same minute add up to.
    public const string SamplesSincePrevious = "samples_since_previous";
    public const string EnergySincePreviousJoules = "energy_since_previous_joules";
    public const string CounterIncreaseSincePreviousJoules = "counter_increase_since_previous_joules";
    public const string HeldUtilizationPercent = "held_utilization_percent";
    public const string UtilizationSumPercent = "utilization_sum_percent";
    public const string UtilizationSamples = "utilization_samples";
    public const string IdleThresholdPercent = "idle_threshold_percent";

    public const string WindowSeconds = "window_seconds";
    public const string RequestCount = "request_count";
    public const string ErrorCount = "error_count";
    public const string PromptTokens = "prompt_tokens";
    public const string CompletionTokens = "completion_tokens";
    public const string LatencySumMs = "latency_sum_ms";
    public const string LatencyMaxMs = "latency_max_ms";
    public const string LatencyP50Ms = "latency_p50_ms";
    public const string LatencyP95Ms = "latency_p95_ms";
    public const string LatencyP99Ms = "latency_p99_ms";
    public const string TimeToFirstTokenP50Ms = "ttft_p50_ms";
    public const string TimeToFirstTokenP95Ms = "ttft_p95_ms";
    public const string TimeToFirstTokenP99Ms = "ttft_p99_ms";
    public const string LatencyMs = "latency_ms";
    public const string TimeToFirstTokenMs = "ttft_ms";

    public const string RequestsRunning = "requests_running";
    public const string RequestsWaiting = "requests_waiting";
    public const string KvCacheUsageRatio = "kv_cache_usage_ratio";

    public const string GpuHours = "gpu_hours";
    public const string IdleGpuHours = "idle_gpu_hours";
    public const string IdleShare = "idle_share";
    public const string GpuEnergyJoules = "gpu_energy_joules";
    public const string FacilityEnergyJoules = "facility_energy_joules";
    public const string IdleEnergyJoules = "idle_energy_joules";
    public const string CapexUsd = "capex_usd";
    public const string OpexUsd = "opex_usd";

    /// <summary>Rented GPU-hours × the rental price; absent on cost windows computed before rental was split from opex.</summary>
    public const string RentalUsd = "rental_usd";
    public const string EnergyCostUsd = "energy_cost_usd";
    public const string CostUsd = "cost_usd";
    public const string IdleCostUsd = "idle_cost_usd";
    public const string Tokens = "tokens";
    public const string CostPerMillionTokensUsd = "cost_per_million_tokens_usd";
    public const string TokensPerKilowattHour = "tokens_per_kwh";
    public const string JoulesPerToken = "joules_per_token";
    public const string NodeEnergyJoules = "node_energy_joules";
    public const string UtilizedGpuHours = "utilized_gpu_hours";
    public const string PromptCostUsd = "prompt_cost_usd";
    public const string CompletionCostUsd = "completion_cost_usd";
    public const string CostPerMillionPromptTokensUsd = "cost_per_million_prompt_tokens_usd";
    public const string CostPerMillionCompletionTokensUsd = "cost_per_million_completion_tokens_usd";
    public const string TokensPerGpuHour = "tokens_per_gpu_hour";
    public const string MaxTokens = "max_tokens";
    public const string CapacityUtilizationRatio = "capacity_utilization_ratio";
    public const string RevenueUsd = "revenue_usd";
    public const string Roi = "roi_ratio";
    public const string Pue = "pue";

    // Carbon (issue 16): grams of CO2-equivalent; absent on windows computed before carbon, or without a carbon intensity.

    /// <summary>Facility energy × the grid's carbon intensity of each moment, gCO2e.</summary>
    public const string OperationalCo2eGrams = "operational_co2e_grams";

    /// <summary>GPU-hours × the GPU's embodied carbon amortised per GPU-hour, gCO2e.</summary>
    public const string EmbodiedCo2eGrams = "embodied_co2e_grams";

    /// <summary>Operational + embodied, gCO2e.</summary>
    public const string Co2eGrams = "co2e_grams";

    /// <summary>The idle part of <see cref="Co2eGrams"/>, gCO2e.</summary>
    public const string IdleCo2eGrams = "idle_co2e_grams";

    /// <summary>gCO2e per one million tokens served.</summary>
    public const string Co2eGramsPerMillionTokens = "co2e_grams_per_million_tokens";

    public const string Score = "score";
    public const string Value = "value";
    public const string ExpectedValue = "expected_value";
    public const string LowerBound = "lower_bound";
    public const string UpperBound = "upper_bound";
    public const string Magnitude = "magnitude";
    public const string IsAnomaly = "is_anomaly";
    public const string IssuedAtUnixSeconds = "issued_at_unix_s";
}
