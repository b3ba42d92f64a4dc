using System.Text;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// vLLM counters and latency histograms that cannot be trusted are refused with a reason, never read as 0 tokens or a
/// made-up quantile; the next good scrape counts from the last good value, so no token is lost.
/// </summary>
public sealed class VllmCounterRefusalTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static VllmScrapeResult Observe(VllmMetricsTracker tracker, int seconds, string page)
    {
        PrometheusParseResult parsed = PrometheusTextParser.ParseOnce(Encoding.UTF8.GetBytes(page));
        Assert.Empty(parsed.Errors);
        return tracker.Observe(parsed.Samples, new VllmScrapeContext { Target = "vllm-0", ScrapeTime = T0.AddSeconds(seconds) });
    }

    private static string Page(string prompt, string generation, string start = "1.7e9") => $"""
        process_start_time_seconds {start}
        vllm:prompt_tokens_total{"{"}model_name="m"{"}"} {prompt}
        vllm:generation_tokens_total{"{"}model_name="m"{"}"} {generation}
        """;

    [Fact]
    public void Observe_NaNCounter_IsRefused_AndTheNextScrapeCountsFromTheLastGoodValue()
    {
        var tracker = new VllmMetricsTracker();
        Observe(tracker, 0, Page("100", "50"));

        VllmScrapeResult bad = Observe(tracker, 60, Page("NaN", "80"));
        VllmScrapeResult next = Observe(tracker, 120, Page("160", "90"));

        // The NaN prompt counter is refused: the window has only the generation delta 80 - 50 = 30.
        InferenceWindow w1 = Assert.Single(bad.Windows);
        Assert.Equal((0L, 30L), (w1.PromptTokens, w1.CompletionTokens));
        Assert.Equal(1, bad.Rejections[PrometheusErrorKind.InvalidCounter]);
        Assert.Equal("the counter vllm:prompt_tokens_total{model_name=\"m\"} is NaN", bad.Rejections.Reasons[0].Reason);
        // Then 160 - 100 = 60 prompt tokens (from the last good value), 90 - 80 = 10 generated.
        InferenceWindow w2 = Assert.Single(next.Windows);
        Assert.Equal((60L, 10L), (w2.PromptTokens, w2.CompletionTokens));
        Assert.Equal(0, next.Rejections.Total);
    }

    [Fact]
    public void Observe_NegativeAndInfiniteCounters_AreRefused()
    {
        var tracker = new VllmMetricsTracker();
        Observe(tracker, 0, Page("100", "50"));

        VllmScrapeResult result = Observe(tracker, 60, Page("-3", "+Inf"));

        Assert.Equal(2, result.Rejections[PrometheusErrorKind.InvalidCounter]);
        Assert.False(result.CounterReset);
        Assert.Empty(result.Windows);
    }

    [Fact]
    public void Observe_CounterDownWithTheSameProcessStart_IsRefused_WithANewStartItIsAReset()
    {
        var tracker = new VllmMetricsTracker();
        Observe(tracker, 0, Page("100", "50"));

        VllmScrapeResult down = Observe(tracker, 60, Page("90", "70"));
        VllmScrapeResult restarted = Observe(tracker, 120, Page("15", "5", start: "1.8e9"));

        // 90 < 100 with process_start_time_seconds unchanged: refused; generation 70 - 50 = 20 kept.
        Assert.False(down.CounterReset);
        Assert.Equal(1, down.Rejections[PrometheusErrorKind.InvalidCounter]);
        Assert.Equal("the counter vllm:prompt_tokens_total{model_name=\"m\"} went down from 100 to 90 while process_start_time_seconds did not change", down.Rejections.Reasons[0].Reason);
        Assert.Equal((0L, 20L), (Assert.Single(down.Windows).PromptTokens, down.Windows[0].CompletionTokens));
        // A new process: the new values are the deltas since the restart.
        Assert.True(restarted.CounterReset);
        Assert.Equal(0, restarted.Rejections.Total);
        Assert.Equal((15L, 5L), (Assert.Single(restarted.Windows).PromptTokens, restarted.Windows[0].CompletionTokens));
    }

    private static string Histogram(double le1, double le2, double? inf) =>
        "vllm:e2e_request_latency_seconds_bucket{le=\"1.0\",model_name=\"m\"} " + le1.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"
        + "vllm:e2e_request_latency_seconds_bucket{le=\"2.0\",model_name=\"m\"} " + le2.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"
        + (inf is double i ? "vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"m\"} " + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" : string.Empty)
        + "vllm:prompt_tokens_total{model_name=\"m\"} 10\n";

    [Fact]
    public void Observe_DecreasingBucketsOrNoInfBucket_RefuseTheHistogramForQuantiles()
    {
        var tracker = new VllmMetricsTracker();
        Observe(tracker, 0, Histogram(1, 2, 2));

        VllmScrapeResult decreasing = Observe(tracker, 60, Histogram(5, 3, 6));
        VllmScrapeResult noInf = Observe(tracker, 120, Histogram(5, 6, null));
        VllmScrapeResult good = Observe(tracker, 180, Histogram(3, 4, 4));

        Assert.Null(Assert.Single(decreasing.Windows).LatencyP50Ms);
        Assert.Equal(3, decreasing.Rejections[PrometheusErrorKind.InvalidHistogram]);
        Assert.Equal(
            "the histogram vllm:e2e_request_latency_seconds_bucket{model_name=\"m\"}: the cumulative count decreases from 5 at le=\"1\" to 3 at le=\"2\"",
            decreasing.Rejections.Reasons[0].Reason);
        Assert.Null(Assert.Single(noInf.Windows).LatencyP50Ms);
        Assert.Equal(2, noInf.Rejections[PrometheusErrorKind.InvalidHistogram]);
        Assert.EndsWith("it has no le=\"+Inf\" bucket", noInf.Rejections.Reasons[0].Reason, StringComparison.Ordinal);
        // Deltas from the first (last good) page: 2, 2, 2 requests. p50: rank 1 of 2 in (0, 1]: 1 * 1 / 2 = 0.5 s.
        Assert.Equal(500, Assert.Single(good.Windows).LatencyP50Ms!.Value, 9);
        Assert.Equal(0, good.Rejections.Total);
    }

    [Fact]
    public void Observe_NaNAndNegativeGauges_AreRefused_GoodGaugesKept()
    {
        var tracker = new VllmMetricsTracker();

        VllmScrapeResult result = Observe(tracker, 0, """
            vllm:num_requests_running{model_name="m"} NaN
            vllm:num_requests_waiting{model_name="m"} -1
            vllm:kv_cache_usage_perc{model_name="m"} 1.5
            vllm:num_requests_running{model_name="m",engine="1"} 3
            """);

        InferenceServerSample gauges = Assert.Single(result.ServerSamples);
        Assert.Equal(3, gauges.RequestsRunning);
        Assert.Null(gauges.RequestsWaiting);
        Assert.Null(gauges.KvCacheUsageRatio);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.NonFiniteValue]);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.NegativeValue]);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.AboveMaximum]);
    }

    [Theory]
    [InlineData(Captures.VllmV1Idle)]
    [InlineData(Captures.VllmV0After4)]
    public void Observe_RealCaptures_RefuseNothing(string file)
    {
        var tracker = new VllmMetricsTracker();
        IReadOnlyList<PrometheusSample> samples = Captures.Parse(Captures.Vllm(file)).Samples;

        Assert.Equal(0, tracker.Observe(samples, new VllmScrapeContext { Target = "t", ScrapeTime = T0 }).Rejections.Total);
        Assert.Equal(0, tracker.Observe(samples, new VllmScrapeContext { Target = "t", ScrapeTime = T0.AddSeconds(15) }).Rejections.Total);
    }
}
