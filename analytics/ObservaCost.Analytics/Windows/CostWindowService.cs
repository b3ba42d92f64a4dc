using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Kpi;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Windows;

/// <summary>What one computation of a window produced.</summary>
public sealed record WindowCostReport(
    DateTimeOffset WindowStart,
    TimeSpan WindowLength,
    int GpuCount,
    IReadOnlyList<CostWindow> Costs,
    IReadOnlyList<IdleWindow> Idle,
    IReadOnlyList<KpiWindow> Kpis,
    IReadOnlyList<string> UnpricedGpus,
    TimeSpan ReadDuration,
    TimeSpan ComputeDuration,
    TimeSpan WriteDuration)
{
    /// <summary>Whole-node power readings below their GPUs' power (non-GPU power clamped to 0), and their nodes.</summary>
    public int NodePowerClampedReadings { get; init; }

    public IReadOnlyList<string> NodePowerClampedNodes { get; init; } = [];

    public double CostUsd => Costs.Sum(c => c.CostUsd);
}

/// <summary>
/// Computes one window of cost, idle capacity and KPIs from the store and writes it back, replacing whatever the
/// window held before (delete, then write), so computing a window again — late data, a backfill, a second replica —
/// leaves exactly the points one computation leaves. The domain work is in <see cref="FleetWindowReader"/>,
/// <see cref="GpuCostCalculator"/>, <see cref="FleetCostAggregator"/> and <see cref="KpiCalculator"/>; this class only
/// wires them to the store.
/// </summary>
public sealed partial class CostWindowService(ITimeSeriesStore store, PricingFile pricing, AnalyticsWindowOptions options, ILogger<CostWindowService> logger)
{
    private static readonly PriceEntry Unpriced = new("unpriced", null, null);

    /// <summary>
    /// How far before and after a window its GPU readings are read: the sample-gap limit (to bridge the edges) and the
    /// longest idle minimum duration (so an idle run crossing an edge is judged whole, then clipped).
    /// </summary>
    public TimeSpan LookAround => options.MaxSampleGap > pricing.LongestIdleMinimumDuration ? options.MaxSampleGap : pricing.LongestIdleMinimumDuration;

    /// <summary>Reads, computes and returns the window without writing it.</summary>
    public async Task<WindowCostReport> ComputeAsync(DateTimeOffset windowStart, CancellationToken cancellationToken = default)
    {
        DateTimeOffset windowEnd = windowStart + options.WindowLength;
        long started = Stopwatch.GetTimestamp();
        IReadOnlyList<GpuWindowInput> gpus = await FleetWindowReader.ReadAsync(
            store, windowStart, windowEnd, options.Resolution, LookAround, pricing.ServedModelForPool, options.GpuMeasurement, cancellationToken);
        IReadOnlyList<TokenUsage> tokens = await TokenUsageReader.ReadAsync(store, windowStart, windowEnd, cancellationToken);
        Dictionary<string, double> observedPeaks = await CapacityReader.ReadObservedPeaksAsync(store, windowStart, pricing.CapacityLookback, options.WindowLength, cancellationToken);
        IReadOnlyDictionary<string, IReadOnlyList<NodePowerReading>> nodePower = await NodePowerAttribution.ReadAsync(store, windowStart - LookAround, windowEnd + LookAround, cancellationToken);
        TimeSpan readDuration = Stopwatch.GetElapsedTime(started);

        started = Stopwatch.GetTimestamp();
        NodePowerResult withNodePower = NodePowerAttribution.Apply(gpus, nodePower, pricing.Energy.NodePowerWatts, windowStart, windowEnd, options.MaxSampleGap);
        gpus = withNodePower.Gpus;
        if (withNodePower.ClampedReadings > 0)
        {
            LogNodePowerClamped(logger, windowStart, withNodePower.ClampedReadings, string.Join(", ", withNodePower.ClampedNodes.Take(5)));
        }

        gpus = [.. gpus.Select(g => GpuSharing.Resolve(g, tokens, pricing.CompletionTokenWeight))];
        foreach (GpuWindowInput gpu in gpus.Where(g => g.MigSlicesUnknown))
        {
            LogMigSlicesUnknown(logger, gpu.Node + "/" + gpu.GpuUuid, gpu.GpuModel ?? "(none)", string.Join(", ", gpu.Partitions!.Select(p => p.MigProfile ?? "(none)")), windowStart);
        }

        TariffSchedule schedule = pricing.Energy.ScheduleFor(windowStart, windowEnd);
        if (pricing.Energy.Carbon?.MissingHours(windowStart, windowEnd) is { Count: > 0 } missing)
        {
            LogCarbonHoursMissing(logger, windowStart, missing.Count, missing[0]);
        }

        var unpriced = new List<string>();
        var priced = new List<GpuWindowResult>(gpus.Count);
        foreach (GpuWindowInput gpu in gpus)
        {
            if (!pricing.TryResolve(gpu.Pool, gpu.GpuModel, out PriceEntry? price))
            {
                unpriced.Add(gpu.Node + "/" + gpu.GpuUuid);
                price = Unpriced;
            }

            GpuWindowCost cost = GpuCostCalculator.Compute(
                gpu, windowStart, windowEnd, price, pricing.Energy, schedule, pricing.IdleThresholdsFor(gpu.Pool), options.MaxSampleGap);
            priced.Add(new GpuWindowResult(gpu, cost));
        }

        if (unpriced.Count > 0)
        {
            LogUnpriced(logger, unpriced.Count, windowStart, string.Join(", ", unpriced.Take(5)));
        }

        (IReadOnlyList<CostWindow> firstPass, _) = FleetCostAggregator.Aggregate(windowStart, options.WindowLength, priced, tokens);
        Dictionary<string, double> peaks = PeakRates(firstPass, observedPeaks);
        var rules = new CostRules(
            pricing.CompletionTokenWeight,
            model => peaks.TryGetValue(model, out double rate) ? rate : null,
            pricing.RevenueUsdPerMillionTokens);
        (IReadOnlyList<CostWindow> costs, IReadOnlyList<IdleWindow> idle) = FleetCostAggregator.Aggregate(windowStart, options.WindowLength, priced, tokens, rules);
        IReadOnlyList<KpiWindow> kpis = KpiCalculator.Compute(windowStart, options.WindowLength, costs, idle);
        TimeSpan computeDuration = Stopwatch.GetElapsedTime(started);
        return new WindowCostReport(windowStart, options.WindowLength, gpus.Count, costs, idle, kpis, unpriced, readDuration, computeDuration, TimeSpan.Zero)
        {
            NodePowerClampedReadings = withNodePower.ClampedReadings,
            NodePowerClampedNodes = withNodePower.ClampedNodes,
        };
    }

    /// <summary>Computes the window and replaces its stored points.</summary>
    public async Task<WindowCostReport> ComputeAndWriteAsync(DateTimeOffset windowStart, CancellationToken cancellationToken = default)
    {
        WindowCostReport report = await ComputeAsync(windowStart, cancellationToken);
        long started = Stopwatch.GetTimestamp();
        await WindowWriter.ReplaceAsync(
            store,
            windowStart,
            report.WindowLength,
            [(Measurements.CostWindow, report.Costs), (Measurements.IdleWindow, report.Idle), (Measurements.KpiWindow, report.Kpis)],
            cancellationToken);
        report = report with { WriteDuration = Stopwatch.GetElapsedTime(started) };
        LogComputed(logger, windowStart, report.GpuCount, report.CostUsd, report.Costs.Count, report.ReadDuration.TotalMilliseconds, report.ComputeDuration.TotalMilliseconds, report.WriteDuration.TotalMilliseconds);
        return report;
    }

    /// <summary>
    /// A model's peak sustained tokens/s per GPU: the configured value, else the highest hourly rate over the
    /// lookback — the stored windows and this window's rows (tokens are shared over a model/tenant's rows by
    /// GPU-hours, so a row's rate is its pair's rate) — so served tokens never exceed the capacity.
    /// </summary>
    private Dictionary<string, double> PeakRates(IReadOnlyList<CostWindow> rows, Dictionary<string, double> observed)
    {
        var peaks = new Dictionary<string, double>(observed, StringComparer.Ordinal);
        foreach (CostWindow row in rows)
        {
            if (row.Model is not null && row.GpuHours > 0)
            {
                double rate = (row.PromptTokens + row.CompletionTokens) / (row.GpuHours * 3600);
                peaks[row.Model] = Math.Max(peaks.GetValueOrDefault(row.Model), rate);
            }
        }

        foreach (KeyValuePair<string, double> configured in pricing.MaxTokensPerSecondPerGpu)
        {
            peaks[configured.Key] = configured.Value;
        }

        return peaks;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Window {WindowStart:o}: {Gpus} GPUs, {CostUsd:F2} USD in {Rows} cost rows (read {ReadMs:F0} ms, compute {ComputeMs:F0} ms, write {WriteMs:F0} ms)")]
    private static partial void LogComputed(ILogger logger, DateTimeOffset windowStart, int gpus, double costUsd, int rows, double readMs, double computeMs, double writeMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Window {WindowStart:o}: {Readings} whole-node power readings were below their GPUs' power; their non-GPU power was taken as 0 (nodes: {Nodes})")]
    private static partial void LogNodePowerClamped(ILogger logger, DateTimeOffset windowStart, int readings, string nodes);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Count} GPUs match no price entry in window {WindowStart:o} (charged energy only): {Examples}")]
    private static partial void LogUnpriced(ILogger logger, int count, DateTimeOffset windowStart, string examples);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "MIG GPU {Gpu} ({GpuModel}, profiles {Profiles}) is not in the slices table; its instances share it equally (basis mig_equal) in window {WindowStart:o}")]
    private static partial void LogMigSlicesUnknown(ILogger logger, string gpu, string gpuModel, string profiles, DateTimeOffset windowStart);
    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Window {WindowStart:o}: the carbon intensity file has no value for {Hours} hour(s) (first {FirstHour:o}) and the pricing file gives no fixed fallback: the window's carbon is unknown (null)")]
    private static partial void LogCarbonHoursMissing(ILogger logger, DateTimeOffset windowStart, int hours, DateTimeOffset firstHour);
}
