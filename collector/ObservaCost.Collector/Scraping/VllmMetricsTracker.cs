using System.Globalization;
using System.Text;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>One scrape of one vLLM <c>/metrics</c> target.</summary>
public sealed record VllmScrapeContext
{
    /// <summary>The scraped instance (host:port or pod); the tracker keeps its counters under this key.</summary>
    public required string Target { get; init; }

    public required DateTimeOffset ScrapeTime { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    /// <summary>The model name used for samples without a <c>model_name</c> label.</summary>
    public string? ModelFallback { get; init; }
}

/// <summary>Bounds and names for <see cref="VllmMetricsTracker"/>.</summary>
public sealed record VllmTrackerOptions
{
    /// <summary>A target not scraped for this long is forgotten; its next scrape only primes again.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Most targets tracked; a new target beyond it evicts the one seen longest ago.</summary>
    public int MaxTargets { get; init; } = 10_000;

    /// <summary>Most counter series kept per target; further series are counted and ignored.</summary>
    public int MaxSeriesPerTarget { get; init; } = 10_000;

    /// <summary>The label naming the served model.</summary>
    public string ModelLabel { get; init; } = "model_name";

    /// <summary>Every invalid setting, named; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (StaleAfter <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(StaleAfter)} must be positive");
        }

        if (MaxTargets < 1)
        {
            failures.Add($"{nameof(MaxTargets)} must be at least 1");
        }

        if (MaxSeriesPerTarget < 1)
        {
            failures.Add($"{nameof(MaxSeriesPerTarget)} must be at least 1");
        }

        if (string.IsNullOrEmpty(ModelLabel))
        {
            failures.Add($"{nameof(ModelLabel)} must not be empty");
        }

        return failures;
    }
}

/// <summary>What a scrape did to the tracker.</summary>
public enum VllmScrapeOutcome
{
    /// <summary>First scrape of the target (or first after eviction): counters recorded, no windows.</summary>
    Primed,

    /// <summary>Windows of counter deltas since the previous scrape.</summary>
    Delta,

    /// <summary>The scrape time was not after the previous scrape's; ignored.</summary>
    OutOfOrder,
}

/// <summary>The records one vLLM scrape produces.</summary>
public sealed record VllmScrapeResult
{
    public required VllmScrapeOutcome Outcome { get; init; }

    /// <summary>One window per model: counter deltas and latency quantiles since the previous scrape.</summary>
    public required IReadOnlyList<InferenceWindow> Windows { get; init; }

    /// <summary>One gauge sample per model (queue depth, KV-cache use), from every in-order scrape.</summary>
    public required IReadOnlyList<InferenceServerSample> ServerSamples { get; init; }

    /// <summary>The target restarted since the previous scrape (a counter went down, or the process start time changed).</summary>
    public bool CounterReset { get; init; }

    /// <summary>Counter series ignored because the target went over <see cref="VllmTrackerOptions.MaxSeriesPerTarget"/>.</summary>
    public int SeriesDropped { get; init; }

    /// <summary>Samples of tracked metrics with no model label and no <see cref="VllmScrapeContext.ModelFallback"/>.</summary>
    public int SamplesWithoutModel { get; init; }

    /// <summary>
    /// Samples refused, with reasons: a counter that is NaN, infinite or negative, or lower than before while
    /// <c>process_start_time_seconds</c> did not change (<see cref="PrometheusErrorKind.InvalidCounter"/>); every bucket
    /// of a latency histogram without <c>+Inf</c> or with decreasing cumulative counts
    /// (<see cref="PrometheusErrorKind.InvalidHistogram"/>); a gauge that is NaN or infinite, negative, or a KV-cache
    /// ratio above 1. A refused counter keeps its previous value, so the next good scrape counts from there.
    /// </summary>
    public SampleRejections Rejections { get; init; } = new();
}

/// <summary>
/// Turns successive scrapes of vLLM targets into <see cref="InferenceWindow"/> deltas and <see cref="InferenceServerSample"/>
/// gauges. Counters (<c>vllm:prompt_tokens_total</c>, <c>vllm:generation_tokens_total</c>,
/// <c>vllm:request_success_total</c> summed over <c>finished_reason</c>, and the <c>vllm:e2e_request_latency_seconds</c> and
/// <c>vllm:time_to_first_token_seconds</c> histograms) are kept per target and label set; the first scrape of a target
/// only primes them. Deltas follow Prometheus <c>increase()</c>: after a restart (any tracked counter lower than before,
/// or a new <c>process_start_time_seconds</c>) each counter's new value is the delta since the restart, never a negative;
/// a series new to a primed target counts from zero. Series of the same model (several engines, finish reasons) are
/// summed; quantiles come from the summed bucket deltas by <see cref="HistogramQuantile"/>. Thread-safe.
/// </summary>
public sealed class VllmMetricsTracker
{
    private const string PromptTokens = "vllm:prompt_tokens_total";
    private const string GenerationTokens = "vllm:generation_tokens_total";
    private const string RequestSuccess = "vllm:request_success_total";
    private const string E2eBucket = "vllm:e2e_request_latency_seconds_bucket";
    private const string E2eSum = "vllm:e2e_request_latency_seconds_sum";
    private const string TtftBucket = "vllm:time_to_first_token_seconds_bucket";
    private const string RequestsRunning = "vllm:num_requests_running";
    private const string RequestsWaiting = "vllm:num_requests_waiting";
    private const string KvCacheUsageV0 = "vllm:gpu_cache_usage_perc";
    private const string KvCacheUsageV1 = "vllm:kv_cache_usage_perc";
    private const string ProcessStart = "process_start_time_seconds";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, TargetState> _targets = new(StringComparer.Ordinal);
    private readonly VllmTrackerOptions _options;
    private DateTimeOffset? _lastSweep;

    public VllmMetricsTracker(VllmTrackerOptions? options = null)
    {
        _options = options ?? new VllmTrackerOptions();
        IReadOnlyList<string> failures = _options.Validate();
        if (failures.Count > 0)
        {
            throw new ArgumentException("Invalid vLLM tracker options: " + string.Join("; ", failures), nameof(options));
        }
    }

    /// <summary>The number of targets currently tracked.</summary>
    public int TargetCount
    {
        get
        {
            lock (_gate)
            {
                return _targets.Count;
            }
        }
    }

    /// <summary>Forgets targets last scraped more than <see cref="VllmTrackerOptions.StaleAfter"/> before <paramref name="now"/>; returns how many.</summary>
    public int EvictStale(DateTimeOffset now)
    {
        lock (_gate)
        {
            _lastSweep = now;
            DateTimeOffset cutoff = now - _options.StaleAfter;
            List<string> stale = [.. _targets.Where(t => t.Value.LastScrape < cutoff).Select(t => t.Key)];
            foreach (string key in stale)
            {
                _targets.Remove(key);
            }

            return stale.Count;
        }
    }

    public VllmScrapeResult Observe(IReadOnlyList<PrometheusSample> samples, VllmScrapeContext context)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(context);
        lock (_gate)
        {
            if (_lastSweep is null || context.ScrapeTime - _lastSweep.Value >= _options.StaleAfter / 4)
            {
                EvictStale(context.ScrapeTime);
            }

            if (!_targets.TryGetValue(context.Target, out TargetState? target))
            {
                if (_targets.Count >= _options.MaxTargets)
                {
                    string oldest = _targets.MinBy(t => t.Value.LastScrape).Key;
                    _targets.Remove(oldest);
                }

                target = new TargetState();
                _targets.Add(context.Target, target);
            }
            else if (context.ScrapeTime <= target.LastScrape)
            {
                return new VllmScrapeResult { Outcome = VllmScrapeOutcome.OutOfOrder, Windows = [], ServerSamples = [] };
            }

            return Observe(target, samples, context);
        }
    }

    private VllmScrapeResult Observe(TargetState target, IReadOnlyList<PrometheusSample> samples, VllmScrapeContext context)
    {
        bool primed = target.Primed;
        Dictionary<SeriesKey, double> current = target.Spare;
        current.Clear();
        var gauges = new SortedDictionary<string, ModelGauges>(StringComparer.Ordinal);
        var rejections = new SampleRejections();
        bool reset = false;
        double? processStart = samples.LastOrDefault(s => s.Name == ProcessStart) is { Name: not null } start ? start.Value : null;
        bool sameProcess = processStart is not null && processStart == target.ProcessStart;
        HashSet<SeriesKey> invalidHistograms = FindInvalidHistograms(samples, rejections);
        int dropped = 0;
        int withoutModel = 0;
        foreach (PrometheusSample sample in samples)
        {
            switch (sample.Name)
            {
                case PromptTokens or GenerationTokens or RequestSuccess or E2eBucket or E2eSum or TtftBucket:
                    if (invalidHistograms.Count > 0 && sample.Name is E2eBucket or TtftBucket && invalidHistograms.Contains(HistogramOf(sample)))
                    {
                        continue;
                    }

                    if (!double.IsFinite(sample.Value) || sample.Value < 0)
                    {
                        rejections.Add(PrometheusErrorKind.InvalidCounter, string.Create(CultureInfo.InvariantCulture, $"the counter {sample.Name}{sample.Labels} is {sample.Value}"));
                        continue;
                    }

                    var key = new SeriesKey(sample.Name, sample.Labels);
                    if (current.Count >= _options.MaxSeriesPerTarget && !current.ContainsKey(key))
                    {
                        dropped++;
                        continue;
                    }

                    if (target.Previous.TryGetValue(key, out double before) && sample.Value < before)
                    {
                        if (sameProcess)
                        {
                            rejections.Add(PrometheusErrorKind.InvalidCounter, string.Create(
                                CultureInfo.InvariantCulture,
                                $"the counter {sample.Name}{sample.Labels} went down from {before} to {sample.Value} while {ProcessStart} did not change"));
                            continue;
                        }

                        reset = true;
                    }

                    current[key] = sample.Value;
                    break;
                case RequestsRunning or RequestsWaiting or KvCacheUsageV0 or KvCacheUsageV1:
                    string? gaugeModel = ModelOf(sample.Labels, context);
                    if (gaugeModel is null)
                    {
                        withoutModel++;
                        continue;
                    }

                    if (GaugeProblem(sample) is (PrometheusErrorKind kind, string reason))
                    {
                        rejections.Add(kind, reason);
                        continue;
                    }

                    if (!gauges.TryGetValue(gaugeModel, out ModelGauges? g))
                    {
                        g = new ModelGauges();
                        gauges.Add(gaugeModel, g);
                    }

                    g.Add(sample.Name, sample.Value);
                    break;
                default:
                    break;
            }
        }

        reset |= processStart is not null && target.ProcessStart is not null && processStart != target.ProcessStart;
        var windows = new SortedDictionary<string, ModelWindow>(StringComparer.Ordinal);
        if (primed)
        {
            foreach (KeyValuePair<SeriesKey, double> series in current)
            {
                string? model = ModelOf(series.Key.Labels, context);
                if (model is null)
                {
                    withoutModel++;
                    continue;
                }

                double delta = !reset && target.Previous.TryGetValue(series.Key, out double before) ? series.Value - before : series.Value;
                if (!windows.TryGetValue(model, out ModelWindow? window))
                {
                    window = new ModelWindow();
                    windows.Add(model, window);
                }

                window.Add(series.Key, delta);
            }
        }

        if (!reset)
        {
            foreach (KeyValuePair<SeriesKey, double> kept in target.Previous)
            {
                if (current.Count >= _options.MaxSeriesPerTarget)
                {
                    break;
                }

                current.TryAdd(kept.Key, kept.Value);
            }
        }

        target.Spare = target.Previous;
        target.Previous = current;
        TimeSpan interval = context.ScrapeTime - target.LastScrape;
        DateTimeOffset windowStart = target.LastScrape;
        target.LastScrape = context.ScrapeTime;
        target.ProcessStart = processStart ?? target.ProcessStart;
        target.Primed = true;

        return new VllmScrapeResult
        {
            Outcome = primed ? VllmScrapeOutcome.Delta : VllmScrapeOutcome.Primed,
            Windows = [.. windows.Select(w => w.Value.ToWindow(w.Key, windowStart, interval, context))],
            ServerSamples = [.. gauges.Select(g => g.Value.ToSample(g.Key, context))],
            CounterReset = primed && reset,
            SeriesDropped = dropped,
            SamplesWithoutModel = withoutModel,
            Rejections = rejections,
        };
    }

    /// <summary>A gauge that cannot be stored: NaN or infinite, negative, or a KV-cache ratio above 1.</summary>
    private static (PrometheusErrorKind Kind, string Reason)? GaugeProblem(PrometheusSample sample)
    {
        double value = sample.Value;
        PrometheusErrorKind? kind = !double.IsFinite(value) ? PrometheusErrorKind.NonFiniteValue
            : value < 0 ? PrometheusErrorKind.NegativeValue
            : value > 1 && sample.Name is KvCacheUsageV0 or KvCacheUsageV1 ? PrometheusErrorKind.AboveMaximum
            : null;
        return kind is PrometheusErrorKind k ? (k, string.Create(CultureInfo.InvariantCulture, $"the gauge {sample.Name}{sample.Labels} is {value}")) : null;
    }

    /// <summary>A latency histogram's series: the bucket name and its labels without <c>le</c>.</summary>
    private static SeriesKey HistogramOf(PrometheusSample bucket)
    {
        Label[] labels = new Label[bucket.Labels.Count - (bucket.Labels.Get("le") is null ? 0 : 1)];
        int i = 0;
        foreach (Label label in bucket.Labels.AsSpan())
        {
            if (!string.Equals(label.Name, "le", StringComparison.Ordinal))
            {
                labels[i++] = label;
            }
        }

        return new SeriesKey(bucket.Name, new LabelSet(labels));
    }

    /// <summary>
    /// The latency histograms of a page that cannot give quantiles (<see cref="HistogramQuantile.Problem"/>); each of
    /// their bucket samples is counted as refused.
    /// </summary>
    private static HashSet<SeriesKey> FindInvalidHistograms(IReadOnlyList<PrometheusSample> samples, SampleRejections rejections)
    {
        var histograms = new Dictionary<SeriesKey, List<HistogramBucket>>();
        foreach (PrometheusSample sample in samples)
        {
            if (sample.Name is E2eBucket or TtftBucket && TryParseBound(sample.Labels.Get("le"), out double bound))
            {
                SeriesKey key = HistogramOf(sample);
                if (!histograms.TryGetValue(key, out List<HistogramBucket>? buckets))
                {
                    buckets = [];
                    histograms.Add(key, buckets);
                }

                buckets.Add(new HistogramBucket(bound, sample.Value));
            }
        }

        var invalid = new HashSet<SeriesKey>();
        foreach (KeyValuePair<SeriesKey, List<HistogramBucket>> histogram in histograms)
        {
            if (HistogramQuantile.Problem(histogram.Value) is string problem)
            {
                invalid.Add(histogram.Key);
                rejections.Add(PrometheusErrorKind.InvalidHistogram, $"the histogram {histogram.Key.Name}{histogram.Key.Labels}: {problem}", histogram.Value.Count);
            }
        }

        return invalid;
    }

    private string? ModelOf(LabelSet labels, VllmScrapeContext context)
    {
        string? model = labels.Get(_options.ModelLabel);
        return string.IsNullOrEmpty(model) ? context.ModelFallback : model;
    }

    private static bool TryParseBound(string? text, out double bound)
    {
        bound = double.NaN;
        if (text is null)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[64];
        return Encoding.UTF8.TryGetBytes(text, utf8, out int length) && PrometheusTextParser.TryParseFloat(utf8[..length], out bound);
    }

    private readonly record struct SeriesKey(string Name, LabelSet Labels);

    private sealed class TargetState
    {
        public Dictionary<SeriesKey, double> Previous { get; set; } = [];

        public Dictionary<SeriesKey, double> Spare { get; set; } = [];

        public DateTimeOffset LastScrape { get; set; } = DateTimeOffset.MinValue;

        public bool Primed { get; set; }

        /// <summary>The target's <c>process_start_time_seconds</c>, when its pages have one.</summary>
        public double? ProcessStart { get; set; }
    }

    private sealed class ModelGauges
    {
        private double? _running;
        private double? _waiting;
        private double _kvSum;
        private int _kvCount;

        public void Add(string name, double value)
        {
            if (double.IsNaN(value))
            {
                return;
            }

            switch (name)
            {
                case RequestsRunning:
                    _running = (_running ?? 0) + value;
                    break;
                case RequestsWaiting:
                    _waiting = (_waiting ?? 0) + value;
                    break;
                default:
                    _kvSum += value;
                    _kvCount++;
                    break;
            }
        }

        public InferenceServerSample ToSample(string model, VllmScrapeContext context) => new()
        {
            Time = context.ScrapeTime,
            Model = model,
            Instance = context.Target,
            Pool = context.Pool,
            Node = context.Node,
            RequestsRunning = _running,
            RequestsWaiting = _waiting,
            KvCacheUsageRatio = _kvCount > 0 ? _kvSum / _kvCount : null,
        };
    }

    private sealed class ModelWindow
    {
        private static readonly double[] Quantiles = [0.5, 0.95, 0.99];

        private readonly Dictionary<double, double> _e2eBuckets = [];
        private readonly Dictionary<double, double> _ttftBuckets = [];
        private double _prompt;
        private double _generation;
        private double _requests;
        private double _errors;
        private double? _e2eSumSeconds;

        public void Add(SeriesKey key, double delta)
        {
            switch (key.Name)
            {
                case PromptTokens:
                    _prompt += delta;
                    break;
                case GenerationTokens:
                    _generation += delta;
                    break;
                case RequestSuccess:
                    _requests += delta;
                    if (string.Equals(key.Labels.Get("finished_reason"), "error", StringComparison.Ordinal))
                    {
                        _errors += delta;
                    }

                    break;
                case E2eSum:
                    _e2eSumSeconds = (_e2eSumSeconds ?? 0) + delta;
                    break;
                case E2eBucket or TtftBucket:
                    if (TryParseBound(key.Labels.Get("le"), out double bound))
                    {
                        Dictionary<double, double> buckets = key.Name == E2eBucket ? _e2eBuckets : _ttftBuckets;
                        buckets[bound] = buckets.GetValueOrDefault(bound) + delta;
                    }

                    break;
                default:
                    break;
            }
        }

        public InferenceWindow ToWindow(string model, DateTimeOffset start, TimeSpan length, VllmScrapeContext context)
        {
            double?[] e2e = QuantilesMs(_e2eBuckets);
            double?[] ttft = QuantilesMs(_ttftBuckets);
            return new InferenceWindow
            {
                WindowStart = start,
                WindowLength = length,
                Model = model,
                Tenant = context.Tenant,
                Pool = context.Pool,
                Node = context.Node,
                RequestCount = (long)Math.Round(_requests),
                ErrorCount = (long)Math.Round(_errors),
                PromptTokens = (long)Math.Round(_prompt),
                CompletionTokens = (long)Math.Round(_generation),
                LatencySumMs = _e2eSumSeconds * 1000,
                LatencyP50Ms = e2e[0],
                LatencyP95Ms = e2e[1],
                LatencyP99Ms = e2e[2],
                TimeToFirstTokenP50Ms = ttft[0],
                TimeToFirstTokenP95Ms = ttft[1],
                TimeToFirstTokenP99Ms = ttft[2],
            };
        }

        private static double?[] QuantilesMs(Dictionary<double, double> buckets)
        {
            var result = new double?[Quantiles.Length];
            if (buckets.Count == 0)
            {
                return result;
            }

            HistogramBucket[] cumulative = [.. buckets.Select(b => new HistogramBucket(b.Key, b.Value))];
            for (int i = 0; i < Quantiles.Length; i++)
            {
                double seconds = HistogramQuantile.Estimate(Quantiles[i], cumulative);
                result[i] = double.IsNaN(seconds) || double.IsInfinity(seconds) ? null : seconds * 1000;
            }

            return result;
        }
    }
}
