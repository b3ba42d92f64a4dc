using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Hosting.Telemetry;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>
/// The collector's counters as a host's <c>/metrics</c> shows them (<see cref="PrometheusMetrics"/>, the one source
/// of its numbers): the series names are the Prometheus ones, labels sorted by name.
/// </summary>
public sealed class CollectorTotals(PrometheusMetrics metrics)
{
    public static CollectorTotals Of(IServiceProvider services) => new(services.GetRequiredService<PrometheusMetrics>());

    public long ReceivedTotal(string source) => Read($"observacost_collector_points_received_total{{source=\"{source}\"}}");

    public long RejectedTotal(string source) => Read($"observacost_collector_points_rejected_total{{source=\"{source}\"}}");

    public long RejectedTotal(string source, string reason) =>
        Read($"observacost_collector_points_rejected_by_reason_total{{reason=\"{reason}\",source=\"{source}\"}}");

    public long WrittenTotal => Read("observacost_collector_points_written_total");

    public long DeadLetteredTotal => Read("observacost_collector_points_deadlettered_total");

    public long DeadLetterDroppedTotal => Read("observacost_collector_points_deadletter_dropped_total");

    public long RestartsTotal(string service) => Read($"observacost_collector_service_restarts_total{{service=\"{service}\"}}");

    private long Read(string series) => (long)metrics.Value(series);

    /// <summary>For the test's messages.</summary>
    public override string ToString() => metrics.Scrape().Length.ToString(CultureInfo.InvariantCulture);
}
