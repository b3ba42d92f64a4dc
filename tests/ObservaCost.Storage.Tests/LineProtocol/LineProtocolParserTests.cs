using System.Text;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Tests.LineProtocol;

public sealed class LineProtocolParserTests
{
    private static (List<ParsedPoint> Points, List<LineError> Errors) Parse(string text, WritePrecision precision = WritePrecision.Nanoseconds, long now = 42)
    {
        var points = new List<ParsedPoint>();
        var errors = new List<LineError>();
        LineProtocolParser.Parse(Encoding.UTF8.GetBytes(text), precision, now, points, errors);
        return (points, errors);
    }

    [Fact]
    public void Parse_TelegrafNvidiaSmiLine_ReadsTagsFieldsAndTime()
    {
        var (points, errors) = Parse("nvidia_smi,host=gpu-node-1,index=0,name=NVIDIA\\ H100\\ 80GB\\ HBM3,pstate=P0,uuid=GPU-5c1b utilization_gpu=87i,power_draw=612.34,temperature_gpu=71i,memory_used=74213i 1732000000000000000\n");
        Assert.Empty(errors);
        ParsedPoint p = Assert.Single(points);
        Assert.Equal("nvidia_smi", p.Measurement);
        Assert.Equal("NVIDIA H100 80GB HBM3", p.GetTag("name"));
        Assert.Equal(87, p.GetField("utilization_gpu")!.Value.Integer);
        Assert.Equal(612.34, p.GetField("power_draw")!.Value.Float);
        Assert.Equal(1732000000000000000, p.TimestampNanoseconds);
    }

    [Fact]
    public void Parse_BadLines_AreReportedWithLineNumberAndReason_AndGoodLinesKept()
    {
        string text = "m v=1 1\r\n" +
                      "# a comment\n" +
                      "\n" +
                      "m,t= v=2 2\n" +
                      "m v=abc 3\n" +
                      "m v=4 notatime\n" +
                      "m s=\"unclosed 5\n" +
                      "m\n" +
                      "m v=7i 7\n";
        var (points, errors) = Parse(text);

        Assert.Equal([1L, 7L], points.Select(p => p.TimestampNanoseconds));
        Assert.Equal([4, 5, 6, 7], errors.Select(e => e.Line).Take(4));
        Assert.Contains("invalid tag format", errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("invalid number", errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("invalid timestamp", errors[2].Reason, StringComparison.Ordinal);
        Assert.Contains("unbalanced quotes", errors[3].Reason, StringComparison.Ordinal);
        Assert.Equal("m,t= v=2 2", errors[0].Text);
    }

    [Fact]
    public void Parse_MultiLineString_CountsLinesForLaterErrors()
    {
        var (points, errors) = Parse("m s=\"a\nb\" 1\nm v=bad 2\n");
        Assert.Equal("a\nb", Assert.Single(points).GetField("s")!.Value.String);
        Assert.Equal(3, Assert.Single(errors).Line);
    }

    [Theory]
    [InlineData("t", true)]
    [InlineData("T", true)]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("TRUE", true)]
    [InlineData("f", false)]
    [InlineData("False", false)]
    [InlineData("FALSE", false)]
    public void Parse_Booleans_AllSpellings(string text, bool expected)
    {
        var (points, _) = Parse($"m b={text} 1");
        FieldValue value = Assert.Single(points).GetField("b")!.Value;
        Assert.Equal(FieldKind.Boolean, value.Kind);
        Assert.Equal(expected, value.Boolean);
    }

    [Fact]
    public void Parse_NoTimestamp_UsesNow_AndPrecisionScalesTimestamps()
    {
        var (points, _) = Parse("m v=1\nm v=2 1700000000\n", WritePrecision.Seconds, now: 99);
        Assert.Equal(99, points[0].TimestampNanoseconds);
        Assert.Equal(1_700_000_000_000_000_000, points[1].TimestampNanoseconds);
    }

    [Fact]
    public void Parse_UnsignedAndScientific_AreRead()
    {
        var (points, errors) = Parse("m u=5u,e=1.5e3,n=-0.25 1");
        Assert.Empty(errors);
        Assert.Equal(5, points[0].GetField("u")!.Value.Integer);
        Assert.Equal(1500, points[0].GetField("e")!.Value.Float);
        Assert.Equal(-0.25, points[0].GetField("n")!.Value.Float);
    }

    [Fact]
    public void Parse_TimestampOverflow_IsRejected()
    {
        var (_, errors) = Parse("m v=1 9223372036854775807", WritePrecision.Seconds);
        Assert.Contains("out of range", Assert.Single(errors).Reason, StringComparison.Ordinal);
    }
}

public sealed class LineProtocolScanTests
{
    [Fact]
    public void Scan_AcceptsAndRejectsTheSameLinesAsParse_WithoutBuildingPoints()
    {
        string text = "m,a=1,b=2 v=1 1\nm,b=2,a=1 v=2 2\nbad v= 3\nm,a=1,b=3 v=3\nn,t=x\\ y s=\"q\" 4\n";
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var parsed = new List<ParsedPoint>();
        var parseErrors = new List<LineError>();
        LineProtocolParser.Parse(bytes, WritePrecision.Nanoseconds, 99, parsed, parseErrors);

        var summaries = new List<LineSummary>();
        var scanErrors = new List<LineError>();
        var built = new List<ParsedPoint>();
        LineProtocolParser.Scan(bytes, WritePrecision.Nanoseconds, 99, s =>
        {
            summaries.Add(s);
            return Encoding.UTF8.GetString(bytes, s.MeasurementOffset, s.MeasurementLength) == "n";
        }, built.Add, scanErrors);

        Assert.Equal(parseErrors.Select(e => (e.Line, e.Reason)), scanErrors.Select(e => (e.Line, e.Reason)));
        Assert.Equal(parsed.Count, summaries.Count);
        Assert.Equal(parsed.Select(p => p.TimestampNanoseconds), summaries.Select(s => s.TimestampNanoseconds));
        Assert.Equal(parsed.Select(p => (p.SourceOffset, p.SourceLength)), summaries.Select(s => (s.Offset, s.Length)));
        // The same series with its tags in another order hashes the same; another tag value does not.
        Assert.Equal(summaries[0].SeriesHash, summaries[1].SeriesHash);
        Assert.NotEqual(summaries[0].SeriesHash, summaries[2].SeriesHash);
        Assert.Equal([true, true, false, true], summaries.Select(s => s.HadTimestamp));
        ParsedPoint n = Assert.Single(built);
        Assert.Equal("x y", n.GetTag("t"));
        Assert.Equal(parsed[^1].SourceOffset, n.SourceOffset);
    }
}
