using System.Net;
using System.Text;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Tests.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.LineProtocol;

public sealed class LineProtocolValidationTests
{
    private static (List<ParsedPoint> Points, List<LineError> Errors) Parse(string text)
    {
        var points = new List<ParsedPoint>();
        var errors = new List<LineError>();
        LineProtocolParser.Parse(Encoding.UTF8.GetBytes(text), WritePrecision.Nanoseconds, 42, points, errors);
        return (points, errors);
    }

    private static List<LineError> ScanErrors(string text)
    {
        var errors = new List<LineError>();
        LineProtocolParser.Scan(Encoding.UTF8.GetBytes(text), WritePrecision.Nanoseconds, 42, _ => false, _ => { }, errors);
        return errors;
    }

    [Theory]
    [MemberData(nameof(InfluxDbLineCases.Refused), MemberType = typeof(InfluxDbLineCases))]
    public void ParseAndScan_WhatInfluxDbRefuses_IsRefusedWithTheReason(string line, string reason)
    {
        // The bad line between two good ones: line 2 is named, lines 1 and 3 are read.
        var (points, errors) = Parse($"ok v=1 1\n{line}\nok v=3 3\n");
        Assert.Equal([1L, 3L], points.Select(p => p.TimestampNanoseconds));
        LineError error = Assert.Single(errors);
        Assert.Equal(2, error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);

        LineError scanned = Assert.Single(ScanErrors($"ok v=1 1\n{line}\nok v=3 3\n"));
        Assert.Equal((2, error.Reason), (scanned.Line, scanned.Reason));
    }

    [Theory]
    [MemberData(nameof(InfluxDbLineCases.Accepted), MemberType = typeof(InfluxDbLineCases))]
    public void Parse_WhatInfluxDbAccepts_IsRead(string line)
    {
        var (points, errors) = Parse(line);
        Assert.Empty(errors);
        Assert.Single(points);
    }

    [Fact]
    public void Parse_DuplicateFieldKeys_AreRefused_ThoughInfluxDbKeepsTheLast()
    {
        // influxd 1.6.7 answers 204 to "m f=1,f=2" and stores f=2; ingest refuses the ambiguity rather than pick one.
        var (points, errors) = Parse("m f=1,g=2,f=3 1");
        Assert.Empty(points);
        Assert.Equal("duplicate fields: the field 'f' appears more than once", Assert.Single(errors).Reason);
    }

    [Fact]
    public void Parse_ManyKeys_DuplicateFoundBeyondThePairwiseCheck()
    {
        // 40 distinct tags and fields are read; the same with tag t7 and field f31 repeated at the end are refused.
        string tags = string.Concat(Enumerable.Range(0, 40).Select(i => $",t{i}=v"));
        string fields = string.Join(',', Enumerable.Range(0, 40).Select(i => $"f{i}=1"));
        var (points, errors) = Parse($"m{tags} {fields} 1\nm{tags},t7=w {fields} 2\nm{tags} {fields},f31=2 3\n");
        Assert.Equal(40, Assert.Single(points).Tags.Count);
        Assert.Equal(["duplicate tags: the tag 't7' appears more than once", "duplicate fields: the field 'f31' appears more than once"], errors.Select(e => e.Reason));
    }

    [Fact]
    public void Parse_KeyLength_IsInfluxDbs65535BytesOfSeriesKeyPlusFieldKey()
    {
        // InfluxDB keys a value by series key + "#!~#" + field key. A measurement of 65,530 bytes with field "f":
        // 65,530 + 4 + 1 = 65,535, the limit, read. One byte more: 65,536 > 65,535, refused (influxd: "max key length
        // exceeded: 65536 > 65535"; it answered 65538 for a 65,533-byte measurement, 65,533 + 4 + 1).
        var (points, errors) = Parse($"{new string('m', 65_530)} f=1 1\n{new string('m', 65_531)} f=1 2\n");
        Assert.Single(points);
        Assert.Equal("max key length exceeded: 65536 > 65535", Assert.Single(errors).Reason);

        // A 70,000-byte field key: 1 + 4 + 70,000 = 70,005. A series key over the limit on its own: "m" and two
        // 40,000-byte tag values, 1 + (",a=" + 40,000) + (",b=" + 40,000) = 80,007.
        (_, errors) = Parse($"m {new string('f', 70_000)}=1 1\nm,a={new string('a', 40_000)},b={new string('b', 40_000)} f=1 2\n");
        Assert.Equal(["max key length exceeded: 70005 > 65535", "max key length exceeded: 80007 > 65535"], errors.Select(e => e.Reason));
    }

    [Fact]
    public void Parse_UnsignedField_IsAnIntegerMarkedForRewrite()
    {
        // InfluxDB 1.6 refuses 5u ("invalid number"); the value fits a 64-bit integer, so ingest rewrites it as 5i.
        byte[] line = "m u=5u,v=1i 1"u8.ToArray();
        var summaries = new List<LineSummary>();
        LineProtocolParser.Scan(line, WritePrecision.Nanoseconds, 0, s => { summaries.Add(s); return false; }, _ => { }, []);
        Assert.True(Assert.Single(summaries).HasUnsigned);
        var (points, _) = Parse("m u=5u 1");
        Assert.Equal(FieldValue.FromInteger(5), points[0].GetField("u"));
    }

    [Fact]
    public void EnumerateFields_ReadsEachKeyAndType_ThroughEscapesAndQuotes()
    {
        byte[] line = "m,t=a s=\"x,y=\\\"z\\\" w\",i=-3i,b=T,f=1.5e3,k\\,\\ \\=ey=2u 7"u8.ToArray();
        LineSummary summary = default;
        LineProtocolParser.Scan(line, WritePrecision.Nanoseconds, 0, s => { summary = s; return false; }, _ => { }, []);
        var read = new List<(string, FieldKind)>();
        foreach (FieldKey field in LineProtocolParser.EnumerateFields(line.AsSpan(summary.FieldsOffset, summary.FieldsLength)))
        {
            read.Add((Encoding.UTF8.GetString(field.RawKey), field.Kind));
        }

        Assert.Equal([("s", FieldKind.String), ("i", FieldKind.Integer), ("b", FieldKind.Boolean), ("f", FieldKind.Float), ("k\\,\\ \\=ey", FieldKind.Integer)], read);
    }
}

/// <summary>The same lines sent to a real influxd 1.6.7: it refuses the refused ones and stores the accepted ones.</summary>
[Collection(InfluxDbCollection.Name)]
public sealed class InfluxDbLineAgreementTests(InfluxDbFixture influx)
{
    private async Task<HttpStatusCode> WriteAsync(string database, string body)
    {
        using var http = new HttpClient { BaseAddress = influx.Server.Url };
        using HttpResponseMessage response = await http.PostAsync($"write?db={database}", new ByteArrayContent(Encoding.UTF8.GetBytes(body)));
        return response.StatusCode;
    }

    [Fact]
    public async Task InfluxDb_RefusesEveryRefusedLine_AndStoresEveryAcceptedOne()
    {
        string db = "agree_" + Guid.NewGuid().ToString("N")[..8];
        await influx.Server.QueryAsync($"CREATE DATABASE {db}");
        // f is a float in m before the cases run, as in the probe.
        Assert.Equal(HttpStatusCode.NoContent, await WriteAsync(db, "m f=0.5 1"));
        foreach (string line in InfluxDbLineCases.Refused.Select(row => (string)row[0]))
        {
            Assert.True(await WriteAsync(db, line) == HttpStatusCode.BadRequest, $"influxd accepted '{line}'");
        }

        foreach (string line in InfluxDbLineCases.AcceptedLines)
        {
            Assert.True(await WriteAsync(db, line) == HttpStatusCode.NoContent, $"influxd refused '{line}'");
        }

        Assert.Equal(HttpStatusCode.BadRequest, await WriteAsync(db, $"{new string('m', 65_531)} f=1 2"));
        Assert.Equal(HttpStatusCode.NoContent, await WriteAsync(db, $"{new string('n', 65_530)} f=1 2"));
        Assert.Equal(HttpStatusCode.BadRequest, await WriteAsync(db, "m u=5u"));
    }

    [Fact]
    public async Task InfluxDb_FieldTypeConflict_WithinOneBodyAndAcrossBodies_IsRefused()
    {
        string db = "types_" + Guid.NewGuid().ToString("N")[..8];
        await influx.Server.QueryAsync($"CREATE DATABASE {db}");
        Assert.Equal(HttpStatusCode.BadRequest, await WriteAsync(db, "c f=1i 1\nc f=1.5 2\n"));
        Assert.Equal(HttpStatusCode.BadRequest, await WriteAsync(db, "c f=\"s\" 3\n"));
    }
}
