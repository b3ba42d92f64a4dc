using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Signals;
using ObservaCost.Analytics.TimeSeries.Anomaly;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Anomalies;

/// <summary>Anomaly detection after each window. Bound from <c>Analytics:Anomalies</c>.</summary>
public sealed class AnomalyOptions
{
    public const string SectionName = "Analytics:Anomalies";

    /// <summary>How much per-minute history the GPU and request series carry into the detector. Default 6 h.</summary>
    public TimeSpan MinuteHistory { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How many windows of history the per-model window series carry (cost per 1M tokens, tokens per joule). Default 7 days.</summary>
    public TimeSpan WindowHistory { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The spectral-residual score above which a point is anomalous (ML.NET's <c>threshold</c>). Default 0.35.</summary>
    public double Threshold { get; set; } = 0.35;

    /// <summary>The spectral-residual margin sensitivity, 0–100 (ML.NET's <c>sensitivity</c>). Default 95.</summary>
    public double Sensitivity { get; set; } = 95;

    /// <summary>A score at or above this is critical; below it, a warning. Default 0.7.</summary>
    public double CriticalScore { get; set; } = 0.7;
}

/// <summary>
/// Runs after each cost window: batch spectral residual (<see cref="SrCnnEntireDetector"/>, anomaly + margin mode)
/// over each GPU's power and utilization per minute, each model's request rate per minute, and each model's cost per
/// 1M tokens and tokens per joule per window; plus the cross-signal rules. Anomalies dated inside the window become
/// <see cref="AnomalyEvent"/>s (value, expected value, bounds, score, severity), replacing the window's events in the
/// store, and go to the webhook when one is configured.
/// </summary>
public sealed partial class AnomalyService(
    ITimeSeriesStore store,
    PricingFile pricing,
    AnalyticsWindowOptions windows,
    AnomalyOptions options,
    CrossSignalOptions rules,
    WebhookAlertSink alerts,
    ILogger<AnomalyService> logger)
{
    public const string SpectralResidualDetector = "spectral_residual";

    public async Task<IReadOnlyList<AnomalyEvent>> DetectAndWriteAsync(DateTimeOffset windowStart, CancellationToken cancellationToken = default)
    {
        DateTimeOffset windowEnd = windowStart + windows.WindowLength;
        DateTimeOffset minuteFrom = windowStart - options.MinuteHistory;
        IReadOnlyList<GpuSignal> gpus = await SignalReader.ReadGpusAsync(store, minuteFrom, windowEnd, pricing.ServedModelForPool, windows.GpuMeasurement, cancellationToken);
        IReadOnlyList<ModelTokenSignal> tokens = await SignalReader.ReadTokensAsync(store, minuteFrom, windowEnd, cancellationToken);
        IReadOnlyList<ModelTokenSignal> requests = await SignalReader.ReadRequestsAsync(store, minuteFrom, windowEnd, cancellationToken);
        IReadOnlyList<ModelWindowSignal> modelWindows = await SignalReader.ReadModelWindowsAsync(store, windowStart - options.WindowHistory, windowEnd, windows.WindowLength, cancellationToken);
        var perJoule = await SignalReader.ReadTokensPerJouleAsync(store, windowStart - options.WindowHistory, windowEnd, windows.WindowLength, cancellationToken);

        var events = new List<AnomalyEvent>();
        foreach (GpuSignal gpu in gpus)
        {
            string entity = gpu.Node + "/" + gpu.GpuUuid;
            Detect(events, "gpu", entity, Fields.PowerWatts, Series(gpu.Minutes, m => m.PowerWatts), windowStart, windowEnd);
            Detect(events, "gpu", entity, Fields.UtilizationPercent, Series(gpu.Minutes, m => m.UtilizationPercent), windowStart, windowEnd);
        }

        foreach (ModelTokenSignal model in requests)
        {
            Detect(events, "model", model.Model, "request_rate_per_minute", Filled(model.TokensPerMinute, minuteFrom, windowEnd), windowStart, windowEnd);
        }

        foreach (ModelWindowSignal model in modelWindows)
        {
            Detect(events, "model", model.Model, Fields.CostPerMillionTokensUsd, [.. model.Windows.Select(w => new TimedValue(w.WindowStart, w.CostPerMillionTokensUsd))], windowStart, windowEnd);
        }

        foreach ((string model, IReadOnlyList<(DateTimeOffset WindowStart, double TokensPerJoule)> series) in perJoule)
        {
            Detect(events, "model", model, "tokens_per_joule", [.. series.Select(w => new TimedValue(w.WindowStart, w.TokensPerJoule))], windowStart, windowEnd);
        }

        events.AddRange(CrossSignalRules.Evaluate(gpus, tokens, modelWindows, windowStart, windowEnd, rules));

        await store.DeleteAsync(Measurements.AnomalyEvent, windowStart, windowEnd, new Dictionary<string, string>(StringComparer.Ordinal), cancellationToken);
        if (events.Count > 0)
        {
            await WindowWriter.WriteAsync(store, events, cancellationToken);
            AlertResult sent = await alerts.SendAsync(events, cancellationToken);
            LogDetected(logger, windowStart, events.Count, sent.Sent, sent.Suppressed);
        }

        return events;
    }

    /// <summary>Spectral residual over a whole series; events for the anomalous points inside [from, to).</summary>
    private void Detect(List<AnomalyEvent> events, string entityKind, string entity, string series, TimedValue[] points, DateTimeOffset from, DateTimeOffset to)
    {
        if (points.Length < SrCnnEntireOptions.MinimumBatchSize || !points.Any(p => p.Time >= from && p.Time < to))
        {
            return;
        }

        double[] values = [.. points.Select(p => p.Value)];
        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, new SrCnnEntireOptions
        {
            Threshold = options.Threshold,
            Sensitivity = options.Sensitivity,
            BatchSize = -1,
            DetectMode = SrCnnDetectMode.AnomalyAndMargin,
        });
        for (int i = 0; i < points.Length; i++)
        {
            if (!results[i].IsAnomaly || points[i].Time < from || points[i].Time >= to)
            {
                continue;
            }

            events.Add(new AnomalyEvent
            {
                Time = points[i].Time,
                Series = series,
                EntityKind = entityKind,
                Entity = entity,
                Detector = SpectralResidualDetector,
                Severity = results[i].RawScore >= options.CriticalScore ? AnomalySeverity.Critical : AnomalySeverity.Warning,
                Score = results[i].RawScore,
                Value = values[i],
                ExpectedValue = results[i].ExpectedValue,
                LowerBound = results[i].LowerBoundary,
                UpperBound = results[i].UpperBoundary,
                Magnitude = results[i].Magnitude,
            });
        }
    }

    private static TimedValue[] Series(IReadOnlyList<GpuMinute> minutes, Func<GpuMinute, double?> value) =>
        [.. minutes.Where(m => value(m) is not null).Select(m => new TimedValue(m.Time, value(m)!.Value))];

    /// <summary>A per-minute count series with the minutes that had no traffic as zeros.</summary>
    private static TimedValue[] Filled(IReadOnlyList<TimedValue> perMinute, DateTimeOffset from, DateTimeOffset to)
    {
        var byMinute = perMinute.GroupBy(v => v.Time).ToDictionary(g => g.Key, g => g.Sum(v => v.Value));
        var filled = new List<TimedValue>();
        for (DateTimeOffset t = from; t < to; t += TimeSpan.FromMinutes(1))
        {
            filled.Add(new TimedValue(t, byMinute.GetValueOrDefault(t)));
        }

        return [.. filled];
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Anomalies in window {WindowStart:o}: {Count} events, {Sent} alerted, {Suppressed} suppressed by the cool-down")]
    private static partial void LogDetected(ILogger logger, DateTimeOffset windowStart, int count, int sent, int suppressed);
}
