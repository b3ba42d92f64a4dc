using System.Text;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.RequestLogs;

namespace ObservaCost.Collector.Tests.RequestLogs;

public sealed class RequestLogParserTests
{
    private static readonly DateTimeOffset Now = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RequestLogParser Parser = new();

    private static RequestLogParseResult Parse(string body, RequestLogParser? parser = null) =>
        (parser ?? Parser).Parse(Encoding.UTF8.GetBytes(body), Now);

    [Fact]
    public void Ndjson_FlatTokens_AllFieldsRead()
    {
        RequestLogParseResult result = Parse(
            """{"timestamp":"2024-05-01T11:59:00.250Z","model":"llama-3-70b","tenant":"acme","pool":"h100-a","node":"gpu-7","status":"ok","prompt_tokens":812,"completion_tokens":120,"latency_ms":1834.5,"ttft_ms":212.25}""");

        Assert.Empty(result.Rejections);
        InferenceRequest request = Assert.Single(result.Requests);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 11, 59, 0, 250, TimeSpan.Zero), request.Timestamp);
        Assert.Equal("llama-3-70b", request.Model);
        Assert.Equal("acme", request.Tenant);
        Assert.Equal("h100-a", request.Pool);
        Assert.Equal("gpu-7", request.Node);
        Assert.Equal("ok", request.Status);
        Assert.Equal(812, request.PromptTokens);
        Assert.Equal(120, request.CompletionTokens);
        Assert.Equal(1834.5, request.LatencyMs);
        Assert.Equal(212.25, request.TimeToFirstTokenMs);
    }

    [Fact]
    public void Ndjson_OpenAiUsageObject_TokensReadAndOptionalFieldsNull()
    {
        RequestLogParseResult result = Parse(
            """{"id":"chatcmpl-1","object":"chat.completion","timestamp":1714564740,"model":"gpt-4o","usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0}},"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"time_to_first_token_ms":95}""");

        Assert.Empty(result.Rejections);
        InferenceRequest request = Assert.Single(result.Requests);
        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal(19, request.PromptTokens);
        Assert.Equal(10, request.CompletionTokens);
        Assert.Equal(95, request.TimeToFirstTokenMs);
        Assert.Null(request.Tenant);
        Assert.Null(request.Status);
        Assert.Null(request.LatencyMs);
    }

    [Theory]
    [InlineData("\"2024-05-01T11:59:00Z\"", "2024-05-01T11:59:00.0000000+00:00")]
    [InlineData("\"2024-05-01T13:59:00+02:00\"", "2024-05-01T11:59:00.0000000+00:00")]
    [InlineData("\"2024-05-01T06:29:00.5-05:30\"", "2024-05-01T11:59:00.5000000+00:00")]
    [InlineData("\"2024-05-01 11:59:00.123456789z\"", "2024-05-01T11:59:00.1234567+00:00")]
    [InlineData("\"2024-05-01t11:59:00Z\"", "2024-05-01T11:59:00.0000000+00:00")]
    [InlineData("1714564740", "2024-05-01T11:59:00.0000000+00:00")]
    [InlineData("1714564740.25", "2024-05-01T11:59:00.2500000+00:00")]
    [InlineData("1714564740000", "2024-05-01T11:59:00.0000000+00:00")]
    [InlineData("1714564740123.5", "2024-05-01T11:59:00.1235000+00:00")]
    [InlineData("99999999999", null)]
    [InlineData("100000000000", "1973-03-03T09:46:40.0000000+00:00")]
    public void Timestamp_RfcStringsUnixSecondsAndMilliseconds(string json, string? expected)
    {
        RequestLogParseResult result = Parse($$"""{"model":"m","timestamp":{{json}}}""");

        if (expected is null)
        {
            // Below the threshold a number is seconds: 99,999,999,999 s is the year 5138, far in the future.
            Assert.Equal(RequestLogRejectionReason.FutureTimestamp, Assert.Single(result.Rejections).Reason);
            return;
        }

        Assert.Empty(result.Rejections);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Assert.Single(result.Requests).Timestamp);
        Assert.Equal(TimeSpan.Zero, result.Requests[0].Timestamp.Offset);
    }

    [Fact]
    public void Array_RecordsAndRejectionsByIndex()
    {
        RequestLogParseResult result = Parse(
            """
            [
              {"timestamp":"2024-05-01T11:00:00Z","model":"a","prompt_tokens":1,"completion_tokens":2},
              {"timestamp":"2024-05-01T11:00:01Z","prompt_tokens":1},
              42,
              {"timestamp":1714560000123,"model":"b","usage":{"prompt_tokens":3,"completion_tokens":4}},
              {"timestamp":"2024-05-01T11:00:02Z","model":"c","latency_ms":-1}
            ]
            """);

        Assert.Equal(["a", "b"], result.Requests.Select(r => r.Model));
        Assert.Equal(3, result.Requests[1].PromptTokens);
        Assert.Equal(
            [(1, RequestLogRejectionReason.MissingModel), (2, RequestLogRejectionReason.NotAnObject), (4, RequestLogRejectionReason.InvalidLatency)],
            result.Rejections.Select(r => (r.ArrayIndex!.Value, r.Reason)));
        Assert.All(result.Rejections, r => Assert.Null(r.LineNumber));
    }

    [Fact]
    public void Array_MalformedElement_StopsThereAndKeepsEarlierRecords()
    {
        RequestLogParseResult result = Parse(
            """[{"timestamp":1714564740,"model":"a"},{"timestamp":1714564740,"model":"b"},{"timestamp":1714564740,"model":"c",]""");

        Assert.Equal(["a", "b"], result.Requests.Select(r => r.Model));
        RequestLogRejection rejection = Assert.Single(result.Rejections);
        Assert.Equal(2, rejection.ArrayIndex);
        Assert.Equal(RequestLogRejectionReason.MalformedJson, rejection.Reason);
    }

    [Fact]
    public void Array_ContentAfterTheArray_IsRejected()
    {
        RequestLogParseResult result = Parse("""[{"timestamp":1714564740,"model":"a"}] {"x":1}""");

        Assert.Single(result.Requests);
        Assert.Equal(RequestLogRejectionReason.MalformedJson, Assert.Single(result.Rejections).Reason);
    }

    [Fact]
    public void Ndjson_CrLfBlankLinesAndBom_LineNumbersCountEveryLine()
    {
        string body =
            "\uFEFF{\"timestamp\":1714564740,\"model\":\"a\"}\r\n" +
            "\r\n" +
            "   \r\n" +
            "{\"timestamp\":1714564741,\"model\":\"b\"}\r\n" +
            "{\"timestamp\":1714564742}\r\n" +
            "\n" +
            "{\"timestamp\":1714564743,\"model\":\"c\"}";

        RequestLogParseResult result = Parse(body);

        Assert.Equal(["a", "b", "c"], result.Requests.Select(r => r.Model));
        RequestLogRejection rejection = Assert.Single(result.Rejections);
        Assert.Equal(5, rejection.LineNumber);
        Assert.Null(rejection.ArrayIndex);
        Assert.Equal(RequestLogRejectionReason.MissingModel, rejection.Reason);
    }

    /// <summary>Every rejection reason, one per line, with a good record between each to show it is kept.</summary>
    [Fact]
    public void Ndjson_EveryRejectionReason_WithItsLineNumber()
    {
        var parser = new RequestLogParser(new RequestLogParserOptions
        {
            MaxTokensPerRequest = 1_000_000,
            MaxLatencyMs = 600_000,
            MaxStringBytes = 32,
            MaxFutureSkew = TimeSpan.FromMinutes(1),
            MaxRecordBytes = 512,
        });
        (string Line, RequestLogRejectionReason? Reason)[] cases =
        [
            ("""{"timestamp":1714564740,"model":"good"}""", null),
            ("""{"timestamp":1714564740,"model":"a",""", RequestLogRejectionReason.MalformedJson),
            ("""{"timestamp":1714564740,"model":"a"} {"model":"b"}""", RequestLogRejectionReason.MalformedJson),
            ("""[1,2]""", RequestLogRejectionReason.NotAnObject),
            ("\"just a string\"", RequestLogRejectionReason.NotAnObject),
            ("{\"timestamp\":1714564740,\"model\":\"a\",\"pad\":\"" + new string('x', 600) + "\"}", RequestLogRejectionReason.RecordTooLarge),
            ("""{"timestamp":1714564740}""", RequestLogRejectionReason.MissingModel),
            ("""{"timestamp":1714564740,"model":""}""", RequestLogRejectionReason.MissingModel),
            ("""{"model":"a","prompt_tokens":1}""", RequestLogRejectionReason.MissingTimestamp),
            ("""{"model":"a","timestamp":"2024-05-01T11:59:00"}""", RequestLogRejectionReason.InvalidTimestamp),
            ("""{"model":"a","timestamp":"2024-02-30T11:59:00Z"}""", RequestLogRejectionReason.InvalidTimestamp),
            ("""{"model":"a","timestamp":"yesterday"}""", RequestLogRejectionReason.InvalidTimestamp),
            ("""{"model":"a","timestamp":-5}""", RequestLogRejectionReason.InvalidTimestamp),
            ("""{"model":"a","timestamp":true}""", RequestLogRejectionReason.InvalidTimestamp),
            ("""{"model":"a","timestamp":"2024-05-01T12:01:01Z"}""", RequestLogRejectionReason.FutureTimestamp),
            ("""{"model":"a","timestamp":1714565000000}""", RequestLogRejectionReason.FutureTimestamp),
            ("""{"model":42,"timestamp":1714564740}""", RequestLogRejectionReason.InvalidFieldType),
            ("""{"model":"a","timestamp":1714564740,"prompt_tokens":"12"}""", RequestLogRejectionReason.InvalidFieldType),
            ("""{"model":"a","timestamp":1714564740,"completion_tokens":1.5}""", RequestLogRejectionReason.InvalidFieldType),
            ("""{"model":"a","timestamp":1714564740,"usage":[1,2]}""", RequestLogRejectionReason.InvalidFieldType),
            ("""{"model":"a","timestamp":1714564740,"latency_ms":"fast"}""", RequestLogRejectionReason.InvalidFieldType),
            ("""{"model":"a","timestamp":1714564740,"prompt_tokens":-1}""", RequestLogRejectionReason.NegativeTokens),
            ("""{"model":"a","timestamp":1714564740,"usage":{"completion_tokens":-3}}""", RequestLogRejectionReason.NegativeTokens),
            ("""{"model":"a","timestamp":1714564740,"prompt_tokens":1000001}""", RequestLogRejectionReason.TokensAboveLimit),
            ("""{"model":"a","timestamp":1714564740,"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":99999999999999999999}}""", RequestLogRejectionReason.TokensAboveLimit),
            ("""{"model":"a","timestamp":1714564740,"prompt_tokens":5,"usage":{"prompt_tokens":6}}""", RequestLogRejectionReason.InconsistentTokens),
            ("""{"model":"a","timestamp":1714564740,"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":12}}""", RequestLogRejectionReason.InconsistentTokens),
            ("""{"model":"a","timestamp":1714564740,"usage":{"total_tokens":12}}""", RequestLogRejectionReason.InconsistentTokens),
            ("""{"model":"a","timestamp":1714564740,"usage":{"prompt_tokens":15,"total_tokens":12}}""", RequestLogRejectionReason.InconsistentTokens),
            ("""{"model":"a","timestamp":1714564740,"latency_ms":-0.5}""", RequestLogRejectionReason.InvalidLatency),
            ("""{"model":"a","timestamp":1714564740,"latency_ms":"NaN"}""", RequestLogRejectionReason.InvalidLatency),
            ("""{"model":"a","timestamp":1714564740,"latency_ms":600001}""", RequestLogRejectionReason.InvalidLatency),
            ("""{"model":"a","timestamp":1714564740,"latency_ms":1e999}""", RequestLogRejectionReason.InvalidLatency),
            ("""{"model":"a","timestamp":1714564740,"ttft_ms":-2}""", RequestLogRejectionReason.InvalidTimeToFirstToken),
            ("""{"model":"a","timestamp":1714564740,"time_to_first_token_ms":"Infinity"}""", RequestLogRejectionReason.InvalidTimeToFirstToken),
            ("{\"model\":\"" + new string('m', 33) + "\",\"timestamp\":1714564740}", RequestLogRejectionReason.StringTooLong),
            ("{\"model\":\"a\",\"tenant\":\"" + string.Concat(Enumerable.Repeat("\\u00e9", 17)) + "\",\"timestamp\":1714564740}", RequestLogRejectionReason.StringTooLong),
            ("""{"model":"a","model":"a","timestamp":1714564740}""", RequestLogRejectionReason.DuplicateKey),
            ("""{"model":"a","timestamp":1714564740,"request_id":1,"request_id":2}""", RequestLogRejectionReason.DuplicateKey),
            ("""{"model":"a","timestamp":1714564740,"usage":{"prompt_tokens":1,"prompt_tokens":1}}""", RequestLogRejectionReason.DuplicateKey),
            ("""{"model":"a","timestamp":1714564740,"ttft_ms":1,"time_to_first_token_ms":1}""", RequestLogRejectionReason.DuplicateKey),
            ("""{"model":"a","timestamp":1714564740,"dataset":"demo"}""", RequestLogRejectionReason.UnknownDataset),
            ("""{"model":"a","timestamp":1714564740,"dataset":"Simulated"}""", RequestLogRejectionReason.UnknownDataset),
            ("""{"model":"a","timestamp":1714564740,"dataset":"simulated","dataset":"simulated"}""", RequestLogRejectionReason.DuplicateKey),
            ("""{"model":"a\ud800","timestamp":1714564740}""", RequestLogRejectionReason.InvalidText),
            ("""{"model":"a","timestamp":"2024-05-01T11:59:00Z\udc00"}""", RequestLogRejectionReason.InvalidText),
            ("""{"model":"a","timestamp":1714564740,"\ud800":1}""", RequestLogRejectionReason.InvalidText),
            ("""{"model":"a\nb","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a","tenant":"t\r","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a","pool":"p\u0000","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a","node":"n\tm","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a\u007f","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a\u0085","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("{\"model\":\"raw\u007f\",\"timestamp\":1714564740}", RequestLogRejectionReason.UnencodableTag),
            ("{\"model\":\"a\",\"node\":\"raw\u0085\",\"timestamp\":1714564740}", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a\\ b","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a\\","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a","status":"Bad\\","timestamp":1714564740}""", RequestLogRejectionReason.UnencodableTag),
            ("""{"model":"a","timestamp":1714564740,"x":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}""", RequestLogRejectionReason.MalformedJson),
            ("""{"model":"a","timestamp":1714564740,"prompt_tokens":1e400}""", RequestLogRejectionReason.TokensAboveLimit),
            ("""{"model":"a","timestamp":1e400}""", RequestLogRejectionReason.InvalidTimestamp),
        ];
        var body = new StringBuilder();
        foreach ((string line, _) in cases)
        {
            body.Append(line).Append('\n').Append("""{"timestamp":1714564740,"model":"good"}""").Append('\n');
        }

        RequestLogParseResult result = parser.Parse(Encoding.UTF8.GetBytes(body.ToString()), Now);

        (int Line, RequestLogRejectionReason Reason)[] expected = cases
            .Select((c, i) => (Line: (2 * i) + 1, c.Reason))
            .Where(c => c.Reason is not null)
            .Select(c => (c.Line, c.Reason!.Value))
            .ToArray();
        Assert.Equal(expected, result.Rejections.Select(r => (r.LineNumber!.Value, r.Reason)));
        Assert.Equal(cases.Length + 1, result.Requests.Count);
        Assert.All(result.Requests, r => Assert.Equal("good", r.Model));
        Assert.All(result.Rejections, r => Assert.False(string.IsNullOrWhiteSpace(r.Message)));
        RequestLogRejectionReason[] notTheParsers = [RequestLogRejectionReason.LateRecord, RequestLogRejectionReason.OutsideImportRange, RequestLogRejectionReason.TooManyOpenGroups];
        Assert.Equal(Enum.GetValues<RequestLogRejectionReason>().Except(notTheParsers).Order(), expected.Select(e => e.Reason).Distinct().Order());
        Assert.Contains("the key 'request_id' appears more than once", result.Rejections.Single(r => r.LineNumber == LineOf("request_id")).Message, StringComparison.Ordinal);
        Assert.StartsWith("model holds the control character U+000A", result.Rejections.Single(r => r.LineNumber == LineOf("a\\nb")).Message, StringComparison.Ordinal);
        Assert.StartsWith("status cannot be stored as a tag", result.Rejections.Single(r => r.LineNumber == LineOf("Bad")).Message, StringComparison.Ordinal);

        int LineOf(string text) => (2 * Array.FindIndex(cases, c => c.Line.Contains(text, StringComparison.Ordinal))) + 1;
    }

    [Fact]
    public void Tokens_DerivedFromTotalAndConsistentDuplicatesAccepted()
    {
        RequestLogParseResult result = Parse(
            """
            {"timestamp":1714564740,"model":"a","usage":{"prompt_tokens":5,"total_tokens":12}}
            {"timestamp":1714564740,"model":"a","usage":{"completion_tokens":7,"total_tokens":12}}
            {"timestamp":1714564740,"model":"a","prompt_tokens":5,"completion_tokens":7,"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}
            {"timestamp":1714564740,"model":"a","prompt_tokens":5,"completion_tokens":7,"total_tokens":12}
            {"timestamp":1714564740,"model":"a","status":"error"}
            """);

        Assert.Empty(result.Rejections);
        Assert.All(result.Requests.Take(4), r => Assert.Equal((5L, 7L), (r.PromptTokens, r.CompletionTokens)));
        Assert.Equal((0L, 0L), (result.Requests[4].PromptTokens, result.Requests[4].CompletionTokens));
    }

    [Fact]
    public void UnknownPropertiesNullsEscapesAndNumericStatus_AreHandled()
    {
        RequestLogParseResult result = Parse(
            """{"extra":{"deep":[{"a":[1,{"b":null}]}]},"model":"gpt\u002d4","tenant":null,"status":503,"timestamp":"2024-05-01T11:59:00Z","latency_ms":"120.5","usage":null,"ttft_ms":null,"flag":true}""");

        Assert.Empty(result.Rejections);
        InferenceRequest request = Assert.Single(result.Requests);
        Assert.Equal("gpt-4", request.Model);
        Assert.Null(request.Tenant);
        Assert.Equal("503", request.Status);
        Assert.Equal(120.5, request.LatencyMs);
        Assert.Null(request.TimeToFirstTokenMs);
    }

    [Fact]
    public void RepeatedNames_AreReadCorrectlyThroughTheStringCache()
    {
        var body = new StringBuilder();
        string[] models = ["alpha", "beta", "gamma", "alpha", "delta", "beta"];
        foreach (string model in models)
        {
            body.Append("{\"timestamp\":1714564740,\"model\":\"").Append(model).Append("\",\"tenant\":\"t-").Append(model).Append("\"}\n");
        }

        RequestLogParseResult result = Parse(body.ToString());

        Assert.Equal(models, result.Requests.Select(r => r.Model));
        Assert.Equal(models.Select(m => "t-" + m), result.Requests.Select(r => r.Tenant));
        Assert.Same(result.Requests[0].Model, result.Requests[3].Model);
    }

    [Fact]
    public void Parse_DetectsArrayOrNdjsonByTheFirstByte()
    {
        Assert.Single(Parse("  \n [ {\"timestamp\":1714564740,\"model\":\"a\"} ]").Requests);
        Assert.Equal(2, Parse("{\"timestamp\":1714564740,\"model\":\"a\"}\n{\"timestamp\":1714564740,\"model\":\"b\"}").Requests.Count);
        Assert.Empty(Parse(string.Empty).Requests);
        Assert.Empty(Parse(string.Empty).Rejections);
    }

    [Fact]
    public void Options_InvalidValues_AreAllReportedWithTheirKeys()
    {
        var options = new RequestLogParserOptions
        {
            MaxTokensPerRequest = 0,
            MaxLatencyMs = double.NaN,
            MaxStringBytes = 0,
            MaxFutureSkew = TimeSpan.FromSeconds(-1),
            MaxRecordBytes = 0,
        };

        ValidateOptionsResult result = new RequestLogParserOptionsValidator().Validate(null, options);

        Assert.Equal(5, result.Failures!.Count());
        Assert.All(result.Failures!, f => Assert.StartsWith("Collector:RequestLogs:Parser:", f, StringComparison.Ordinal));
        Assert.Throws<OptionsValidationException>(() => new RequestLogParser(options));
    }

    [Fact]
    public void InvalidUtf8_RejectsOnlyItsRecord_InNdjsonAndArrays()
    {
        byte[] good = """{"timestamp":1714564740,"model":"good"}"""u8.ToArray();
        byte[] badModel = [.. """{"timestamp":1714564740,"model":"a"""u8, 0xFF, .. "\"}"u8];
        byte[] badIgnoredKey = [.. """{"timestamp":1714564740,"model":"a","note":"x"""u8, 0xC3, 0x28, .. "\"}"u8];
        byte[] ndjson = [.. good, (byte)'\n', .. badModel, (byte)'\n', .. badIgnoredKey, (byte)'\n', .. good];
        byte[] array = [(byte)'[', .. good, (byte)',', .. badModel, (byte)',', .. good, (byte)']'];

        RequestLogParseResult lines = Parser.Parse(ndjson, Now);
        RequestLogParseResult elements = Parser.Parse(array, Now);

        Assert.Equal([(2, RequestLogRejectionReason.InvalidText), (3, RequestLogRejectionReason.InvalidText)], lines.Rejections.Select(r => (r.LineNumber!.Value, r.Reason)));
        Assert.Equal(2, lines.Requests.Count);
        Assert.Equal([(1, RequestLogRejectionReason.InvalidText)], elements.Rejections.Select(r => (r.ArrayIndex!.Value, r.Reason)));
        Assert.Equal(2, elements.Requests.Count);
    }

    [Fact]
    public void PrintableDelimiters_AreKept_ForTheWriterToEscape()
    {
        RequestLogParseResult result = Parse("""{"timestamp":1714564740,"model":"llama 3, v=2 \"q\" \\x","tenant":"t\u00e9"}""");

        Assert.Empty(result.Rejections);
        Assert.Equal("llama 3, v=2 \"q\" \\x", result.Requests[0].Model);
        Assert.Equal("t\u00e9", result.Requests[0].Tenant);
    }

    [Fact]
    public void ParseNdjson_NumbersLinesFromTheFirstLineGiven_AndRejectNamesTheRecordsLine()
    {
        RequestLogParseResult result = Parser.ParseNdjson(
            Encoding.UTF8.GetBytes("{\"timestamp\":1714564740,\"model\":\"a\"}\n{\"model\":\"a\"}\n\n{\"timestamp\":1714564740,\"model\":\"b\"}\n"), Now, firstLineNumber: 41);

        // Lines 41 (a), 42 (no timestamp), 43 (blank), 44 (b).
        Assert.Equal(42, Assert.Single(result.Rejections).LineNumber);
        Assert.Equal(44, result.Reject(1, RequestLogRejectionReason.LateRecord, "x").LineNumber);
        Assert.Equal(1, Parser.Parse("[{\"timestamp\":1714564740,\"model\":\"a\"},{\"timestamp\":1714564740,\"model\":\"b\"}]"u8, Now)
            .Reject(1, RequestLogRejectionReason.LateRecord, "x").ArrayIndex);
    }
}
