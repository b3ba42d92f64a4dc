using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>What a scrape target exports.</summary>
public enum ScrapeKind
{
    /// <summary>NVIDIA dcgm-exporter.</summary>
    Dcgm,
    /// <summary>AMD ROCm device-metrics-exporter.</summary>
    Amd,
    /// <summary>A vLLM server's <c>/metrics</c>.</summary>
    Vllm,
    /// <summary>HAMi's vGPU monitor (<c>hami-device-plugin</c>, per-container vGPU memory and SM utilization).</summary>
    Hami,

    /// <summary>Prometheus community ipmi_exporter: the DCMI collector's whole-node power (<c>node_sample</c>).</summary>
    IpmiDcmi,

    /// <summary>A Redfish exporter's chassis power, <c>redfish_chassis_power_average_consumed_watts</c> (<c>node_sample</c>).</summary>
    Redfish,

    /// <summary>Any page with a node's power in watts: <see cref="ScrapeTarget.NodePowerMetric"/> (<c>node_sample</c>).</summary>
    NodePower,
}

/// <summary>One Prometheus-text endpoint to scrape.</summary>
public sealed class ScrapeTarget
{
    public string Name { get; set; } = string.Empty;

    public Uri? Url { get; set; }

    public ScrapeKind Kind { get; set; } = ScrapeKind.Dcgm;

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The node the target runs on (used when the page has no host label, or always with <see cref="PreferConfiguredNode"/>).</summary>
    public string? Node { get; set; }

    /// <summary>Trust <see cref="Node"/> over the page's Hostname label (dcgm-exporter may report its own pod name there).</summary>
    public bool PreferConfiguredNode { get; set; }

    public string? Cluster { get; set; }

    public string? Pool { get; set; }

    /// <summary>
    /// The tenant the target belongs to: a vLLM server's traffic, or every GPU sample of a GPU exporter (tagged
    /// <c>tenant</c>, so its cost goes to this tenant whatever the pod's namespace). Empty: fleet-wide.
    /// </summary>
    public string? Tenant { get; set; }

    /// <summary>Labels added when the page lacks them.</summary>
    public Dictionary<string, string> ExtraLabels { get; set; } = [];

    /// <summary>AMD: the exporter's optional metric-name prefix.</summary>
    public string? MetricPrefix { get; set; }

    /// <summary>GPU exporters: a label naming the served model, if the page has one.</summary>
    public string? ServedModelLabel { get; set; }

    /// <summary>Node-power kinds: a page label naming the node (e.g. <c>instance</c> behind a federation); else <see cref="Node"/>.</summary>
    public string? NodeLabel { get; set; }

    /// <summary><see cref="ScrapeKind.NodePower"/>: the metric holding the node's power in watts.</summary>
    public string? NodePowerMetric { get; set; }

    /// <summary>Node-power kinds: labels a series must have to count (e.g. <c>chassis_id</c> = <c>System.Embedded.1</c>); matching series are summed.</summary>
    public Dictionary<string, string> NodePowerLabels { get; set; } = [];

    /// <summary>Node-power kinds: what the reading covers, <c>node</c> (the whole server, GPUs included) or <c>non_gpu</c>.</summary>
    public string NodePowerScope { get; set; } = NodePowerScopes.WholeNode;

    /// <summary>Whether the target writes <c>node_sample</c> points.</summary>
    public bool IsNodePower => Kind is ScrapeKind.IpmiDcmi or ScrapeKind.Redfish or ScrapeKind.NodePower;
}

/// <summary>Scraping. Configuration section <c>Collector:Scrape</c>.</summary>
public sealed class ScrapeOptions
{
    public const string SectionName = "Collector:Scrape";

    public List<ScrapeTarget> Targets { get; set; } = [];

    /// <summary>Largest page read from a target.</summary>
    public long MaxPageBytes { get; set; } = 64L << 20;

    /// <summary>Most samples parsed from one page.</summary>
    public int MaxSamplesPerPage { get; set; } = 200_000;

    /// <summary>The default of <see cref="MaxWorkloadsPerGpu"/>.</summary>
    public const int DefaultMaxWorkloadsPerGpu = 64;

    /// <summary>
    /// Most workloads (pods and containers, or HAMi containers) written per GPU or MIG instance from one page; the rest
    /// are dropped, counted in <c>points.rejected</c> with reason <c>workload_limit</c> and logged.
    /// </summary>
    public int MaxWorkloadsPerGpu { get; set; } = DefaultMaxWorkloadsPerGpu;
}

public sealed class ScrapeOptionsValidator : IValidateOptions<ScrapeOptions>
{
    public ValidateOptionsResult Validate(string? name, ScrapeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Targets.Count; i++)
        {
            ScrapeTarget t = options.Targets[i];
            string p = string.Create(CultureInfo.InvariantCulture, $"{ScrapeOptions.SectionName}:Targets:{i}:");
            if (string.IsNullOrWhiteSpace(t.Name) || !names.Add(t.Name))
            {
                failures.Add($"{p}Name is required and must be unique.");
            }

            if (t.Url is null || !t.Url.IsAbsoluteUri || (t.Url.Scheme != Uri.UriSchemeHttp && t.Url.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"{p}Url must be an absolute http or https URL.");
            }

            if (t.Interval < TimeSpan.FromSeconds(1))
            {
                failures.Add($"{p}Interval must be at least one second.");
            }

            if (t.Timeout <= TimeSpan.Zero || t.Timeout > t.Interval)
            {
                failures.Add($"{p}Timeout must be positive and no longer than {p}Interval.");
            }

            if (t.Kind != ScrapeKind.Vllm && string.IsNullOrWhiteSpace(t.Node) && t.PreferConfiguredNode)
            {
                failures.Add($"{p}Node is required when {p}PreferConfiguredNode is on.");
            }

            if (t.IsNodePower)
            {
                ValidateNodePower(t, p, failures);
            }
        }

        if (options.MaxPageBytes < 64 * 1024)
        {
            failures.Add($"{ScrapeOptions.SectionName}:MaxPageBytes must be at least 64 KiB.");
        }

        if (options.MaxSamplesPerPage < 1)
        {
            failures.Add($"{ScrapeOptions.SectionName}:MaxSamplesPerPage must be positive.");
        }

        if (options.MaxWorkloadsPerGpu is < 1 or > 4096)
        {
            failures.Add($"{ScrapeOptions.SectionName}:MaxWorkloadsPerGpu must be between 1 and 4096.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateNodePower(ScrapeTarget t, string p, List<string> failures)
    {
        // A BMC page names no Kubernetes node: without a configured node the reading would belong to the BMC's address.
        if (string.IsNullOrWhiteSpace(t.Node) && string.IsNullOrWhiteSpace(t.NodeLabel))
        {
            failures.Add($"{p}Node (or {p}NodeLabel) is required for a {t.Kind} target: the node whose power it reads.");
        }

        if (t.Kind == ScrapeKind.NodePower && string.IsNullOrWhiteSpace(t.NodePowerMetric))
        {
            failures.Add($"{p}NodePowerMetric is required for a NodePower target.");
        }

        if (t.NodePowerScope is not (NodePowerScopes.WholeNode or NodePowerScopes.NonGpu))
        {
            failures.Add($"{p}NodePowerScope must be '{NodePowerScopes.WholeNode}' or '{NodePowerScopes.NonGpu}'.");
        }
    }
}
