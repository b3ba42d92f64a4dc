using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Api;
using ObservaCost.Reporting.Charts;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// <c>/fleet</c>, for platform engineers (admin tokens only): the GPUs now by pool and node with utilization, power
/// and idle state; idle GPUs and idle dollars over the period; the period's anomalies, each linked to the view of the
/// GPU, pool or model it concerns. Filters: <c>pool</c>, <c>gpu</c> (a UUID).
/// </summary>
public static class FleetView
{
    private const string Path = "/fleet";

    public static async Task<WebViewContent> BuildAsync(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        WebPeriod period = request.Period;
        string? pool = request.Filter("pool"), gpu = request.Filter("gpu");

        // "Now" is the last whole minute for a period ending now, else the end of the period asked for.
        DateTimeOffset lastMinute = new(request.Now.UtcTicks - (request.Now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        DateTimeOffset at = period.To > lastMinute ? lastMinute : period.To;
        IReadOnlyList<GpuNow> allGpus = await request.Services.GetRequiredService<FleetNowReader>().ReadAsync(at, request.Context.RequestAborted);
        GpuNow[] gpus = [.. allGpus.Where(g => (pool is null || g.Pool == pool) && (gpu is null || g.GpuUuid == gpu))];
        IReadOnlyList<IdleRow> idleRows = await WebData.IdleAsync(request, period.Step, Tags.Pool);
        IdleRow[] idle = [.. idleRows.Where(r => pool is null || r.Pool == pool)];
        IReadOnlyList<AnomalyRow> anomalies = await WebData.AnomaliesAsync(request);

        var pools = new WebTable("pools-now", "GPUs now by pool", [
            new("Pool"), new("GPUs", "N0"), new("Idle GPUs", "N0"), new("Mean utilization (%)", "N1"), new("Power (W)", "N0")]);
        foreach (IGrouping<string, GpuNow> group in gpus.GroupBy(g => g.Pool, StringComparer.Ordinal))
        {
            pools.Add(WebCell.Of(Label(group.Key), LinkTo(request, Path, ("pool", group.Key))), group.Count(), group.Count(g => g.Idle),
                Mean(group.Select(g => g.UtilizationPercent)), Sum(group.Select(g => g.PowerWatts)));
        }

        var gpuTable = new WebTable("gpus-now", "GPUs now by pool and node", [
            new("Pool"), new("Node"), new("GPU"), new("GPU model"), new("UUID"), new("Utilization (%)", "N1"), new("Power (W)", "N0"), new("State"), new("Minute (UTC)")]);
        foreach (GpuNow g in gpus)
        {
            gpuTable.Add(Label(g.Pool), g.Node, g.GpuIndex, g.GpuModel, WebCell.Of(g.GpuUuid, LinkTo(request, Path, ("gpu", g.GpuUuid))),
                g.UtilizationPercent, g.PowerWatts, g.UtilizationPercent is null ? "not measured" : g.Idle ? "idle" : "busy", WebData.Bucket(g.Minute));
        }

        IReadOnlyList<DateTimeOffset> buckets = WebData.Buckets(period);
        double stepHours = period.Step.TotalHours;
        var idleTable = new WebTable("idle-over-time", "Idle GPUs and idle dollars per bucket", [
            new("Bucket start (UTC)"), new("Idle GPUs (mean)", "N2"), new("Idle GPU-hours", "N2"), new("Idle cost ($)", "N2"), new("Idle share (%)", "N1")]);
        var idleGpus = new double[buckets.Count];
        var idleUsd = new double[buckets.Count];
        for (int i = 0; i < buckets.Count; i++)
        {
            IdleRow[] inBucket = [.. idle.Where(r => r.WindowStart == buckets[i])];
            if (inBucket.Length == 0)
            {
                idleGpus[i] = idleUsd[i] = double.NaN;
                continue;
            }

            double idleHours = inBucket.Sum(r => r.IdleGpuHours), allHours = inBucket.Sum(r => r.GpuHours);
            idleGpus[i] = idleHours / stepHours;
            idleUsd[i] = inBucket.Sum(r => r.IdleCostUsd);
            idleTable.Add(WebData.Bucket(buckets[i]), idleGpus[i], idleHours, idleUsd[i], allHours > 0 ? idleHours / allHours * 100 : (double?)null);
        }

        AnomalyRow[] events = [.. anomalies.Where(e => Concerns(e, pool, gpu, gpus))];
        var anomalyTable = new WebTable("anomalies", "Anomalies (newest first)", [
            new("Time (UTC)"), new("Severity"), new("Detector"), new("Kind"), new("Entity"), new("Series"), new("Value", "G6"), new("Expected", "G6")]);
        foreach (AnomalyRow e in events)
        {
            anomalyTable.Add(WebData.Bucket(e.Time), e.Severity, e.Detector, e.EntityKind, WebCell.Of(e.Entity, EntityLink(request, e)), e.Series, e.Value, e.ExpectedValue);
        }

        return new WebViewContent([pools, gpuTable, idleTable, anomalyTable], html =>
        {
            Html page = WebLayout.Begin("Fleet", Path, request.Caller, period.Describe(),
                "utilization in % of the GPU's capacity (graphics activity where reported), power in W (mean over the minute), idle GPUs as the mean count idle per bucket, dollars in USD.");
            WebLayout.Filters(page, request, Path, [
                ("pool", "Pool", [.. allGpus.Select(g => g.Pool).Concat(idleRows.Select(r => r.Pool ?? string.Empty)).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]),
                ("gpu", "GPU (UUID)", [.. gpus.Select(g => g.GpuUuid).Distinct(StringComparer.Ordinal)])]);
            WebLayout.Cards(page, [
                ("GPUs reporting", gpus.Length.ToString("N0", CultureInfo.InvariantCulture), "latest minute up to " + WebData.Bucket(at) + " UTC"),
                ("Idle now", gpus.Count(g => g.Idle).ToString("N0", CultureInfo.InvariantCulture), "below the pool's idle threshold"),
                ("Power now", WebData.Number(Sum(gpus.Select(g => g.PowerWatts)) / 1000, "N2") + " kW", "GPUs only"),
                ("Idle GPU-hours", WebData.Number(idle.Sum(r => r.IdleGpuHours), "N1"), "in the period"),
                ("Idle cost", WebData.Usd(idle.Sum(r => r.IdleCostUsd)), "in the period"),
                ("Anomalies", events.Length.ToString("N0", CultureInfo.InvariantCulture), "in the period"),
            ]);
            page.Element("h2", "GPUs now");
            if (gpus.Length == 0)
            {
                page.Element("p", string.Create(CultureInfo.InvariantCulture, $"No GPU reported a sample in the {FleetNowReader.Lookback.TotalMinutes:0} minutes up to {WebData.Bucket(at)} UTC."), ("class", "note"));
            }

            pools.WriteHtml(page, request.CsvHref(pools.Id));
            gpuTable.WriteHtml(page, request.CsvHref(gpuTable.Id), tall: true);
            page.Element("h2", "Idle GPUs and idle dollars over time");
            ChartSpec? chart = idleTable.Rows.Count == 0 ? null : new TimeChart(
                pool is null ? "Idle GPUs and idle cost, whole fleet" : "Idle GPUs and idle cost, pool " + pool,
                "idle GPUs (mean count)",
                [new LineSeries("idle GPUs", buckets, idleGpus), new LineSeries(stepHours == 1 ? "idle $ per hour" : "idle $ per day", buckets, idleUsd, ChartAxis.Right, Dashed: true)],
                RightAxisLabel: "idle cost (USD)");
            WebLayout.ChartWithTable(page, request, chart, idleTable);
            page.Element("h2", "Anomalies");
            anomalyTable.WriteHtml(page, request.CsvHref(anomalyTable.Id), tall: true);
            html.Constant(WebLayout.End(page));
        });
    }

    /// <summary>A GPU event links to the fleet view of that GPU, a pool event to its pool, a model event to the cost view of the model.</summary>
    private static string? EntityLink(WebRequest request, AnomalyRow e) => e.EntityKind switch
    {
        "gpu" => LinkTo(request, Path, ("gpu", e.Entity[(e.Entity.LastIndexOf('/') + 1)..])),
        "pool" => LinkTo(request, Path, ("pool", e.Entity)),
        "model" => LinkTo(request, "/cost", ("model", e.Entity)),
        _ => null,
    };

    private static bool Concerns(AnomalyRow e, string? pool, string? gpu, GpuNow[] gpus)
    {
        if (pool is null && gpu is null)
        {
            return true;
        }

        string uuid = e.Entity[(e.Entity.LastIndexOf('/') + 1)..];
        return e.EntityKind switch
        {
            "gpu" => gpus.Any(g => g.GpuUuid == uuid),
            "pool" => gpu is null && e.Entity == pool,
            _ => false,
        };
    }

    /// <summary>A link to a view with one filter, keeping the period.</summary>
    internal static string LinkTo(WebRequest request, string path, (string Key, string Value) filter) =>
        WebRequest.Link(path, [("last", request.Period.Last), ("from", request.Period.Last is null ? request.Query["from"].ToString() : null),
            ("to", request.Period.Last is null ? request.Query["to"].ToString() : null), (filter.Key, filter.Value)]);

    private static string Label(string? value) => string.IsNullOrEmpty(value) ? "(none)" : value;

    private static double? Mean(IEnumerable<double?> values)
    {
        double[] known = [.. values.OfType<double>()];
        return known.Length == 0 ? null : known.Average();
    }

    private static double? Sum(IEnumerable<double?> values)
    {
        double[] known = [.. values.OfType<double>()];
        return known.Length == 0 ? null : known.Sum();
    }
}
