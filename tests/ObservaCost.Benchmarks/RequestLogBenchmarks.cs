using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// NDJSON request logs parsed and aggregated into 10 s windows, per record: the Azure code and conversation traces
/// (28,185 real requests) written as NDJSON in both token shapes, with tenants, latencies and TTFT.
/// </summary>
public class RequestLogBenchmarks
{
    private byte[] _ndjson = [];
    private byte[] _ndjsonWithIds = [];
    private int _records;
    private RequestLogParser _parser = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder();
        var random = new Random(7);
        foreach ((string file, string model) in new[] { ("AzureLLMInferenceTrace_code.csv", "azure-code"), ("AzureLLMInferenceTrace_conv.csv", "azure-conv") })
        {
            using var reader = new StreamReader(RepoPaths.Data("llm-traces", "azure-llm-inference-2023", file));
            AzureTraceConversion trace = AzureTraceConverter.Convert(reader, new AzureTraceAttribution { Model = model, Pool = "a100" });
            foreach (InferenceRequest r in trace.Requests)
            {
                string tenant = "tenant-" + random.Next(0, 20).ToString(CultureInfo.InvariantCulture);
                double latency = 50 + random.NextDouble() * 5000;
                sb.Append((_records++ % 2) == 0
                    ? string.Create(CultureInfo.InvariantCulture, $"{{\"timestamp\":\"{r.Timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'}\",\"model\":\"{model}\",\"tenant\":\"{tenant}\",\"pool\":\"a100\",\"prompt_tokens\":{r.PromptTokens},\"completion_tokens\":{r.CompletionTokens},\"latency_ms\":{latency:F1},\"ttft_ms\":{latency / 10:F1}}}\n")
                    : string.Create(CultureInfo.InvariantCulture, $"{{\"timestamp\":{r.Timestamp.ToUnixTimeMilliseconds()},\"model\":\"{model}\",\"tenant\":\"{tenant}\",\"pool\":\"a100\",\"usage\":{{\"prompt_tokens\":{r.PromptTokens},\"completion_tokens\":{r.CompletionTokens},\"total_tokens\":{r.PromptTokens + r.CompletionTokens}}},\"latency_ms\":{latency:F1}}}\n"));
                _now = r.Timestamp > _now ? r.Timestamp : _now;
            }
        }

        _ndjson = Encoding.UTF8.GetBytes(sb.ToString());

        // The same records as a gateway logs them, with keys the parser ignores (each still checked for repeats).
        var withIds = new StringBuilder();
        int id = 0;
        foreach (string line in sb.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            withIds.Append(CultureInfo.InvariantCulture, $"{{\"request_id\":\"req-{id++:x12}\",\"user\":\"u{id % 50}\",\"stream\":true,").Append(line.AsSpan(1)).Append('\n');
        }

        _ndjsonWithIds = Encoding.UTF8.GetBytes(withIds.ToString());
        _parser = new RequestLogParser();
    }

    [Benchmark(OperationsPerInvoke = 28_185)]
    public int ParseAndAggregate() => ParseAndAggregate(_ndjson);

    /// <summary>Each record also has three keys the parser ignores (request id, user, stream).</summary>
    [Benchmark(OperationsPerInvoke = 28_185)]
    public int ParseAndAggregate_WithIgnoredKeys() => ParseAndAggregate(_ndjsonWithIds);

    private int ParseAndAggregate(byte[] ndjson)
    {
        RequestLogParseResult parsed = _parser.ParseNdjson(ndjson, _now);
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { AllowedLateness = TimeSpan.FromDays(365_00) });
        foreach (InferenceRequest request in parsed.Requests)
        {
            aggregator.Add(request);
        }

        return aggregator.Flush().Count + parsed.Rejections.Count;
    }
}
