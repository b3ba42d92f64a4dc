using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Ingest;

/// <summary>
/// What a store would refuse after the answer is refused in the answer instead (400 partial write naming each line
/// and its reason), with the good lines beside it stored: on the embedded store and on a real influxd.
/// </summary>
public sealed class LineProtocolRefusalTests
{
    private static long NowSeconds => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static HttpRequestMessage Write(string path, byte[] body, string? contentEncoding = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; charset=utf-8");
        if (contentEncoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(contentEncoding);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        return request;
    }

    private static HttpRequestMessage Write(string path, string body) => Write(path, Encoding.UTF8.GetBytes(body));

    private static byte[] Gzip(string text)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return compressed.ToArray();
    }

    private static TimeSeriesQuery Sum(string measurement, string field) =>
        TimeSeriesQueryBuilder.From(measurement).Count(field, "n").Sum(field, "s")
            .Between(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1)).Build();

    private static async Task<(int Accepted, int Rejected, string Error, string[] Errors)> ReadPartialAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string[] errors = json.RootElement.GetProperty("errors").EnumerateArray()
            .Select(e => (e.TryGetProperty("line", out JsonElement line) ? "line " + line.GetInt32().ToString(CultureInfo.InvariantCulture) + ": " : string.Empty) + e.GetProperty("reason").GetString())
            .ToArray();
        return (json.RootElement.GetProperty("accepted").GetInt32(), json.RootElement.GetProperty("rejected").GetInt32(), json.RootElement.GetProperty("error").GetString()!, errors);
    }

    private static async Task<CollectorHost> StartAsync(InfluxDbServer? influx, params string[] extra)
    {
        if (influx is null)
        {
            return await CollectorHost.StartAsync(extra);
        }

        // Created here, not by the forwarder's first write, so that a query before that write finds it.
        await influx.QueryAsync("CREATE DATABASE observacost");
        return await CollectorHost.StartAsync(["--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", influx.Url.ToString(), .. extra]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_LinesAStoreWouldRefuse_Are400PartialWrite_EachNamed_GoodNeighboursStored(bool onInfluxDb)
    {
        await using InfluxDbServer? influx = onInfluxDb ? await InfluxDbServer.StartAsync() : null;
        await using CollectorHost host = await StartAsync(influx);
        long t = NowSeconds;
        string[] bad = InfluxDbLineCases.Refused.Select(row => (string)row[0]).Append("m f=1,f=2").ToArray();
        string[] reasons = InfluxDbLineCases.Refused.Select(row => (string)row[1]).Append("duplicate fields").ToArray();
        // Line 2k+1 is good (good v=k at t+k), line 2k+2 is bad case k.
        var body = new StringBuilder();
        for (int k = 0; k < bad.Length; k++)
        {
            body.Append(CultureInfo.InvariantCulture, $"good,k={k} v={k} {t}\n").Append(bad[k]).Append('\n');
        }

        (int accepted, int rejected, string error, string[] errors) = await ReadPartialAsync(await host.Client.SendAsync(Write("/write?precision=s", body.ToString())));
        Assert.Equal(bad.Length, accepted);
        Assert.Equal(bad.Length, rejected);
        Assert.StartsWith("partial write:", error, StringComparison.Ordinal);
        for (int k = 0; k < bad.Length; k++)
        {
            string expectedLine = string.Create(CultureInfo.InvariantCulture, $"line {(2 * k) + 2}: ");
            Assert.Contains(errors, e => e.StartsWith(expectedLine, StringComparison.Ordinal) && e.Contains(reasons[k], StringComparison.Ordinal));
        }

        // The good values: 0 + 1 + ... + (n - 1) = n(n - 1)/2 over n points, n = the number of bad cases (26).
        int n = bad.Length;
        QueryResult stored = await host.WaitForAsync(Sum("good", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == n);
        Assert.Equal(n * (n - 1) / 2, stored.Series[0].Rows[0][1].Number);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_FieldTypeConflict_WithinOneBodyAndAcrossBodies_IsRefusedWithInfluxDbsWords(bool onInfluxDb)
    {
        await using InfluxDbServer? influx = onInfluxDb ? await InfluxDbServer.StartAsync() : null;
        await using CollectorHost host = await StartAsync(influx);
        long t = NowSeconds;
        // Within one body: v is an integer from line 1, so line 2's float is refused and line 3's integer kept.
        (int accepted, int rejected, _, string[] errors) = await ReadPartialAsync(await host.Client.SendAsync(
            Write("/write?precision=s", $"typed,k=a v=1i {t}\ntyped,k=b v=2.5 {t}\ntyped,k=c v=4i {t}\n")));
        Assert.Equal((2, 1), (accepted, rejected));
        Assert.Equal("line 2: point 2 of measurement 'typed': field type conflict: input field \"v\" on measurement \"typed\" is type float, already exists as type integer", Assert.Single(errors));

        // Across bodies: the next body's string and boolean are refused, its integer kept.
        (accepted, rejected, _, errors) = await ReadPartialAsync(await host.Client.SendAsync(
            Write("/write?precision=s", $"typed,k=d v=\"x\" {t}\ntyped,k=e v=true {t}\ntyped,k=f v=8i {t}\n")));
        Assert.Equal((1, 2), (accepted, rejected));
        Assert.Contains("is type string, already exists as type integer", errors[0], StringComparison.Ordinal);
        Assert.Contains("is type boolean, already exists as type integer", errors[1], StringComparison.Ordinal);

        // Stored: 1 + 4 + 8 = 13 over 3 points.
        QueryResult stored = await host.WaitForAsync(Sum("typed", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 3);
        Assert.Equal(13, stored.Series[0].Rows[0][1].Number);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_InvalidUtf8Line_IsRefusedByLine_GoodNeighboursStored(bool onInfluxDb)
    {
        await using InfluxDbServer? influx = onInfluxDb ? await InfluxDbServer.StartAsync() : null;
        await using CollectorHost host = await StartAsync(influx);
        long t = NowSeconds;
        // Line 2's tag value holds 0xFF (never valid in UTF-8) and line 3's a lone continuation byte 0x80: both
        // refused; lines 1 and 4 (v = 3 and v = 4) stored: count 2, sum 7.
        byte[] body = [
            .. Encoding.UTF8.GetBytes($"text,k=a v=3 {t}\ntext,k=b"), 0xFF, .. Encoding.UTF8.GetBytes($" v=100 {t}\ntext,k=c"),
            0x80, .. Encoding.UTF8.GetBytes($" v=200 {t}\ntext,k=d v=4 {t}\n"),
        ];
        (int accepted, int rejected, _, string[] errors) = await ReadPartialAsync(await host.Client.SendAsync(Write("/write?precision=s", body)));
        Assert.Equal((2, 2), (accepted, rejected));
        Assert.StartsWith("line 2: ", errors[0], StringComparison.Ordinal);
        Assert.EndsWith("the line is not valid UTF-8", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("line 3: ", errors[1], StringComparison.Ordinal);
        QueryResult stored = await host.WaitForAsync(Sum("text", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(7, stored.Series[0].Rows[0][1].Number);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Write_UnsignedField_IsStoredAsAnInteger_OnInfluxDb16WhichRefusesU()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        await using CollectorHost host = await StartAsync(influx);
        long t = NowSeconds;
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", $"unsigned v=5u {t}\nunsigned v=7u {t + 1}\n"))).StatusCode);
        QueryResult stored = await host.WaitForAsync(Sum("unsigned", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(12, stored.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task Write_MeasurementLimit_RefusesNewMeasurementsBeyondIt_OldOnesFlow()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Limits:MaxMeasurements", "3");
        long t = NowSeconds;
        // 10 measurement names in one body: the first 3 are kept, the 7 others refused; a known one still flows.
        string body = string.Concat(Enumerable.Range(0, 10).Select(i => $"name{i} v=1 {t}\n")) + $"name1 v=2 {t + 1}\n";
        (int accepted, int rejected, string error, _) = await ReadPartialAsync(await host.Client.SendAsync(Write("/write?precision=s", body)));
        Assert.Equal((4, 7), (accepted, rejected));
        Assert.Contains("point 4 of measurement 'name3': measurement 'name3' would be one more than the limit of 3 measurements (Collector:Limits:MaxMeasurements)", error, StringComparison.Ordinal);
        QueryResult stored = await host.WaitForAsync(Sum("name1", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(3, stored.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task MaxMeasurements_OutOfRange_FailsAtStartNamingTheKey()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => CollectorHost.StartAsync("--Collector:Limits:MaxMeasurements", "0"));
        Assert.Contains("Collector:Limits:MaxMeasurements", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8)]   // the whole trailer is missing
    [InlineData(3)]   // part of the trailer is missing
    [InlineData(20)]  // the body stops inside the compressed data
    public async Task Write_TruncatedGzip_Is400_AndNothingIsStored(int cut)
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        byte[] whole = Gzip($"cut,k=a g=654321 {t}\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"cut,k={i} g={i} {t}\n")));
        HttpResponseMessage response = await host.Client.SendAsync(Write("/write?precision=s", whole[..^cut], "gzip"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("gzip body is truncated or corrupt", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The whole body afterwards is stored, and only it: 51 points.
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", whole, "gzip"))).StatusCode);
        QueryResult stored = await host.WaitForAsync(Sum("cut", "g"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 51);
        // 654,321 + (0 + 1 + ... + 49 = 1,225) = 655,546.
        Assert.Equal(655_546, stored.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task Write_ConcatenatedGzipMembers_AreReadWhole()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        byte[] body = [.. Gzip($"multi v=1 {t}\n"), .. Gzip($"multi v=2 {t + 1}\n")];
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", body, "gzip"))).StatusCode);
        QueryResult stored = await host.WaitForAsync(Sum("multi", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(3, stored.Series[0].Rows[0][1].Number);
    }

    /// <summary>Sends a request with <c>Transfer-Encoding: {coding}, chunked</c> over a raw socket; returns the status.</summary>
    private static async Task<int> SendChunkedAsync(int port, string coding, byte[] payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using NetworkStream stream = client.GetStream();
        string head = $"POST /write?precision=s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CollectorHost.AdminToken}\r\nContent-Type: text/plain\r\nTransfer-Encoding: {coding}, chunked\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(Encoding.ASCII.GetBytes(payload.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
        await stream.WriteAsync(payload);
        await stream.WriteAsync("\r\n0\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string status = (await reader.ReadLineAsync())!;
        return int.Parse(status.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Write_TransferEncodingGzipChunked_IsDecodedAsGzip_OtherCodingsAre415()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        Assert.Equal(204, await SendChunkedAsync(host.Port, "gzip", Gzip($"te v=5 {t}\nte v=6 {t + 1}\n")));
        QueryResult stored = await host.WaitForAsync(Sum("te", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(11, stored.Series[0].Rows[0][1].Number);

        Assert.Equal(415, await SendChunkedAsync(host.Port, "deflate", Encoding.UTF8.GetBytes($"te v=7 {t}\n")));
        // A gzip body cut short is refused however it is framed.
        byte[] cut = Gzip($"te v=654321 {t + 2}\n")[..^8];
        Assert.Equal(400, await SendChunkedAsync(host.Port, "gzip", cut));
    }
}
