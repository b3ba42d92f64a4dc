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

    /// <summary>The detector run on every series. Default <see cref="AnomalyDetectorKind.AdaptiveResonance"/>.</summary>
    public AnomalyDetectorKind Detector { get; set; } = AnomalyDetectorKind.AdaptiveResonance;

    /// <summary>
    /// The adaptive-resonance score at or above which a point is anomalous. Default 0.2687: the standard-profile threshold
    /// that 14 of the 15 leave-one-file-out folds on nab-dev-wide chose (docs/accuracy.md).
    /// </summary>
    public double ResonanceThreshold { get; set; } = 0.2687;

    /// <summary>The spectral-residual score above which a point is anomalous (ML.NET's <c>threshold</c>). Default 0.35.</summary>
    public double Threshold { get; set; } = 0.35;

    /// <summary>The spectral-residual margin sensitivity, 0–100 (ML.NET's <c>sensitivity</c>). Default 95.</summary>
    public double Sensitivity { get; set; } = 95;

    /// <summary>A score at or above this is critical; below it, a warning. Default 0.7.</summary>
    public double CriticalScore { get; set; } = 0.7;
}

/// <summary>The detector the anomaly job runs on each series.</summary>
public enum AnomalyDetectorKind
{
    /// <summary>The adaptive-resonance detector (in the manner of ARTime), replayed online over the history.</summary>
    AdaptiveResonance,

    /// <summary>Batch spectral residual (ML.NET's SrCnnEntireDetector, anomaly + margin mode).</summary>
    SpectralResidual,
}

/// <summary>
/// Runs after each cost window: the adaptive-resonance detector (<see cref="AdaptiveResonanceDetector"/>, by default)
/// or batch spectral residual (<see cref="SrCnnEntireDetector"/>, anomaly + margin mode)
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

    public const string AdaptiveResonanceDetectorName = "adaptive_resonance";

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

    /// <summary>The configured detector over a whole series; events for the anomalous points inside [from, to).</summary>
    private void Detect(List<AnomalyEvent> events, string entityKind, string entity, string series, TimedValue[] points, DateTimeOffset from, DateTimeOffset to)
    {
        if (!points.Any(p => p.Time >= from && p.Time < to))
        {
            return;
        }

        (string detector, IEnumerable<Flag> flags) = options.Detector == AnomalyDetectorKind.AdaptiveResonance
            ? (AdaptiveResonanceDetectorName, FlagByResonance(points))
            : (SpectralResidualDetector, FlagBySpectralResidual(points));
        foreach (Flag flag in flags)
        {
            TimedValue point = points[flag.Index];
            if (point.Time < from || point.Time >= to)
            {
                continue;
            }

            events.Add(new AnomalyEvent
            {
                Time = point.Time,
                Series = series,
                EntityKind = entityKind,
                Entity = entity,
                Detector = detector,
                Severity = flag.Score >= options.CriticalScore ? AnomalySeverity.Critical : AnomalySeverity.Warning,
                Score = flag.Score,
                Value = point.Value,
                ExpectedValue = flag.ExpectedValue,
                LowerBound = flag.LowerBound,
                UpperBound = flag.UpperBound,
                Magnitude = flag.Magnitude,
            });
        }
    }

    /// <summary>
    /// The adaptive-resonance detector replayed over the series in one pass (its first 15 %, at most 750 points, is the
    /// probationary period and is never scored); a point scoring at least the threshold is flagged, with the median of
    /// the series before it as the expected value and their minimum and maximum as the bounds.
    /// </summary>
    private IEnumerable<Flag> FlagByResonance(TimedValue[] points)
    {
        int probation = AdaptiveResonanceDetector.ProbationRowsFor(points.Length);
        if (probation < AdaptiveResonanceDetector.MinimumProbationRows)
        {
            yield break;
        }

        var detector = new AdaptiveResonanceDetector(probation);
        for (int i = 0; i < points.Length; i++)
        {
            double score = detector.Add(points[i].Value);
            if (score >= options.ResonanceThreshold)
            {
                double[] before = [.. points.Take(i).Select(p => p.Value).Order()];
                yield return new Flag(i, score, before[(before.Length - 1) / 2], before[0], before[^1], null);
            }
        }
    }

    /// <summary>Batch spectral residual over the whole series (anomaly + margin mode): ML.NET's expected value, margin and magnitude.</summary>
    private IEnumerable<Flag> FlagBySpectralResidual(TimedValue[] points)
    {
        if (points.Length < SrCnnEntireOptions.MinimumBatchSize)
        {
            yield break;
        }

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect([.. points.Select(p => p.Value)], new SrCnnEntireOptions
        {
            Threshold = options.Threshold,
            Sensitivity = options.Sensitivity,
            BatchSize = -1,
            DetectMode = SrCnnDetectMode.AnomalyAndMargin,
        });
        for (int i = 0; i < points.Length; i++)
        {
            if (results[i].IsAnomaly)
            {
                yield return new Flag(i, results[i].RawScore, results[i].ExpectedValue, results[i].LowerBoundary, results[i].UpperBoundary, results[i].Magnitude);
            }
        }
    }

    /// <summary>A flagged point of a series, by index, with what its detector says about it.</summary>
    private readonly record struct Flag(int Index, double Score, double? ExpectedValue, double? LowerBound, double? UpperBound, double? Magnitude);

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
