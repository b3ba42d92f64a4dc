using System.Globalization;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>The Azure LLM inference traces 2023 (code and conversation, about an hour each), read in place.</summary>
public sealed class AzureTraceTests
{
    private static string TracePath(string name) => RepoPaths.Data("llm-traces", "azure-llm-inference-2023", name);

    private static AzureTraceConversion Convert(string file, string model)
    {
        using var reader = new StreamReader(TracePath(file));
        return AzureTraceConverter.Convert(reader, new AzureTraceAttribution { Model = model, Pool = "azure", Tenant = "public-trace" });
    }

    /// <summary>The raw file summed the plain way: rows, context tokens, generated tokens.</summary>
    private static (long Rows, long Context, long Generated) RawSums(string file)
    {
        long rows = 0, context = 0, generated = 0;
        foreach (string line in File.ReadLines(TracePath(file)).Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            string[] cells = line.Split(',');
            rows++;
            context += long.Parse(cells[1], CultureInfo.InvariantCulture);
            generated += long.Parse(cells[2], CultureInfo.InvariantCulture);
        }

        return (rows, context, generated);
    }

    [Fact]
    public void BothTraces_ConvertedAndAggregated_TotalsEqualTheRawFiles()
    {
        AzureTraceConversion code = Convert("AzureLLMInferenceTrace_code.csv", "azure-code");
        AzureTraceConversion conv = Convert("AzureLLMInferenceTrace_conv.csv", "azure-conv");
        Assert.Empty(code.Errors);
        Assert.Empty(conv.Errors);

        // Replay both traces in time order, advancing the clock with the records as a live collector would.
        var aggregator = new InferenceWindowAggregator(new InferenceWindowAggregatorOptions { AllowedLateness = TimeSpan.FromSeconds(5) });
        var windows = new List<InferenceWindow>();
        foreach (InferenceRequest request in code.Requests.Concat(conv.Requests).OrderBy(r => r.Timestamp))
        {
            windows.AddRange(aggregator.Advance(request.Timestamp));
            Assert.Equal(AggregationOutcome.Accepted, aggregator.Add(request));
        }

        windows.AddRange(aggregator.Flush());
        Assert.Equal(0, aggregator.RejectedLateCount);
        Assert.Equal(0, aggregator.RejectedGroupLimitCount);

        foreach ((string file, string model, AzureTraceConversion conversion) in new[]
                 {
                     ("AzureLLMInferenceTrace_code.csv", "azure-code", code),
                     ("AzureLLMInferenceTrace_conv.csv", "azure-conv", conv),
                 })
        {
            (long rows, long context, long generated) = RawSums(file);
            List<InferenceWindow> modelWindows = windows.Where(w => w.Model == model).ToList();
            Assert.Equal(rows, conversion.Requests.Count);
            Assert.Equal(rows, modelWindows.Sum(w => w.RequestCount));
            Assert.Equal(context, modelWindows.Sum(w => w.PromptTokens));
            Assert.Equal(generated, modelWindows.Sum(w => w.CompletionTokens));
            Assert.All(modelWindows, w => Assert.Equal(0, w.ErrorCount));
            Assert.All(modelWindows, w => Assert.Null(w.LatencyP50Ms));
            Assert.Equal(modelWindows.Count, modelWindows.Select(w => w.WindowStart).Distinct().Count());
        }

        // The totals checked above, as read once from the files (awk) for the record.
        Assert.Equal(8819, windows.Where(w => w.Model == "azure-code").Sum(w => w.RequestCount));
        Assert.Equal(18_059_974, windows.Where(w => w.Model == "azure-code").Sum(w => w.PromptTokens));
        Assert.Equal(245_896, windows.Where(w => w.Model == "azure-code").Sum(w => w.CompletionTokens));
        Assert.Equal(19366, windows.Where(w => w.Model == "azure-conv").Sum(w => w.RequestCount));
        Assert.Equal(22_361_870, windows.Where(w => w.Model == "azure-conv").Sum(w => w.PromptTokens));
        Assert.Equal(4_088_665, windows.Where(w => w.Model == "azure-conv").Sum(w => w.CompletionTokens));

        // Windows checked by hand against the files.
        AssertWindow(windows, "azure-code", "2023-11-16T18:17:00Z", requests: 12, prompt: 31_868, completion: 165);
        AssertWindow(windows, "azure-code", "2023-11-16T18:53:30Z", requests: 110, prompt: 241_369, completion: 2_307);
        AssertWindow(windows, "azure-code", "2023-11-16T19:14:10Z", requests: 115, prompt: 225_101, completion: 4_376);
        AssertWindow(windows, "azure-conv", "2023-11-16T18:15:40Z", requests: 1, prompt: 374, completion: 44);
        AssertWindow(windows, "azure-conv", "2023-11-16T18:32:10Z", requests: 44, prompt: 42_943, completion: 12_603);
        AssertWindow(windows, "azure-conv", "2023-11-16T19:14:00Z", requests: 7, prompt: 5_963, completion: 2_512);
    }

    [Fact]
    public void Code_FirstRecord_IsTheFirstLineOfTheFile()
    {
        InferenceRequest first = Convert("AzureLLMInferenceTrace_code.csv", "azure-code").Requests[0];

        Assert.Equal(new DateTimeOffset(2023, 11, 16, 18, 17, 3, TimeSpan.Zero).AddTicks(9_799_600), first.Timestamp);
        Assert.Equal("azure-code", first.Model);
        Assert.Equal(4808, first.PromptTokens);
        Assert.Equal(10, first.CompletionTokens);
        Assert.Equal("azure", first.Pool);
        Assert.Null(first.Status);
        Assert.Null(first.LatencyMs);
    }

    [Fact]
    public void Converter_CrLfReorderedHeaderAndBadLines()
    {
        string text =
            "GeneratedTokens,TIMESTAMP,ContextTokens\r\n" +
            "10,2023-11-16 18:17:03.9799600,4808\r\n" +
            "\r\n" +
            "x,2023-11-16 18:17:04.0319600,3180\r\n" +
            "8,2023-11-16 18:17:04\r\n" +
            "8,16/11/2023 18:17:04,3180\r\n" +
            "27,2023-11-16 18:17:04.0781490,110";

        AzureTraceConversion result = AzureTraceConverter.Convert(new StringReader(text), new AzureTraceAttribution { Model = "m" });

        Assert.Equal([(4808L, 10L), (110L, 27L)], result.Requests.Select(r => (r.PromptTokens, r.CompletionTokens)));
        Assert.Equal([4, 5, 6], result.Errors.Select(e => e.LineNumber));
    }

    [Fact]
    public void Converter_WrongHeader_IsOneError()
    {
        AzureTraceConversion result = AzureTraceConverter.Convert(new StringReader("a,b,c\n1,2,3\n"), new AzureTraceAttribution { Model = "m" });

        Assert.Empty(result.Requests);
        Assert.Equal(1, Assert.Single(result.Errors).LineNumber);
    }

    private static void AssertWindow(List<InferenceWindow> windows, string model, string start, long requests, long prompt, long completion)
    {
        DateTimeOffset windowStart = DateTimeOffset.Parse(start, CultureInfo.InvariantCulture);
        InferenceWindow window = Assert.Single(windows, w => w.Model == model && w.WindowStart == windowStart);
        Assert.Equal((requests, prompt, completion), (window.RequestCount, window.PromptTokens, window.CompletionTokens));
        Assert.Equal("public-trace", window.Tenant);
        Assert.Equal("azure", window.Pool);
        Assert.Equal(TimeSpan.FromSeconds(10), window.WindowLength);
    }
}
