using Microsoft.Extensions.Options;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.RequestLogs;

public sealed class InferenceWindowAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static InferenceRequest Request(
        double offsetSeconds, string model = "m", string? tenant = null, string? status = null,
        long prompt = 0, long completion = 0, double? latencyMs = null, double? ttftMs = null) => new()
        {
            Timestamp = T0.AddSeconds(offsetSeconds),
            Model = model,
            Tenant = tenant,
            Pool = "p",
            Node = "n",
            Status = status,
            PromptTokens = prompt,
            CompletionTokens = completion,
            LatencyMs = latencyMs,
            TimeToFirstTokenMs = ttftMs,
        };

    [Fact]
    public void OneGroup_SumsCountsAndExactNearestRankPercentiles()
    {
        var aggregator = new InferenceWindowAggregator();
        for (int i = 1; i <= 100; i++)
        {
            Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(i * 0.05, prompt: i, completion: 2 * i, latencyMs: 101 - i, ttftMs: i / 10.0)));
        }

        InferenceWindow window = Assert.Single(aggregator.Flush());

        Assert.Equal(T0, window.WindowStart);
        Assert.Equal(TimeSpan.FromSeconds(10), window.WindowLength);
        Assert.Equal(("m", (string?)null, "p", "n", (string?)null), (window.Model, window.Tenant, window.Pool, window.Node, window.Status));
        Assert.Equal(100, window.RequestCount);
        Assert.Equal(0, window.ErrorCount);
        Assert.Equal(5050, window.PromptTokens);
        Assert.Equal(10100, window.CompletionTokens);
        Assert.Equal(5050, window.LatencySumMs);
        Assert.Equal(100, window.LatencyMaxMs);
        Assert.Equal(50, window.LatencyP50Ms);
        Assert.Equal(95, window.LatencyP95Ms);
        Assert.Equal(99, window.LatencyP99Ms);
        Assert.Equal(5.0, window.TimeToFirstTokenP50Ms);
        Assert.Equal(9.5, window.TimeToFirstTokenP95Ms);
        Assert.Equal(9.9, window.TimeToFirstTokenP99Ms);
    }

    [Fact]
    public void Groups_SplitByWindowModelTenantAndStatusClass()
    {
        var aggregator = new InferenceWindowAggregator();
        aggregator.Add(Request(1, "a", "t1", "ok", prompt: 10));
        aggregator.Add(Request(2, "a", "t1", "200", prompt: 20));
        aggregator.Add(Request(3, "a", "t1", "SUCCESS", prompt: 30));
        aggregator.Add(Request(4, "a", "t1", "500", prompt: 1));
        aggregator.Add(Request(5, "a", "t1", "503", prompt: 2));
        aggregator.Add(Request(6, "a", "t2", "error"));
        aggregator.Add(Request(7, "b", "t1"));
        aggregator.Add(Request(12, "a", "t1", "2xx", prompt: 5));

        IReadOnlyList<InferenceWindow> windows = aggregator.Flush();

        Assert.Equal(
            [
                (T0, "a", "t1", "5xx", 2L, 2L, 3L),
                (T0, "a", "t1", "ok", 3L, 0L, 60L),
                (T0, "a", "t2", "error", 1L, 1L, 0L),
                (T0, "b", "t1", (string?)null, 1L, 0L, 0L),
                (T0.AddSeconds(10), "a", "t1", "ok", 1L, 0L, 5L),
            ],
            windows.Select(w => (w.WindowStart, w.Model, w.Tenant, w.Status, w.RequestCount, w.ErrorCount, w.PromptTokens)));
        Assert.All(windows, w => Assert.Null(w.LatencyP50Ms));
        Assert.All(windows, w => Assert.Null(w.LatencySumMs));
    }

    [Fact]
    public void Advance_ClosesWindowsOnlyAfterEndPlusLateness()
    {
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions
        {
            WindowLength = TimeSpan.FromSeconds(10),
            AllowedLateness = TimeSpan.FromSeconds(5),
        });
        aggregator.Add(Request(3));
        aggregator.Add(Request(13));

        Assert.Empty(aggregator.Advance(T0.AddSeconds(14.999)));
        Assert.Equal(2, aggregator.OpenGroupCount);

        InferenceWindow first = Assert.Single(aggregator.Advance(T0.AddSeconds(15)));
        Assert.Equal(T0, first.WindowStart);
        Assert.Equal(T0.AddSeconds(10), aggregator.ClosedBefore);

        // Still open for late records: the second window ends at 20 s, so until 25 s.
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(19.9)));
        Assert.Empty(aggregator.Advance(T0.AddSeconds(24)));
        InferenceWindow second = Assert.Single(aggregator.Advance(T0.AddSeconds(25)));
        Assert.Equal(2, second.RequestCount);
        Assert.Equal(0, aggregator.OpenGroupCount);
    }

    [Fact]
    public void LateRecord_ForAClosedWindow_IsCountedAndRejected()
    {
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { AllowedLateness = TimeSpan.Zero });
        aggregator.Add(Request(1, prompt: 5));
        Assert.Single(aggregator.Advance(T0.AddSeconds(10)));

        Assert.Equal(AggregationOutcome.RejectedLate, aggregator.Add(Request(9.99, prompt: 7)));
        Assert.Equal(AggregationOutcome.RejectedLate, aggregator.Add(Request(-30)));
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(10)));
        Assert.Equal(2, aggregator.RejectedLateCount);
        Assert.Equal(2, aggregator.AcceptedCount);

        // A window closed by Flush is closed too: a second point for it would overwrite the first in the store.
        Assert.Single(aggregator.Flush());
        Assert.Equal(AggregationOutcome.RejectedLate, aggregator.Add(Request(15)));
    }

    [Fact]
    public void GroupLimit_RejectsNewGroupsButNotExistingOnes_AndFreesOnClose()
    {
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { MaxOpenGroups = 2, AllowedLateness = TimeSpan.Zero });
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(1, "a")));
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(1, "b")));
        Assert.Equal(AggregationOutcome.RejectedGroupLimit, aggregator.Add(Request(1, "c")));
        Assert.Equal(AggregationOutcome.RejectedGroupLimit, aggregator.Add(Request(11, "a")));
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(2, "a")));
        Assert.Equal(2, aggregator.RejectedGroupLimitCount);
        Assert.Equal(2, aggregator.OpenGroupCount);

        Assert.Equal(2, aggregator.Advance(T0.AddSeconds(10)).Count);
        Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(Request(11, "c")));
    }

    [Fact]
    public void LargeGroup_SwitchesToTheHistogramWithinOnePercent()
    {
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { ExactQuantileValues = 64 });
        var random = new Random(20240501);
        var latencies = new List<double>();
        for (int i = 0; i < 20_000; i++)
        {
            double latency = Math.Exp(random.NextDouble() * 10); // 1 ms to 22 s, log-uniform
            latencies.Add(latency);
            aggregator.Add(Request(random.NextDouble() * 9.999, latencyMs: latency, ttftMs: latency / 10));
        }

        InferenceWindow window = Assert.Single(aggregator.Flush());
        latencies.Sort();

        Assert.Equal(20_000, window.RequestCount);
        Assert.Equal(latencies[^1], window.LatencyMaxMs);
        Assert.Equal(latencies.Sum(), window.LatencySumMs!.Value, 1e-6 * latencies.Sum());
        AssertWithinOnePercent(latencies[9_999], window.LatencyP50Ms);
        AssertWithinOnePercent(latencies[18_999], window.LatencyP95Ms);
        AssertWithinOnePercent(latencies[19_799], window.LatencyP99Ms);
        AssertWithinOnePercent(latencies[18_999] / 10, window.TimeToFirstTokenP95Ms);
    }

    [Fact]
    public void Windows_AreAlignedToTheUnixEpoch()
    {
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { WindowLength = TimeSpan.FromMinutes(1) });
        aggregator.Add(Request(-0.001));
        aggregator.Add(Request(59.999));

        Assert.Equal([T0.AddMinutes(-1), T0], aggregator.Flush().Select(w => w.WindowStart));
        Assert.Equal(T0, aggregator.WindowStartOf(T0.AddSeconds(30)));
    }

    [Fact]
    public void Options_InvalidValues_AreAllReportedWithTheirKeys()
    {
        var options = new InferenceWindowAggregatorOptions
        {
            WindowLength = TimeSpan.FromMilliseconds(1500),
            AllowedLateness = TimeSpan.FromSeconds(-1),
            MaxOpenGroups = 0,
            ExactQuantileValues = -1,
        };

        ValidateOptionsResult result = new InferenceWindowAggregatorOptionsValidator().Validate(null, options);

        Assert.Equal(4, result.Failures!.Count());
        Assert.Throws<OptionsValidationException>(() => new InferenceWindowAggregator(options));
    }

    [Theory]
    [InlineData(null, true, null)]
    [InlineData("ok", true, "ok")]
    [InlineData("OK", true, "ok")]
    [InlineData("success", true, "ok")]
    [InlineData("2xx", true, "ok")]
    [InlineData("204", true, "ok")]
    [InlineData("429", false, "4xx")]
    [InlineData("500", false, "5xx")]
    [InlineData("Timeout", false, "timeout")]
    [InlineData("error", false, "error")]
    public void Status_ClassAndSuccess(string? status, bool success, string? normalized)
    {
        Assert.Equal(success, RequestStatus.IsSuccess(status));
        Assert.Equal(normalized, RequestStatus.Normalize(status));
    }

    private static void AssertWithinOnePercent(double expected, double? actual)
    {
        Assert.NotNull(actual);
        double error = Math.Abs(actual.Value - expected) / expected;
        Assert.True(error <= 0.01, $"expected {expected}, got {actual} ({error:P3} off)");
    }
}
