using System.Text;
using ObservaCost.Collector.Scraping;

namespace ObservaCost.Collector.Tests.Scraping;

public sealed class PrometheusTextParserTests
{
    private static PrometheusParseResult Parse(string text, PrometheusParserOptions? options = null) =>
        new PrometheusTextParser(options).Parse(text);

    [Fact]
    public void Parse_EscapedLabelValues_AreUnescaped()
    {
        PrometheusParseResult result = Parse("m{a=\"x\\\\y\",b=\"say \\\"hi\\\"\",c=\"one\\ntwo\"} 1\n");

        Assert.Empty(result.Errors);
        LabelSet labels = Assert.Single(result.Samples).Labels;
        Assert.Equal("x\\y", labels.Get("a"));
        Assert.Equal("say \"hi\"", labels.Get("b"));
        Assert.Equal("one\ntwo", labels.Get("c"));
        Assert.Equal("{a=\"x\\\\y\",b=\"say \\\"hi\\\"\",c=\"one\\ntwo\"}", labels.ToString());
    }

    [Fact]
    public void Parse_LabelValueWithDelimiters_KeepsThemLiterally()
    {
        PrometheusParseResult result = Parse("m{a=\"},={#\",b=\"h\u00e9llo \u2713\",c=\"\"} 2\n");

        LabelSet labels = Assert.Single(result.Samples).Labels;
        Assert.Equal("},={#", labels.Get("a"));
        Assert.Equal("h\u00e9llo \u2713", labels.Get("b"));
        Assert.Equal(string.Empty, labels.Get("c"));
    }

    [Fact]
    public void Parse_HelpEscapes_AreUnescapedAndOtherBackslashesKept()
    {
        PrometheusParseResult result = Parse("# HELP m First\\nsecond \\\\ path C:\\temp\n# TYPE m gauge\nm 1\n");

        Assert.Empty(result.Errors);
        Assert.Equal("First\nsecond \\ path C:\\temp", result.Family("m")!.Help);
        Assert.Equal(MetricType.Gauge, result.Samples[0].Type);
    }

    [Theory]
    [InlineData("NaN", double.NaN)]
    [InlineData("+Inf", double.PositiveInfinity)]
    [InlineData("-Inf", double.NegativeInfinity)]
    [InlineData("Inf", double.PositiveInfinity)]
    [InlineData("1e3", 1000)]
    [InlineData("-0.5", -0.5)]
    [InlineData("1.7740114612881637e+09", 1.7740114612881637e+09)]
    [InlineData("9223372036854775794", 9223372036854775794d)]
    [InlineData(".5", 0.5)]
    public void Parse_SpecialAndScientificValues_AreRead(string token, double expected)
    {
        PrometheusParseResult result = Parse("m " + token + "\n");

        Assert.Empty(result.Errors);
        Assert.Equal(expected, Assert.Single(result.Samples).Value);
    }

    [Fact]
    public void Parse_Timestamps_AreReadAsMilliseconds()
    {
        PrometheusParseResult result = Parse("a 1 1712345678901\nb{x=\"y\"} 2 -5\nc 3\n");

        Assert.Empty(result.Errors);
        Assert.Equal(new long?[] { 1712345678901L, -5L, null }, result.Samples.Select(s => s.TimestampMilliseconds));
    }

    [Fact]
    public void Parse_CrLfBlankLinesTabsAndLeadingSpace_AreAccepted()
    {
        PrometheusParseResult result = Parse("# TYPE m counter\r\n\r\n   m{a=\"1\"}\t5\r\n\t\r\nm{a=\"2\"} 6 100\r\n");

        Assert.Empty(result.Errors);
        Assert.Equal(5, result.LineCount);
        Assert.Equal([5d, 6d], result.Samples.Select(s => s.Value));
        Assert.Equal("1", result.Samples[0].Labels.Get("a"));
        Assert.Equal(100, result.Samples[1].TimestampMilliseconds);
        Assert.All(result.Samples, s => Assert.Equal(MetricType.Counter, s.Type));
    }

    [Fact]
    public void Parse_SpacesInsideBracesAndTrailingComma_AreAccepted()
    {
        PrometheusParseResult result = Parse("m{ a = \"1\" , b=\"2\", } 3\nn{} 4\no{x=\"1\",}5\n");

        Assert.Empty(result.Errors);
        Assert.Equal(["a", "b"], result.Samples[0].Labels.Select(l => l.Name));
        Assert.Empty(result.Samples[1].Labels);
        Assert.Equal(5, result.Samples[2].Value);
    }

    [Fact]
    public void Parse_ColonNamesAndByteOrderMark_AreAccepted()
    {
        byte[] page = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 2\n")];

        PrometheusParseResult result = PrometheusTextParser.ParseOnce(page);

        Assert.Empty(result.Errors);
        PrometheusSample sample = Assert.Single(result.Samples);
        Assert.Equal("vllm:num_requests_running", sample.Name);
        Assert.Equal(MetricType.Gauge, sample.Type);
    }

    [Fact]
    public void Parse_HistogramAndSummary_GroupSamplesUnderFamilies()
    {
        const string page = """
            # HELP rpc_seconds RPC latency.
            # TYPE rpc_seconds histogram
            rpc_seconds_bucket{le="0.1"} 2
            rpc_seconds_bucket{le="+Inf"} 3
            rpc_seconds_sum 0.45
            rpc_seconds_count 3
            # TYPE size_bytes summary
            size_bytes{quantile="0.5"} 10
            size_bytes{quantile="0.99"} NaN
            size_bytes_sum 30
            size_bytes_count 3
            # just a comment
            #
            other_metric 1
            """;

        PrometheusParseResult result = Parse(page);

        Assert.Empty(result.Errors);
        Assert.Equal(["rpc_seconds", "size_bytes", "other_metric"], result.Families.Select(f => f.Name));
        Assert.Equal([MetricType.Histogram, MetricType.Summary, MetricType.Untyped], result.Families.Select(f => f.Type));
        Assert.Equal([4, 4, 1], result.Families.Select(f => f.SampleCount));
        Assert.Equal("rpc_seconds_bucket", result.Samples[0].Name);
        Assert.Equal("rpc_seconds", result.Samples[0].FamilyName);
        Assert.Equal("size_bytes", result.Samples[4].Name);
        Assert.True(double.IsNaN(result.Samples[5].Value));
    }

    [Fact]
    public void Parse_UntypedAndUnknownTypes_AreUntyped()
    {
        PrometheusParseResult result = Parse("# TYPE a untyped\na 1\n# TYPE b UNKNOWN\nb 2\nc 3\n");

        Assert.Empty(result.Errors);
        Assert.All(result.Samples, s => Assert.Equal(MetricType.Untyped, s.Type));
    }

    [Fact]
    public void Parse_CounterDeclaredWithoutTotalSuffix_GroupsTheTotalSample()
    {
        PrometheusParseResult result = Parse("# TYPE requests counter\nrequests_total{code=\"200\"} 7\n# TYPE temp gauge\ntemp_total 1\n");

        Assert.Empty(result.Errors);
        Assert.Equal("requests", result.Samples[0].FamilyName);
        Assert.Equal("requests_total", result.Samples[0].Name);
        Assert.Equal(MetricType.Counter, result.Samples[0].Type);
        Assert.Equal(MetricType.Untyped, result.Samples[1].Type);
    }

    [Fact]
    public void Parse_SuffixOfNonHistogram_IsItsOwnFamily()
    {
        PrometheusParseResult result = Parse("# TYPE jobs counter\njobs 1\njobs_count 2\njobs_bucket{le=\"1\"} 3\n");

        Assert.Empty(result.Errors);
        Assert.Equal(["jobs", "jobs_count", "jobs_bucket"], result.Families.Select(f => f.Name));
        Assert.Equal(MetricType.Untyped, result.Samples[1].Type);
    }

    [Fact]
    public void Parse_MalformedLinesAmongGoodOnes_ReportsEachLineAndKeepsGoodSamples()
    {
        string[] lines =
        [
            "good_a 1",
            "bad_escape{a=\"\\x\"} 1",
            "missing_value{a=\"1\"}",
            "this is garbage",
            "{a=\"1\"} 2",
            "good_b{a=\"1\"} 2",
            "bad_value abc",
            "bad_timestamp 1 12.5",
            "extra 1 2 3",
            "unterminated{a=\"1} 2",
            "unquoted{a=1} 2",
            "no_equals{a\"1\"} 2",
            "duplicate{a=\"1\",a=\"2\"} 3",
            "# TYPE t foo",
            "# TYPE",
            "name-1",
            "lonely_name",
            "good_c 3",
        ];

        PrometheusParseResult result = Parse(string.Join('\n', lines));

        Assert.Equal(["good_a", "good_b", "good_c"], result.Samples.Select(s => s.Name));
        Assert.Equal([2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], result.Errors.Select(e => e.Line));
        Assert.Equal(15, result.MalformedLines);
        Assert.All(result.Errors, e => Assert.Equal(PrometheusErrorKind.Malformed, e.Kind));
        Assert.Contains("invalid escape sequence '\\x'", result.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Equal("missing value", result.Errors[1].Reason);
        Assert.Equal("metric name expected", result.Errors[3].Reason);
        Assert.Equal("invalid value 'abc'", result.Errors[4].Reason);
        Assert.Equal("invalid timestamp '12.5'", result.Errors[5].Reason);
        Assert.Equal("unexpected text after the timestamp", result.Errors[6].Reason);
        Assert.Equal("unterminated label value", result.Errors[7].Reason);
        Assert.Equal("label value must be in double quotes", result.Errors[8].Reason);
        Assert.Equal("'=' expected after label name", result.Errors[9].Reason);
        Assert.Equal("duplicate label name 'a'", result.Errors[10].Reason);
        Assert.Equal("unknown metric type 'foo'", result.Errors[11].Reason);
        Assert.Equal("TYPE line without a metric name", result.Errors[12].Reason);
        Assert.Equal("invalid character in metric name", result.Errors[13].Reason);
        Assert.Equal("missing value", result.Errors[14].Reason);
        Assert.Equal("bad_escape{a=\"\\x\"} 1", result.Errors[0].Text);
        Assert.Equal("line 2: " + result.Errors[0].Reason + ": " + result.Errors[0].Text, result.Errors[0].ToString());
    }

    [Fact]
    public void Parse_HistogramBucketWithoutLe_IsRefused()
    {
        PrometheusParseResult result = Parse("# TYPE h histogram\nh_bucket{x=\"1\"} 1\nh_bucket{le=\"abc\"} 1\nh 4\nh_count 2\n");

        Assert.Equal([2, 3, 4], result.Errors.Select(e => e.Line));
        Assert.Equal("histogram bucket without a valid 'le' label", result.Errors[0].Reason);
        Assert.Equal("a histogram sample must end in _bucket, _sum or _count", result.Errors[2].Reason);
        Assert.Equal("h_count", Assert.Single(result.Samples).Name);
    }

    [Fact]
    public void Parse_SummaryQuantileWithoutQuantileLabel_IsRefused()
    {
        PrometheusParseResult result = Parse("# TYPE s summary\ns 1\ns{quantile=\"0.5\"} 2\n");

        Assert.Equal(2, Assert.Single(result.Errors).Line);
        Assert.Equal(2, Assert.Single(result.Samples).Value);
    }

    [Fact]
    public void Parse_TypeChangedAfterSamples_IsRefusedButRepeatedTypeIsNot()
    {
        PrometheusParseResult result = Parse("# TYPE m gauge\nm{i=\"1\"} 1\n# TYPE m gauge\nm{i=\"2\"} 2\n# TYPE m counter\nm{i=\"3\"} 3\n");

        PrometheusParseError error = Assert.Single(result.Errors);
        Assert.Equal(5, error.Line);
        Assert.Equal("TYPE line for m after its samples", error.Reason);
        Assert.All(result.Samples, s => Assert.Equal(MetricType.Gauge, s.Type));
        Assert.Equal(3, result.Samples.Count);
    }

    [Fact]
    public void Parse_OversizeLabelValue_RejectsTheSampleWithCountedReason()
    {
        var options = new PrometheusParserOptions { MaxLabelValueLength = 8 };

        PrometheusParseResult result = Parse("ok{a=\"12345678\"} 1\nlong{a=\"123456789\"} 2\nescaped{a=\"1234567\\\\89\"} 3\nok2{a=\"1234567\\\\\"} 4\n", options);

        Assert.Equal(["ok", "ok2"], result.Samples.Select(s => s.Name));
        Assert.Equal(2, result.LabelValueTooLongRejections);
        Assert.Equal([2, 3], result.Errors.Select(e => e.Line));
        Assert.All(result.Errors, e => Assert.Equal(PrometheusErrorKind.LabelValueTooLong, e.Kind));
        Assert.Equal("label value longer than 8 bytes", result.Errors[0].Reason);
    }

    [Fact]
    public void Parse_DefaultLimit_RejectsAHugeLabelValue()
    {
        string huge = new('x', 100_000);

        PrometheusParseResult result = Parse("big{a=\"" + huge + "\"} 1\nsmall 2\n");

        Assert.Equal(1, result.LabelValueTooLongRejections);
        Assert.Equal("small", Assert.Single(result.Samples).Name);
        Assert.Equal(PrometheusTextParser.MaxErrorTextLength, Assert.Single(result.Errors).Text.Length);
    }

    [Fact]
    public void Parse_TooManyLabels_RejectsTheSample()
    {
        var options = new PrometheusParserOptions { MaxLabelsPerSample = 2 };

        PrometheusParseResult result = Parse("a{x=\"1\",y=\"2\"} 1\nb{x=\"1\",y=\"2\",z=\"3\"} 2\nc 3\n", options);

        Assert.Equal(["a", "c"], result.Samples.Select(s => s.Name));
        Assert.Equal(1, result.TooManyLabelsRejections);
        PrometheusParseError error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Line);
        Assert.Equal(PrometheusErrorKind.TooManyLabels, error.Kind);
        Assert.Equal("more than 2 labels", error.Reason);
    }

    [Fact]
    public void Parse_TooManySamples_KeepsTheFirstAndCountsTheRest()
    {
        var options = new PrometheusParserOptions { MaxSamplesPerPage = 3 };

        PrometheusParseResult result = Parse("# TYPE m gauge\nm{i=\"1\"} 1\nm{i=\"2\"} 2\nm{i=\"3\"} 3\nm{i=\"4\"} 4\n# HELP m still read\nm{i=\"5\"} 5\n", options);

        Assert.Equal([1d, 2d, 3d], result.Samples.Select(s => s.Value));
        Assert.Equal(2, result.SamplesOverLimit);
        PrometheusParseError error = Assert.Single(result.Errors);
        Assert.Equal(5, error.Line);
        Assert.Equal(PrometheusErrorKind.SampleLimitReached, error.Kind);
        Assert.Equal("still read", result.Family("m")!.Help);
    }

    [Fact]
    public void Parse_ManyBadLines_ListsOnlyMaxErrorsButCountsAll()
    {
        string page = string.Concat(Enumerable.Repeat("garbage line here\n", 150)) + "good 1\n";

        PrometheusParseResult result = Parse(page);

        Assert.Equal(100, result.Errors.Count);
        Assert.Equal(150, result.MalformedLines);
        Assert.Equal(150, result.RejectedCount);
        Assert.Equal("good", Assert.Single(result.Samples).Name);
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrowsAndAccountsForEveryLine()
    {
        var random = new Random(20240611);
        byte[] alphabet = Encoding.UTF8.GetBytes("ab_:{}=\",\\n \t#01.e+-\nInfNa\r\u00e9");
        for (int round = 0; round < 500; round++)
        {
            byte[] page = new byte[random.Next(0, 300)];
            for (int i = 0; i < page.Length; i++)
            {
                page[i] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }

            PrometheusParseResult result = PrometheusTextParser.ParseOnce(page);

            Assert.True(result.Samples.Count + result.RejectedCount <= result.LineCount);
            Assert.Equal(result.Samples.Count, result.Families.Sum(f => f.SampleCount));
        }
    }

    [Fact]
    public void Constructor_InvalidOptions_NamesEveryFailure()
    {
        var options = new PrometheusParserOptions { MaxLabelValueLength = 0, MaxLabelsPerSample = 0, MaxSamplesPerPage = 0, MaxErrorsListed = -1 };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new PrometheusTextParser(options));

        Assert.Contains("MaxLabelValueLength", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxLabelsPerSample", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSamplesPerPage", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxErrorsListed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SmallStringPool_StillReturnsCorrectValues()
    {
        var parser = new PrometheusTextParser(new PrometheusParserOptions { MaxInternedStrings = 2 });

        PrometheusParseResult result = parser.Parse("a{x=\"1\",y=\"2\"} 1\nb{x=\"3\",y=\"4\"} 2\nc{x=\"1\",y=\"2\"} 3\n");

        Assert.Equal(["1", "3", "1"], result.Samples.Select(s => s.Labels.Get("x")));
        Assert.Equal(["2", "4", "2"], result.Samples.Select(s => s.Labels.Get("y")));
    }
}
