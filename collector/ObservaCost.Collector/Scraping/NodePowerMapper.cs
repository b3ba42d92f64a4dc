using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>Where a node-power page was scraped.</summary>
public sealed record NodePowerScrapeContext
{
    /// <summary>The time of the scrape; every sample of the page gets it.</summary>
    public required DateTimeOffset ScrapeTime { get; init; }

    /// <summary>The node the target measures, used when the page has no node label (or no node label is configured).</summary>
    public required string Node { get; init; }

    public string? Cluster { get; init; }

    public string? Pool { get; init; }
}

/// <summary>The node readings of one page, and what could not be read.</summary>
public sealed record NodePowerMappingResult
{
    /// <summary>One sample per node, ordered by node name.</summary>
    public required IReadOnlyList<NodeSample> Samples { get; init; }

    /// <summary>
    /// Readings refused, each with its reason: the page lacks the power metric
    /// (<see cref="PrometheusErrorKind.MissingValue"/>, e.g. the BMC gave no DCMI reading), NaN or ±Inf
    /// (<see cref="PrometheusErrorKind.NonFiniteValue"/>), a negative power (<see cref="PrometheusErrorKind.NegativeValue"/>).
    /// A node with any refused series gets no sample: a partial sum would understate its power.
    /// </summary>
    public SampleRejections Rejections { get; init; } = new();
}

/// <summary>
/// Maps a page that reports a whole node's power to <see cref="NodeSample"/>s: the Prometheus community
/// <c>ipmi_exporter</c>'s DCMI collector (<c>ipmi_dcmi_power_consumption_watts</c>, no labels; docs/metrics.md names it
/// <c>ipmi_dcmi_power_consumption_current_watts</c>, read too), a Redfish exporter's chassis power
/// (<c>redfish_chassis_power_average_consumed_watts{chassis_id, power_voltage, power_voltage_id}</c>, one series per
/// chassis PowerControl entry), or any metric named in the configuration. The series that match the metric name and
/// the label selector are summed per node (a BMC with several PowerControl entries or supplies reports parts of the
/// node); with several names, the first name present on the page is read for a node and the others are ignored.
/// </summary>
public sealed class NodePowerMapper
{
    /// <summary>ipmi_exporter's DCMI power: the name in its collector_dcmi.go, then the name in its docs/metrics.md.</summary>
    public static readonly IReadOnlyList<string> IpmiDcmiMetrics = ["ipmi_dcmi_power_consumption_watts", "ipmi_dcmi_power_consumption_current_watts"];

    /// <summary>jenningsloy318/redfish_exporter's chassis power (Redfish <c>PowerControl[*].PowerMetrics.AverageConsumedWatts</c>).</summary>
    public static readonly IReadOnlyList<string> RedfishMetrics = ["redfish_chassis_power_average_consumed_watts"];

    private readonly IReadOnlyList<string> _metrics;
    private readonly IReadOnlyDictionary<string, string> _selector;
    private readonly string? _nodeLabel;
    private readonly string _source;
    private readonly string _scope;

    public NodePowerMapper(string source, IReadOnlyList<string> metrics, IReadOnlyDictionary<string, string>? selector = null, string? nodeLabel = null, string scope = NodePowerScopes.WholeNode)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(metrics);
        _source = source;
        _metrics = metrics;
        _selector = selector ?? new Dictionary<string, string>();
        _nodeLabel = string.IsNullOrEmpty(nodeLabel) ? null : nodeLabel;
        _scope = scope;
    }

    /// <summary>The mapper of a node-power target, or null for other kinds.</summary>
    public static NodePowerMapper? For(ScrapeTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        (string Source, IReadOnlyList<string> Metrics)? kind = target.Kind switch
        {
            ScrapeKind.IpmiDcmi => ("ipmi_dcmi", IpmiDcmiMetrics),
            ScrapeKind.Redfish => ("redfish", RedfishMetrics),
            ScrapeKind.NodePower => ("node_metric", [target.NodePowerMetric!]),
            _ => null,
        };
        return kind is { } k ? new NodePowerMapper(k.Source, k.Metrics, target.NodePowerLabels, target.NodeLabel, target.NodePowerScope) : null;
    }

    public NodePowerMappingResult Map(IReadOnlyList<PrometheusSample> samples, NodePowerScrapeContext context)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(context);
        var rejections = new SampleRejections();

        // Per node: the rank of the metric name read (lower wins), the sum of its series, and whether one was refused.
        var nodes = new SortedDictionary<string, (int Rank, double Watts, bool Refused)>(StringComparer.Ordinal);
        foreach (PrometheusSample sample in samples)
        {
            int rank = IndexOf(sample.Name);
            if (rank < 0 || !Selected(sample.Labels))
            {
                continue;
            }

            string? labelled = _nodeLabel is null ? null : sample.Labels.Get(_nodeLabel);
            string node = string.IsNullOrEmpty(labelled) ? context.Node : labelled;
            bool found = nodes.TryGetValue(node, out var seen);
            if (found && seen.Rank < rank)
            {
                continue;
            }

            if (!found || seen.Rank > rank)
            {
                seen = (rank, 0, false);
            }

            double value = sample.Value;
            if (!double.IsFinite(value))
            {
                rejections.Add(PrometheusErrorKind.NonFiniteValue, string.Create(CultureInfo.InvariantCulture, $"{sample.Name}{sample.Labels} is {value}, not a power reading"));
                seen.Refused = true;
            }
            else if (value < 0)
            {
                rejections.Add(PrometheusErrorKind.NegativeValue, string.Create(CultureInfo.InvariantCulture, $"{sample.Name}{sample.Labels} is {value}: a node's power cannot be negative"));
                seen.Refused = true;
            }
            else
            {
                seen.Watts += value;
            }

            nodes[node] = seen;
        }

        if (nodes.Count == 0)
        {
            rejections.Add(PrometheusErrorKind.MissingValue, $"the page has no {string.Join(" or ", _metrics)}{SelectorText()}: no node power was read");
        }

        var result = new List<NodeSample>(nodes.Count);
        foreach (KeyValuePair<string, (int Rank, double Watts, bool Refused)> node in nodes)
        {
            if (node.Value.Refused)
            {
                continue;
            }

            result.Add(new NodeSample
            {
                Time = context.ScrapeTime,
                Cluster = context.Cluster,
                Node = node.Key,
                Pool = context.Pool,
                Source = _source,
                Scope = _scope,
                PowerWatts = node.Value.Watts,
            });
        }

        return new NodePowerMappingResult { Samples = result, Rejections = rejections };
    }

    private int IndexOf(string name)
    {
        for (int i = 0; i < _metrics.Count; i++)
        {
            if (string.Equals(_metrics[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private bool Selected(LabelSet labels)
    {
        foreach (KeyValuePair<string, string> wanted in _selector)
        {
            if (!string.Equals(labels.Get(wanted.Key) ?? string.Empty, wanted.Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private string SelectorText() =>
        _selector.Count == 0 ? string.Empty : "{" + string.Join(",", _selector.Select(s => s.Key + "=\"" + s.Value + "\"")) + "}";
}
