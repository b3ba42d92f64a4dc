using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Otlp;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Otlp;

/// <summary>
/// OTLP bodies that are not valid requests answer 400 with the reason, never 200 or 500; a good request sent after
/// each is stored, and <c>/healthz</c> stays green. A body is refused whole: a malformed message cannot be trusted in
/// part.
/// </summary>
public sealed class OtlpBodyRefusalTests
{
    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>A length-delimited field: tag (field, wire type 2), length, content.</summary>
    private static byte[] Len(int field, params byte[][] content)
    {
        byte[] body = [.. content.SelectMany(c => c)];
        return [.. Varint(((ulong)field << 3) | 2), .. Varint((ulong)body.Length), .. body];
    }

    private static byte[] Str(int field, string text) => Len(field, Encoding.UTF8.GetBytes(text));

    private static byte[] Fixed64(int field, ulong value) => [.. Varint(((ulong)field << 3) | 1), .. BitConverter.GetBytes(value)];

    /// <summary>AnyValue { kvlist_value = KeyValueList { values = KeyValue { key, value = (nested) } } }, <paramref name="depth"/> levels.</summary>
    private static byte[] NestedAnyValue(int depth) =>
        depth == 0 ? Str(1, "leaf") : Len(6, Len(1, Str(1, "k"), Len(2, NestedAnyValue(depth - 1))));

    /// <summary>A request with one hw.power gauge point of <paramref name="watts"/> for GPU <paramref name="id"/>, resource attributes as given.</summary>
    private static byte[] Request(string id, double watts, params byte[][] resourceAttributes)
    {
        byte[] point = [.. Len(7, Str(1, "hw.id"), Len(2, Str(1, id))), .. Len(7, Str(1, "hw.type"), Len(2, Str(1, "gpu"))),
            .. Fixed64(3, (ulong)TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000), .. Fixed64(4, (ulong)BitConverter.DoubleToInt64Bits(watts))];
        byte[] metric = [.. Str(1, "hw.power"), .. Str(3, "W"), .. Len(5, Len(1, point))];
        byte[] resource = Len(1, [.. Len(1, Str(1, "host.name"), Len(2, Str(1, "otlp-node"))), .. resourceAttributes.SelectMany(a => a)]);
        return Len(1, resource, Len(2, Len(2, metric)));
    }

    private static HttpRequestMessage Post(byte[] body, string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/metrics") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        return request;
    }

    public static TheoryData<string, byte[], string> BadProtobuf => new()
    {
        // The length of field 1 as a 10-byte varint whose last byte (bits 63+) is 2: more than 64 bits.
        { "varint overflow", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], "varint overflows 64 bits" },
        { "varint of 11 bytes", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x01], "varint overflows 64 bits" },
        // Tag 2^29 << 3 = 2^32: field number 2^29, one past the largest.
        { "field number 2^29", [.. Varint(1UL << 32), 0x00], "protobuf field number 536870912 in ExportMetricsServiceRequest is out of range (1 to 536870911)" },
        { "field number 0", [0x02, 0x00], "protobuf field number 0 in ExportMetricsServiceRequest is out of range (1 to 536870911)" },
        { "wrong wire type", [0x08, 0x01], "field 1 of ExportMetricsServiceRequest has wire type 0, not 2" },
        { "wrong wire type deeper", Len(1, Len(2, Len(2, [0x08, 0x01]))), "field 1 of Metric has wire type 0, not 2" },
        { "truncated field", [0x0A, 0x05, 0x01], "length-delimited field runs past the end of its message" },
        // A length of -1, as a 10-byte varint: read unsigned, it runs past the end.
        { "negative length", [0x0A, .. Varint(ulong.MaxValue)], "length-delimited field runs past the end of its message" },
        { "invalid UTF-8", Len(1, Len(2, Len(2, Len(1, [0xFF])))), "a string field is not valid UTF-8" },
        // Field 2 (unknown to the request) as a group: wire type 3.
        { "group wire type", [0x13], "unsupported protobuf wire type 3" },
        { "deep nesting", Len(1, Len(1, Len(1, Str(1, "deep"), Len(2, NestedAnyValue(20))))), "attribute values nest more than 16 levels deep" },
    };

    public static TheoryData<string, string, string> BadJson => new()
    {
        { "resourceMetrics not an array", """{"resourceMetrics":"nope"}""", "'resourceMetrics' must be an array, not String" },
        { "scopeMetrics not an array", """{"resourceMetrics":[{"scopeMetrics":{}}]}""", "'scopeMetrics' must be an array, not Object" },
        { "dataPoints not an array", """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"hw.power","gauge":{"dataPoints":7}}]}]}]}""", "'dataPoints' must be an array, not Number" },
        { "root not an object", "[]", "the body must be a JSON object (ExportMetricsServiceRequest)" },
        { "duplicate property", """{"resourceMetrics":[],"resourceMetrics":[]}""", "Duplicate" },
        { "lone surrogate", """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"\ud800"}]}]}]}""", "surrogate" },
        { "deep nesting", new string('[', 40) + new string(']', 40), "depth" },
    };

    private static async Task AssertGoodRequestStoredAsync(CollectorHost host, string id, double watts)
    {
        HttpResponseMessage ok = await host.Client.SendAsync(Post(Request(id, watts), "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        QueryResult r = await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Last(Fields.PowerWatts, "w")
                .Between(TimeProvider.System.GetUtcNow().AddHours(-1), TimeProvider.System.GetUtcNow().AddHours(1)).GroupBy(Tags.GpuUuid).Build(),
            x => x.Find((Tags.GpuUuid, id)) is not null);
        Assert.Equal(watts, r.Find((Tags.GpuUuid, id))!.Rows[0][0].Number);
        Assert.True((await host.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    [Fact]
    public void ProtobufReader_GoodRequest_IsRead()
    {
        OtlpExport export = OtlpProtobufReader.Read(Request("GPU-x", 612.5, Len(1, Str(1, "nested"), Len(2, NestedAnyValue(5)))));

        OtlpDataPoint point = Assert.Single(export.Points);
        Assert.Equal(("hw.power", 612.5, "GPU-x"), (point.MetricName, point.Value, point.Attributes["hw.id"]));
        Assert.Equal("otlp-node", point.ResourceAttributes["host.name"]);
        Assert.False(point.ResourceAttributes.ContainsKey("nested"));
    }

    [Theory]
    [MemberData(nameof(BadProtobuf))]
    public void ProtobufReader_MalformedBody_IsRefusedWithItsReason(string name, byte[] body, string reason)
    {
        InvalidDataException ex = Assert.Throws<InvalidDataException>(() => OtlpProtobufReader.Read(body));
        Assert.True(ex.Message == reason, $"{name}: {ex.Message}");
    }

    [Fact]
    public async Task Ingest_EveryMalformedProtobufAndJsonBody_Answers400WithTheReason_GoodRequestsStillStored()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        int bad = 0;
        foreach (object[] row in BadProtobuf)
        {
            HttpResponseMessage response = await host.Client.SendAsync(Post((byte[])row[1], "application/x-protobuf"));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{row[0]}: {response.StatusCode}");
            Assert.Equal("the OTLP body cannot be read: " + (string)row[2], ErrorOf(await response.Content.ReadAsStringAsync()));
            bad++;
        }

        foreach (object[] row in BadJson)
        {
            HttpResponseMessage response = await host.Client.SendAsync(Post(Encoding.UTF8.GetBytes((string)row[1]), "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{row[0]}: {response.StatusCode}");
            Assert.Contains((string)row[2], ErrorOf(await response.Content.ReadAsStringAsync()), StringComparison.OrdinalIgnoreCase);
            bad++;
        }

        // 11 protobuf and 7 JSON bodies, each counted once under its reason.
        Assert.Equal(18, bad);
        Assert.Equal(18, CollectorTotals.Of(host.Services).RejectedTotal(OtlpMetricsIngest.Source, "unreadable_body"));
        await AssertGoodRequestStoredAsync(host, "GPU-after", 300.25);
    }

    [Fact]
    public async Task Ingest_EmptyJsonObject_IsAnEmptyExport()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();

        HttpResponseMessage response = await host.Client.SendAsync(Post("{}"u8.ToArray(), "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
    }

    private static string ErrorOf(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("error").GetString()!;
    }
}
