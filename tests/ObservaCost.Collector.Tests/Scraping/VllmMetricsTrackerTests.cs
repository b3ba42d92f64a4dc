using System.Globalization;
using System.Text;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

public sealed class VllmMetricsTrackerTests
{
    private const string V1Model = "Qwen/Qwen2.5-0.5B-Instruct";
    private const string V0Model = "Qwen/Qwen2.5-Coder-1.5B-Instruct";
    private const string Target = "10.0.0.7:8000";

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static VllmScrapeContext At(DateTimeOffset time, string target = Target) => new()
    {
        Target = target,
        ScrapeTime = time,
        Tenant = "team-a",
        Pool = "l4-pool",
        Node = "node-3",
    };

    private static IReadOnlyList<PrometheusSample> Samples(string page)
    {
        PrometheusParseResult result = PrometheusTextParser.ParseOnce(Encoding.UTF8.GetBytes(page));
        Assert.Empty(result.Errors);
        return result.Samples;
    }

    private static string V1Series(string name, string labels = "") =>
        name + "{engine=\"0\"," + labels + "model_name=\"" + V1Model + "\"}";

    private static string V1Bucket(string name, string le) => V1Series(name + "_bucket", "le=\"" + le + "\",");

    /// <summary>The real V1 capture with the given series set to new values (a later scrape of the same server).</summary>
    private static string V1Later(Dictionary<string, double> values)
    {
        var page = new StringBuilder();
        int replaced = 0;
        foreach (string line in Captures.Text(Captures.Vllm(Captures.VllmV1Idle)).Split('\n'))
        {
            int space = line.LastIndexOf(' ');
            if (!line.StartsWith('#') && space > 0 && values.TryGetValue(line[..space], out double value))
            {
                page.Append(line[..space]).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                replaced++;
            }
            else
            {
                page.Append(line).Append('\n');
            }
        }

        Assert.Equal(values.Count, replaced);
        return page.ToString();
    }

    /// <summary>11 requests after the idle capture: latencies and TTFTs in chosen buckets, finished 8 stop, 2 length, 1 error.</summary>
    private static Dictionary<string, double> Busy()
    {
        var values = new Dictionary<string, double>
        {
            [V1Series("vllm:prompt_tokens_total")] = 1200,
            [V1Series("vllm:generation_tokens_total")] = 3400,
            [V1Series("vllm:request_success_total", "finished_reason=\"stop\",")] = 8,
            [V1Series("vllm:request_success_total", "finished_reason=\"length\",")] = 2,
            [V1Series("vllm:request_success_total", "finished_reason=\"error\",")] = 1,
            [V1Series("vllm:num_requests_running")] = 3,
            [V1Series("vllm:num_requests_waiting")] = 1,
            [V1Series("vllm:kv_cache_usage_perc")] = 0.25,
            [V1Series("vllm:e2e_request_latency_seconds_sum")] = 13.2,
            [V1Series("vllm:e2e_request_latency_seconds_count")] = 11,
        };
        string[] e2eBounds = ["0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0", "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf"];
        double[] e2eCounts = [0, 1, 3, 5, 8, 9, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11];
        for (int i = 0; i < e2eBounds.Length; i++)
        {
            values[V1Bucket("vllm:e2e_request_latency_seconds", e2eBounds[i])] = e2eCounts[i];
        }

        string[] ttftBounds = ["0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0", "+Inf"];
        double[] ttftCounts = [4, 9, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11];
        for (int i = 0; i < ttftBounds.Length; i++)
        {
            values[V1Bucket("vllm:time_to_first_token_seconds", ttftBounds[i])] = ttftCounts[i];
        }

        return values;
    }

    [Fact]
    public void Observe_FirstScrapeOfV1Capture_OnlyPrimesAndReportsGauges()
    {
        var tracker = new VllmMetricsTracker();

        VllmScrapeResult result = tracker.Observe(Captures.Parse(Captures.Vllm(Captures.VllmV1Idle)).Samples, At(T0));

        Assert.Equal(VllmScrapeOutcome.Primed, result.Outcome);
        Assert.Empty(result.Windows);
        InferenceServerSample server = Assert.Single(result.ServerSamples);
        Assert.Equal(V1Model, server.Model);
        Assert.Equal(Target, server.Instance);
        Assert.Equal(T0, server.Time);
        Assert.Equal("l4-pool", server.Pool);
        Assert.Equal("node-3", server.Node);
        Assert.Equal(0, server.RequestsRunning);
        Assert.Equal(0, server.RequestsWaiting);
        Assert.Equal(0, server.KvCacheUsageRatio);
        Assert.Equal(1, tracker.TargetCount);
    }

    [Fact]
    public void Observe_LaterV1Scrape_GivesDeltasAndHandCheckedQuantiles()
    {
        var tracker = new VllmMetricsTracker();
        tracker.Observe(Captures.Parse(Captures.Vllm(Captures.VllmV1Idle)).Samples, At(T0));

        VllmScrapeResult result = tracker.Observe(Samples(V1Later(Busy())), At(T0.AddSeconds(60)));

        Assert.Equal(VllmScrapeOutcome.Delta, result.Outcome);
        Assert.False(result.CounterReset);
        InferenceWindow window = Assert.Single(result.Windows);
        Assert.Equal(T0, window.WindowStart);
        Assert.Equal(TimeSpan.FromSeconds(60), window.WindowLength);
        Assert.Equal(V1Model, window.Model);
        Assert.Equal("team-a", window.Tenant);
        Assert.Equal("l4-pool", window.Pool);
        Assert.Equal("node-3", window.Node);
        Assert.Null(window.Status);
        Assert.Equal(1200, window.PromptTokens);
        Assert.Equal(3400, window.CompletionTokens);
        Assert.Equal(11, window.RequestCount);
        Assert.Equal(1, window.ErrorCount);
        Assert.Equal(13200, window.LatencySumMs!.Value, 9);

        // e2e, 11 requests: p50 rank 5.5 in (1.0, 1.5] holding 6..8: 1.0 + 0.5 * 0.5 / 3 s
        Assert.Equal(1083.3333333, window.LatencyP50Ms!.Value, 6);
        // p95 rank 10.45 in (2.5, 5.0] holding the 11th: 2.5 + 2.5 * 0.45 s; p99 rank 10.89: 2.5 + 2.5 * 0.89 s
        Assert.Equal(3625, window.LatencyP95Ms!.Value, 9);
        Assert.Equal(4725, window.LatencyP99Ms!.Value, 9);

        // TTFT: p50 rank 5.5 in (0.04, 0.06] holding 5..9: 0.04 + 0.02 * 1.5 / 5 s; p95/p99 in (0.08, 0.1] holding the 11th
        Assert.Equal(46, window.TimeToFirstTokenP50Ms!.Value, 9);
        Assert.Equal(89, window.TimeToFirstTokenP95Ms!.Value, 9);
        Assert.Equal(97.8, window.TimeToFirstTokenP99Ms!.Value, 9);

        InferenceServerSample server = Assert.Single(result.ServerSamples);
        Assert.Equal(3, server.RequestsRunning);
        Assert.Equal(1, server.RequestsWaiting);
        Assert.Equal(0.25, server.KvCacheUsageRatio);
    }

    [Fact]
    public void Observe_CounterReset_UsesNewValuesAsDeltasNeverNegative()
    {
        var tracker = new VllmMetricsTracker();
        tracker.Observe(Captures.Parse(Captures.Vllm(Captures.VllmV1Idle)).Samples, At(T0));
        tracker.Observe(Samples(V1Later(Busy())), At(T0.AddSeconds(60)));
        var restarted = new Dictionary<string, double>
        {
            [V1Series("vllm:prompt_tokens_total")] = 100,
            [V1Series("vllm:generation_tokens_total")] = 50,
            [V1Series("vllm:request_success_total", "finished_reason=\"stop\",")] = 1,
            [V1Series("vllm:e2e_request_latency_seconds_sum")] = 0.9,
            [V1Series("vllm:e2e_request_latency_seconds_count")] = 1,
            // The restart shows in the process start time too; without it the lower counters would be refused.
            ["process_start_time_seconds"] = 1.7740200e9,
        };
        foreach (string le in new[] { "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0", "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf" })
        {
            restarted[V1Bucket("vllm:e2e_request_latency_seconds", le)] = 1;
        }

        VllmScrapeResult result = tracker.Observe(Samples(V1Later(restarted)), At(T0.AddSeconds(120)));

        Assert.True(result.CounterReset);
        InferenceWindow window = Assert.Single(result.Windows);
        Assert.Equal(T0.AddSeconds(60), window.WindowStart);
        Assert.Equal(100, window.PromptTokens);
        Assert.Equal(50, window.CompletionTokens);
        Assert.Equal(1, window.RequestCount);
        Assert.Equal(0, window.ErrorCount);
        Assert.Equal(900, window.LatencySumMs!.Value, 9);
        // one request in (0.8, 1.0]: p50 rank 0.5: 0.8 + 0.2 * 0.5 s
        Assert.Equal(900, window.LatencyP50Ms!.Value, 9);
        Assert.Null(window.TimeToFirstTokenP50Ms);
    }

    [Fact]
    public void Observe_ProcessStartTimeChanged_IsAResetEvenWhenCountersGrew()
    {
        var tracker = new VllmMetricsTracker();
        const string before = "process_start_time_seconds 1.0e9\nvllm:prompt_tokens_total{model_name=\"m\"} 100\n";
        const string after = "process_start_time_seconds 2.0e9\nvllm:prompt_tokens_total{model_name=\"m\"} 150\n";
        tracker.Observe(Samples(before), At(T0));

        VllmScrapeResult result = tracker.Observe(Samples(after), At(T0.AddSeconds(30)));

        Assert.True(result.CounterReset);
        Assert.Equal(150, Assert.Single(result.Windows).PromptTokens);
    }

    [Fact]
    public void Observe_V0CaptureThenLaterScrape_CountsNewFinishReasonFromZero()
    {
        var tracker = new VllmMetricsTracker();
        VllmScrapeResult primed = tracker.Observe(Captures.Parse(Captures.Vllm(Captures.VllmV0After4)).Samples, At(T0));
        string later = Captures.Text(Captures.Vllm(Captures.VllmV0After4))
            .Replace("vllm:prompt_tokens_total{model_name=\"" + V0Model + "\"} 148.0", "vllm:prompt_tokens_total{model_name=\"" + V0Model + "\"} 300.0", StringComparison.Ordinal)
            .Replace("vllm:generation_tokens_total{model_name=\"" + V0Model + "\"} 955.0", "vllm:generation_tokens_total{model_name=\"" + V0Model + "\"} 2000.0", StringComparison.Ordinal)
            .Replace(
                "vllm:request_success_total{finished_reason=\"stop\",model_name=\"" + V0Model + "\"} 4.0",
                "vllm:request_success_total{finished_reason=\"stop\",model_name=\"" + V0Model + "\"} 6.0\nvllm:request_success_total{finished_reason=\"length\",model_name=\"" + V0Model + "\"} 1.0",
                StringComparison.Ordinal)
            .Replace("vllm:gpu_cache_usage_perc{model_name=\"" + V0Model + "\"} 0.0", "vllm:gpu_cache_usage_perc{model_name=\"" + V0Model + "\"} 0.625", StringComparison.Ordinal);

        VllmScrapeResult result = tracker.Observe(Samples(later), At(T0.AddSeconds(15)));

        Assert.Equal(VllmScrapeOutcome.Primed, primed.Outcome);
        Assert.Empty(primed.Windows);
        Assert.Equal(0, Assert.Single(primed.ServerSamples).KvCacheUsageRatio);
        InferenceWindow window = Assert.Single(result.Windows);
        Assert.Equal(V0Model, window.Model);
        Assert.Equal(152, window.PromptTokens);
        Assert.Equal(1045, window.CompletionTokens);
        Assert.Equal(3, window.RequestCount);
        Assert.Equal(TimeSpan.FromSeconds(15), window.WindowLength);
        Assert.Null(window.LatencyP50Ms);
        Assert.Null(window.LatencySumMs);
        Assert.Equal(0.625, Assert.Single(result.ServerSamples).KvCacheUsageRatio);
    }

    [Fact]
    public void Observe_TwoEngines_AreSummedPerModel()
    {
        var tracker = new VllmMetricsTracker();
        static string Page(double p0, double p1, double kv0, double kv1) => string.Create(CultureInfo.InvariantCulture, $$"""
            vllm:prompt_tokens_total{engine="0",model_name="m"} {{p0}}
            vllm:prompt_tokens_total{engine="1",model_name="m"} {{p1}}
            vllm:num_requests_running{engine="0",model_name="m"} 2
            vllm:num_requests_running{engine="1",model_name="m"} 5
            vllm:kv_cache_usage_perc{engine="0",model_name="m"} {{kv0}}
            vllm:kv_cache_usage_perc{engine="1",model_name="m"} {{kv1}}
            vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} {{p0 / 10}}
            vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} {{p0 / 10}}
            vllm:e2e_request_latency_seconds_bucket{engine="1",le="1.0",model_name="m"} 0
            vllm:e2e_request_latency_seconds_bucket{engine="1",le="+Inf",model_name="m"} {{p1 / 10}}
            """);
        tracker.Observe(Samples(Page(10, 20, 0, 0)), At(T0));

        VllmScrapeResult result = tracker.Observe(Samples(Page(30, 60, 0.2, 0.4)), At(T0.AddSeconds(10)));

        InferenceWindow window = Assert.Single(result.Windows);
        Assert.Equal(60, window.PromptTokens);
        // bucket deltas summed: le=1.0: 2 + 0, +Inf: 2 + 4; p50 rank 3 is past le=1.0, so the highest finite bound
        Assert.Equal(1000, window.LatencyP50Ms);
        // gauges: requests running summed over engines, KV-cache use averaged
        InferenceServerSample server = Assert.Single(result.ServerSamples);
        Assert.Equal(7, server.RequestsRunning);
        Assert.Equal(0.3, server.KvCacheUsageRatio!.Value, 12);
    }

    [Fact]
    public void Observe_OutOfOrderScrape_IsIgnoredAndStateKept()
    {
        var tracker = new VllmMetricsTracker();
        tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 10\n"), At(T0));

        VllmScrapeResult stale = tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 99\n"), At(T0));
        VllmScrapeResult next = tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 25\n"), At(T0.AddSeconds(30)));

        Assert.Equal(VllmScrapeOutcome.OutOfOrder, stale.Outcome);
        Assert.Empty(stale.Windows);
        Assert.Equal(15, Assert.Single(next.Windows).PromptTokens);
        Assert.False(next.CounterReset);
    }

    [Fact]
    public void Observe_SeriesMissingForOneScrape_IsNotCountedTwice()
    {
        var tracker = new VllmMetricsTracker();
        tracker.Observe(Samples("vllm:request_success_total{finished_reason=\"stop\",model_name=\"m\"} 5\nvllm:request_success_total{finished_reason=\"length\",model_name=\"m\"} 2\n"), At(T0));
        VllmScrapeResult second = tracker.Observe(Samples("vllm:request_success_total{finished_reason=\"stop\",model_name=\"m\"} 6\n"), At(T0.AddSeconds(10)));

        VllmScrapeResult third = tracker.Observe(Samples("vllm:request_success_total{finished_reason=\"stop\",model_name=\"m\"} 6\nvllm:request_success_total{finished_reason=\"length\",model_name=\"m\"} 3\n"), At(T0.AddSeconds(20)));

        Assert.Equal(1, Assert.Single(second.Windows).RequestCount);
        Assert.Equal(1, Assert.Single(third.Windows).RequestCount);
    }

    [Fact]
    public void Observe_TargetsAreKeptApart()
    {
        var tracker = new VllmMetricsTracker();
        tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 10\n"), At(T0, "a:8000"));
        tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 1000\n"), At(T0, "b:8000"));

        VllmScrapeResult a = tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 12\n"), At(T0.AddSeconds(10), "a:8000"));

        Assert.Equal(2, Assert.Single(a.Windows).PromptTokens);
        Assert.Equal(2, tracker.TargetCount);
    }

    [Fact]
    public void Observe_TargetNotSeenForStaleAfter_IsEvictedAndPrimesAgain()
    {
        var tracker = new VllmMetricsTracker(new VllmTrackerOptions { StaleAfter = TimeSpan.FromMinutes(5) });
        const string page = "vllm:prompt_tokens_total{model_name=\"m\"} 10\n";
        tracker.Observe(Samples(page), At(T0, "a:8000"));
        tracker.Observe(Samples(page), At(T0.AddMinutes(10), "b:8000"));

        Assert.Equal(1, tracker.TargetCount);
        VllmScrapeResult again = tracker.Observe(Samples("vllm:prompt_tokens_total{model_name=\"m\"} 50\n"), At(T0.AddMinutes(11), "a:8000"));

        Assert.Equal(VllmScrapeOutcome.Primed, again.Outcome);
        Assert.Empty(again.Windows);
        Assert.Equal(1, tracker.EvictStale(T0.AddMinutes(15).AddSeconds(30)));
        Assert.Equal(1, tracker.TargetCount);
    }

    [Fact]
    public void Observe_MoreTargetsThanMax_EvictsTheLeastRecentlySeen()
    {
        var tracker = new VllmMetricsTracker(new VllmTrackerOptions { MaxTargets = 2 });
        const string page = "vllm:prompt_tokens_total{model_name=\"m\"} 10\n";
        tracker.Observe(Samples(page), At(T0, "a"));
        tracker.Observe(Samples(page), At(T0.AddSeconds(1), "b"));
        tracker.Observe(Samples(page), At(T0.AddSeconds(2), "c"));

        Assert.Equal(2, tracker.TargetCount);
        Assert.Equal(VllmScrapeOutcome.Delta, tracker.Observe(Samples(page), At(T0.AddSeconds(3), "b")).Outcome);
        Assert.Equal(VllmScrapeOutcome.Primed, tracker.Observe(Samples(page), At(T0.AddSeconds(4), "a")).Outcome);
    }

    [Fact]
    public void Observe_MoreSeriesThanMax_DropsAndCountsTheRest()
    {
        var tracker = new VllmMetricsTracker(new VllmTrackerOptions { MaxSeriesPerTarget = 2 });

        VllmScrapeResult result = tracker.Observe(Samples("""
            vllm:request_success_total{finished_reason="stop",model_name="m"} 1
            vllm:request_success_total{finished_reason="length",model_name="m"} 1
            vllm:request_success_total{finished_reason="abort",model_name="m"} 1
            vllm:prompt_tokens_total{model_name="m"} 1
            """), At(T0));

        Assert.Equal(2, result.SeriesDropped);
    }

    [Fact]
    public void Observe_NoModelLabel_UsesFallbackOrCounts()
    {
        var tracker = new VllmMetricsTracker();
        const string page = "vllm:num_requests_running 4\n";

        VllmScrapeResult withFallback = tracker.Observe(Samples(page), At(T0) with { ModelFallback = "served" });
        VllmScrapeResult without = tracker.Observe(Samples(page), At(T0.AddSeconds(5)));

        Assert.Equal("served", Assert.Single(withFallback.ServerSamples).Model);
        Assert.Empty(without.ServerSamples);
        Assert.Equal(1, without.SamplesWithoutModel);
    }

    [Fact]
    public void Constructor_InvalidOptions_NamesEveryFailure()
    {
        var options = new VllmTrackerOptions { StaleAfter = TimeSpan.Zero, MaxTargets = 0, MaxSeriesPerTarget = 0, ModelLabel = "" };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new VllmMetricsTracker(options));

        Assert.Contains("StaleAfter", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxTargets", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSeriesPerTarget", error.Message, StringComparison.Ordinal);
        Assert.Contains("ModelLabel", error.Message, StringComparison.Ordinal);
    }
}
