using System.Text;
using ObservaCost.Collector.Scraping;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// What the parser refuses as Prometheus's own text parser does, each beside good samples that are kept, and the
/// OpenMetrics syntax it accepts.
/// </summary>
public sealed class PrometheusTextParserRefusalTests
{
    // 2026-03-01T12:00:00Z is 1 772 366 400 s since the epoch.
    private static readonly DateTimeOffset ScrapeTime = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private const long ScrapeMs = 1_772_366_400_000;

    private static readonly SampleTimeWindow Window = SampleTimeWindow.Around(ScrapeTime, TimeSpan.FromDays(30), TimeSpan.FromMinutes(10));

    private static PrometheusParseResult Parse(string page, PrometheusFormat format = PrometheusFormat.Text) =>
        new PrometheusTextParser().Parse(Encoding.UTF8.GetBytes(page), format, Window);

    [Fact]
    public void Parse_HexFloatsOverflowAndSignedNaN_AreRefusedAsPrometheusRefusesThem()
    {
        // Prometheus's parseFloat refuses any 'p', 'P' or '_' and Go's ParseFloat needs a 'p' exponent for hex, so no
        // hex float is read; 1e400 overflows (Go: ErrRange); Go reads NaN only unsigned.
        PrometheusParseResult result = Parse("""
            good_a 1.5
            hex_p 0x1p3
            hex_plain 0x10
            underscore 1_000
            overflow 1e400
            negative_overflow -1e400
            signed_nan -NaN
            good_b .5e1
            good_c +Inf
            good_d nan
            """);

        Assert.Equal(["good_a", "good_b", "good_c", "good_d"], result.Samples.Select(s => s.Name));
        Assert.Equal(5, result.Samples[1].Value);
        Assert.Equal(6, result.MalformedLines);
        Assert.Equal(6, result.RejectedCount);
        Assert.Equal("invalid value '0x1p3': hexadecimal floats and '_' are refused, as Prometheus refuses them", result.Errors[0].Reason);
        Assert.Equal("value '1e400' is out of the range of a 64-bit float", result.Errors[3].Reason);
        Assert.Equal([2, 3, 4, 5, 6, 7], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void Parse_NonUtf8LabelValue_RefusesTheSampleWithItsReason()
    {
        byte[] page = [.. "ok{pod=\"a\"} 1\nbad{pod=\""u8, 0xFF, 0xFE, .. "\"} 2\nescaped{pod=\"\\n"u8, 0xC3, .. "\"} 3\nok2{pod=\"é\"} 4\n"u8];

        PrometheusParseResult result = PrometheusTextParser.ParseOnce(page);

        Assert.Equal(["ok", "ok2"], result.Samples.Select(s => s.Name));
        Assert.Equal("é", result.Samples[1].Labels.Get("pod"));
        Assert.Equal(2, result.Rejections(PrometheusErrorKind.InvalidUtf8));
        Assert.Equal(2, result.RejectedCount);
        Assert.All(result.Errors, e => Assert.Equal("invalid UTF-8 label value", e.Reason));
    }

    [Fact]
    public void Parse_DuplicateSeries_KeepsTheFirstAndCountsTheRest()
    {
        PrometheusParseResult result = Parse("""
            # TYPE power gauge
            power{gpu="0"} 100
            power{gpu="1"} 200
            power{gpu="0"} 999
            power{gpu="0"} 998
            power{gpu="1",x="y"} 300
            """);

        Assert.Equal([100.0, 200, 300], result.Samples.Select(s => s.Value));
        Assert.Equal(2, result.Rejections(PrometheusErrorKind.DuplicateSeries));
        Assert.Equal(2, result.RejectedCount);
        Assert.Equal([4, 5], result.Errors.Select(e => e.Line));
        Assert.Equal("duplicate sample for the series power{gpu=\"0\"}: the first on the page is kept", result.Errors[0].Reason);
        Assert.Equal(3, result.Family("power")!.SampleCount);
    }

    [Fact]
    public void Parse_TimestampsOutsideTheWindow_AreRefused_InsideAreKept()
    {
        // The window: 30 days before to 10 minutes after the scrape. 100 000 000 000 000 ms is 5138-11-16.
        long minuteAgo = ScrapeMs - 60_000;
        long elevenMinutesAhead = ScrapeMs + 660_000;
        long thirtyOneDaysAgo = ScrapeMs - (31L * 86_400_000);
        PrometheusParseResult result = Parse($"""
            far_future 1 100000000000000
            recent 2 {minuteAgo}
            too_far_ahead 3 {elevenMinutesAhead}
            too_old 4 {thirtyOneDaysAgo}
            negative 5 -1
            untimed 6
            """);

        Assert.Equal(["recent", "untimed"], result.Samples.Select(s => s.Name));
        Assert.Equal(minuteAgo, result.Samples[0].TimestampMilliseconds);
        Assert.Equal(4, result.Rejections(PrometheusErrorKind.TimestampOutOfBounds));
        Assert.Equal(4, result.RejectedCount);
        Assert.StartsWith("the sample's timestamp 5138-11-16T09:46:40.0000000+00:00 is outside the accepted window 2026-01-30T12:00:00.0000000+00:00 to 2026-03-01T12:10:00.0000000+00:00", result.Errors[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OpenMetricsWithExemplarsCreatedInfoAndEof_IsReadWithoutRefusals()
    {
        PrometheusParseResult result = Parse("""
            # TYPE http_requests counter
            # UNIT http_requests requests
            # HELP http_requests Requests served.
            http_requests_total{code="200"} 1027 1772366400.5 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0 1772366399.1
            http_requests_created{code="200"} 1772360000.0
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.5"} 3 # {trace_id="a"} 0.25
            latency_seconds_bucket{le="+Inf"} 4
            latency_seconds_sum 1.5
            latency_seconds_count 4
            latency_seconds_created 1772360000
            # TYPE build info
            build_info{version="1.2"} 1
            # TYPE door stateset
            door{door="open"} 1
            # EOF
            """, PrometheusFormat.OpenMetrics);

        Assert.Empty(result.Errors);
        Assert.Equal(0, result.RejectedCount);
        PrometheusSample total = result.Samples[0];
        Assert.Equal(("http_requests", "http_requests_total", 1027.0), (total.FamilyName, total.Name, total.Value));
        // OpenMetrics timestamps are seconds: 1772366400.5 s = 1772366400500 ms.
        Assert.Equal(1_772_366_400_500, total.TimestampMilliseconds);
        Assert.Equal(2, result.Family("http_requests")!.SampleCount);
        Assert.Equal(5, result.Family("latency_seconds")!.SampleCount);
        Assert.Equal(MetricType.Histogram, result.Samples.Single(s => s.Name == "latency_seconds_created").Type);
        Assert.Equal(MetricType.Untyped, result.Samples.Single(s => s.Name == "build_info").Type);
        Assert.Equal(9, result.Samples.Count);
    }

    [Fact]
    public void Parse_ExemplarOnATextPage_IsDropped_AMalformedOneRefusesItsLine()
    {
        PrometheusParseResult result = Parse("""
            a_total 1 # {trace_id="x"} 1
            b_total 2 1772366400000 # {trace_id="y",span_id="z \"q\" }"} 2.5 1772366399
            c_total 3 # trace_id="x" 1
            d_total 4 # {trace_id="x"} notanumber
            e_total 5 # {trace_id="x"
            f_total 6
            """);

        Assert.Equal(["a_total", "b_total", "f_total"], result.Samples.Select(s => s.Name));
        Assert.Equal(1_772_366_400_000, result.Samples[1].TimestampMilliseconds);
        Assert.Equal(3, result.MalformedLines);
        Assert.Equal(["'{' expected after '#' of an exemplar", "invalid exemplar value", "unterminated exemplar label set"], result.Errors.Select(e => e.Reason));
    }
}
