using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Tests.LineProtocol;

public sealed class LineProtocolWriterTests
{
    [Fact]
    public void Write_AllFieldTypes_FollowsTheSpec()
    {
        using var writer = new LineProtocolWriter();
        bool ok = writer.Begin("gpu").Tag("node", "n1").Tag("pool", "a")
            .Field("f", 1.5).Field("i", -42L).Field("b", true).Field("s", "hi")
            .End(1_700_000_000_123_456_789);

        Assert.True(ok);
        Assert.Equal("gpu,node=n1,pool=a f=1.5,i=-42i,b=true,s=\"hi\" 1700000000123456789\n", writer.ToString());
        Assert.Equal(1, writer.PointCount);
    }

    [Theory]
    [InlineData("cpu load", "cpu\\ load")]
    [InlineData("a,b", "a\\,b")]
    [InlineData("x=y", "x=y")]
    [InlineData("back\\slash", "back\\slash")]
    [InlineData("ünïcødé", "ünïcødé")]
    public void Measurement_SpecialCharacters_AreEscaped(string name, string expected)
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin(name).Field("v", 1L).End(0));
        Assert.Equal(expected + " v=1i 0\n", writer.ToString());
    }

    [Theory]
    [InlineData("a b", "a\\ b")]
    [InlineData("a,b", "a\\,b")]
    [InlineData("a=b", "a\\=b")]
    [InlineData("C:\\dir", "C:\\dir")]
    [InlineData("\"quoted\"", "\"quoted\"")]
    [InlineData("a' OR 1=1 --", "a'\\ OR\\ 1\\=1\\ --")]
    public void TagKeysValuesAndFieldKeys_SpecialCharacters_AreEscaped(string text, string expected)
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin("m").Tag(text, text).Field(text, 1L).End(0));
        Assert.Equal($"m,{expected}={expected} {expected}=1i 0\n", writer.ToString());
    }

    [Theory]
    [InlineData("say \"hi\"", "say \\\"hi\\\"")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("two\nlines", "two\nlines")]
    [InlineData("comma, space = fine", "comma, space = fine")]
    public void StringField_QuotesAndBackslashes_AreEscaped(string value, string expected)
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin("m").Field("s", value).End(0));
        Assert.Equal($"m s=\"{expected}\" 0\n", writer.ToString());
    }

    [Theory]
    [InlineData("ends with\\", "at its end")]
    [InlineData("a\\ b", "before a delimiter")]
    [InlineData("line\nbreak", "line break")]
    public void TagValue_Unrepresentable_RejectsOnlyThatPoint(string value, string reason)
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin("m").Tag("t", "good").Field("v", 1L).End(1));
        Assert.False(writer.Begin("m").Tag("t", value).Field("v", 2L).End(2));
        Assert.Contains(reason, writer.LastRejection, StringComparison.Ordinal);
        Assert.True(writer.Begin("m").Tag("t", "also good").Field("v", 3L).End(3));

        Assert.Equal("m,t=good v=1i 1\nm,t=also\\ good v=3i 3\n", writer.ToString());
        Assert.Equal(2, writer.PointCount);
    }

    [Fact]
    public void Fields_NaNAndInfinity_AreOmitted_AndAPointWithoutFieldsIsRejected()
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin("m").Field("a", double.NaN).Field("b", 2.0).Field("c", double.PositiveInfinity).End(0));
        Assert.False(writer.Begin("m").Field("a", double.NaN).End(0));
        Assert.Equal("the point has no field with a value", writer.LastRejection);
        Assert.Equal("m b=2 0\n", writer.ToString());
    }

    [Fact]
    public void Tags_EmptyOrNullValues_AreOmitted()
    {
        using var writer = new LineProtocolWriter();
        Assert.True(writer.Begin("m").Tag("pod", "").Tag("ns", null).Tag("node", "n").Field("v", 1L).End(0));
        Assert.Equal("m,node=n v=1i 0\n", writer.ToString());
    }

    [Fact]
    public void Measurement_StartingWithHash_IsRejected()
    {
        using var writer = new LineProtocolWriter();
        Assert.False(writer.Begin("#comment").Field("v", 1L).End(0));
        Assert.Equal(0, writer.Length);
    }

    [Theory]
    [InlineData(WritePrecision.Nanoseconds, 1_500_000_123_456_789L, "1500000123456789")]
    [InlineData(WritePrecision.Microseconds, 1_500_000_123_456_789L, "1500000123456")]
    [InlineData(WritePrecision.Milliseconds, 1_500_000_123_456_789L, "1500000123")]
    [InlineData(WritePrecision.Seconds, 1_500_000_123_456_789L, "1500000")]
    [InlineData(WritePrecision.Seconds, -1L, "-1")]
    public void Timestamp_IsConvertedToThePrecision(WritePrecision precision, long nanoseconds, string expected)
    {
        using var writer = new LineProtocolWriter(precision);
        writer.Begin("m").Field("v", 1L).End(nanoseconds);
        Assert.Equal($"m v=1i {expected}\n", writer.ToString());
    }

    [Fact]
    public void Floats_RoundTripExactly()
    {
        double[] values = [0.1, 1e-300, 1.7976931348623157e308, -2.5e-7, 123456789.123456789, 5e-324];
        using var writer = new LineProtocolWriter();
        foreach (double v in values)
        {
            writer.Begin("m").Field("v", v).End(0);
        }

        var points = new List<ParsedPoint>();
        var errors = new List<LineError>();
        LineProtocolParser.Parse(writer.WrittenSpan, WritePrecision.Nanoseconds, 0, points, errors);
        Assert.Empty(errors);
        Assert.Equal(values, points.Select(p => p.GetField("v")!.Value.Float));
    }

    [Fact]
    public void Buffer_GrowsPastItsInitialCapacity_WithoutLosingLines()
    {
        using var writer = new LineProtocolWriter(initialCapacity: 256);
        for (int i = 0; i < 10_000; i++)
        {
            writer.Begin("gpu").Tag("uuid", "GPU-" + i).Field("power_watts", i * 1.5).End(i);
        }

        var points = new List<ParsedPoint>();
        var errors = new List<LineError>();
        LineProtocolParser.Parse(writer.WrittenSpan, WritePrecision.Nanoseconds, 0, points, errors);
        Assert.Empty(errors);
        Assert.Equal(10_000, points.Count);
        Assert.Equal("GPU-9999", points[^1].GetTag("uuid"));
        Assert.Equal(9999 * 1.5, points[^1].GetField("power_watts")!.Value.Float);
    }

    [Fact]
    public void WriterAndParser_RoundTripEveryEscapingRule()
    {
        string[] nasty = ["plain", "a b", "a,b", "a=b", "x\\y", "quote\"d", "ünï", "a' OR 1=1 --", "\"x\";DROP", "tab\there", "= , ="];
        using var writer = new LineProtocolWriter();
        int ts = 0;
        foreach (string text in nasty)
        {
            Assert.True(writer.Begin("m " + text).Tag("k " + text, text).Field("f " + text, text + "\n\\\"").End(ts++), writer.LastRejection);
        }

        var points = new List<ParsedPoint>();
        var errors = new List<LineError>();
        LineProtocolParser.Parse(writer.WrittenSpan, WritePrecision.Nanoseconds, 0, points, errors);
        Assert.Empty(errors);
        for (int i = 0; i < nasty.Length; i++)
        {
            Assert.Equal("m " + nasty[i], points[i].Measurement);
            Assert.Equal(nasty[i], points[i].GetTag("k " + nasty[i]));
            Assert.Equal(nasty[i] + "\n\\\"", points[i].GetField("f " + nasty[i])!.Value.String);
        }
    }
}
