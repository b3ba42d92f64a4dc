using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Ingest;

public sealed class LineProtocolIngestTests
{
    private static long NowSeconds => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static HttpRequestMessage Write(string path, string body, string? token = CollectorHost.AdminToken, string scheme = "Bearer", string contentType = "text/plain; charset=utf-8")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null)
        {
            request.Headers.Authorization = scheme == "Basic"
                ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("telegraf:" + token)))
                : new AuthenticationHeaderValue(scheme, token);
        }

        return request;
    }

    private static TimeSeriesQuery CountOf(string measurement, string field, params string[] groupBy) =>
        TimeSeriesQueryBuilder.From(measurement).Count(field, "n").Sum(field, "s")
            .Between(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1)).GroupBy(groupBy).Build();

    [Fact]
    public async Task TelegrafV1_BasicAuth_NvidiaSmiBecomesGpuSamples_OtherMeasurementsPassThrough()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        string body =
            $"nvidia_smi,host=gpu-node-1,index=0,name=NVIDIA\\ H100\\ 80GB\\ HBM3,pstate=P0,uuid=GPU-aaa utilization_gpu=87i,power_draw=612.5,memory_used=74213i,memory_total=81559i,temperature_gpu=71i {t}\n" +
            $"nvidia_smi,host=gpu-node-1,index=1,name=NVIDIA\\ H100\\ 80GB\\ HBM3,pstate=P8,uuid=GPU-bbb utilization_gpu=0i,power_draw=70.1,memory_used=0i,memory_total=81559i,temperature_gpu=31i {t}\n" +
            $"cpu,host=gpu-node-1,cpu=cpu-total usage_idle=97.5 {t}\n";
        HttpResponseMessage response = await host.Client.SendAsync(Write("/write?db=telegraf&precision=s", body, scheme: "Basic"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        QueryResult gpus = await host.WaitForAsync(CountOf(Measurements.GpuSample, Fields.PowerWatts, Tags.GpuUuid), r => r.Series.Count == 2);
        Assert.Equal(612.5, gpus.Find((Tags.GpuUuid, "GPU-aaa"))!.Rows[0][1].Number);
        QueryResult memory = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample).Field(Fields.MemoryUsedBytes).Field(Fields.UtilizationPercent)
            .Between(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1)).WhereTag(Tags.GpuUuid, "GPU-aaa").GroupBy(Tags.Node, Tags.GpuModel).Build());
        Assert.Equal(74213L * 1024 * 1024, memory.Series[0].Rows[0][0].Integer);
        Assert.Equal(87, memory.Series[0].Rows[0][1].Number);
        Assert.Equal("gpu-node-1", memory.Series[0].Tags[Tags.Node]);
        Assert.Equal("H100", memory.Series[0].Tags[Tags.GpuModel]);

        QueryResult cpu = await host.WaitForAsync(CountOf("cpu", "usage_idle", "cpu"), r => r.Series.Count == 1);
        Assert.Equal("cpu-total", cpu.Series[0].Tags["cpu"]);
    }

    [Fact]
    public async Task V2_TokenAndGzip_TenantTokenOverridesTheTenantTag()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long ns = NowSeconds * 1_000_000_000;
        string body = $"usage,tenant=evil,model=llama tokens=10i {ns}\nusage,model=llama tokens=5i {ns + 1}\n";
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(body));
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v2/write?org=x&bucket=y&precision=ns") { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; charset=utf-8");
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = new AuthenticationHeaderValue("Token", CollectorHost.TenantToken);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(request)).StatusCode);

        QueryResult r = await host.WaitForAsync(CountOf("usage", "tokens", Tags.Tenant), x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Integer == 2);
        ResultSeries only = Assert.Single(r.Series);
        Assert.Equal("acme", only.Tags[Tags.Tenant]);
        Assert.Equal(15, only.Rows[0][1].Number);
    }

    [Theory]
    [InlineData(null, "Bearer")]
    [InlineData("wrong-token", "Bearer")]
    [InlineData("wrong-token", "Basic")]
    [InlineData("", "Token")]
    public async Task MissingOrUnknownToken_Is401(string? token, string scheme)
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        HttpResponseMessage response = await host.Client.SendAsync(Write("/write", $"m v=1 {NowSeconds}", token, scheme));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("authorization", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryParameterPassword_IsAccepted_AndAnonymousLoopbackOnlyWhenEnabled()
    {
        await using (CollectorHost host = await CollectorHost.StartAsync())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write($"/write?u=x&p={CollectorHost.AdminToken}&precision=s", $"m v=1 {NowSeconds}", token: null))).StatusCode);
        }

        await using CollectorHost open = await CollectorHost.StartAsync("--Collector:Auth:AllowAnonymousLoopback", "true");
        Assert.Equal(HttpStatusCode.NoContent, (await open.Client.SendAsync(Write("/write?precision=s", $"m v=1 {NowSeconds}", token: null))).StatusCode);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/x-protobuf")]
    public async Task WrongContentType_Is415(string contentType)
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.Client.SendAsync(Write("/write", $"m v=1 {NowSeconds}", contentType: contentType))).StatusCode);
    }

    [Fact]
    public async Task UnknownContentEncoding_Is415()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        HttpRequestMessage request = Write("/write", $"m v=1 {NowSeconds}");
        request.Content!.Headers.ContentEncoding.Add("br");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.Client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task BodyOverTheLimit_Is413_PlainOrGzipBomb()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Limits:MaxBodyBytes", "4096");
        string big = string.Concat(Enumerable.Range(0, 200).Select(i => $"m,i={i} v=1 {NowSeconds}\n"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await host.Client.SendAsync(Write("/write?precision=s", big))).StatusCode);

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[1_000_000]);
        }

        Assert.True(compressed.Length < 4096);
        var bomb = new HttpRequestMessage(HttpMethod.Post, "/write") { Content = new ByteArrayContent(compressed.ToArray()) };
        bomb.Content.Headers.ContentEncoding.Add("gzip");
        bomb.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await host.Client.SendAsync(bomb)).StatusCode);
    }

    [Fact]
    public async Task BadLines_PartialWrite_NamesEachLine_KeepsTheGoodOnes()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Limits:MaxTagValueLength", "16");
        long t = NowSeconds;
        string body =
            $"good v=1 {t}\n" +
            $"good v=oops {t}\n" +                                // line 2: bad number
            $"good,t= v=1 {t}\n" +                                 // line 3: empty tag value
            $"good v=2 {t + 86_400}\n" +                           // a day in the future
            $"good,t={new string('x', 40)} v=3 {t}\n" +            // tag value over the limit
            $"good,t=ok v=4 {t}\n";
        HttpResponseMessage response = await host.Client.SendAsync(Write("/write?precision=s", body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(4, json.RootElement.GetProperty("rejected").GetInt32());
        string error = json.RootElement.GetProperty("error").GetString()!;
        Assert.StartsWith("partial write:", error, StringComparison.Ordinal);
        Assert.Contains("line 2:", error, StringComparison.Ordinal);
        Assert.Contains("line 3:", error, StringComparison.Ordinal);
        Assert.Contains("ahead of the collector's clock", error, StringComparison.Ordinal);
        Assert.Contains("more than the limit of 16", error, StringComparison.Ordinal);
        Assert.EndsWith("dropped=4", error, StringComparison.Ordinal);
        JsonElement[] errors = json.RootElement.GetProperty("errors").EnumerateArray().ToArray();
        // Parse errors first (lines 2, 3), then the lines the limits refused (4, 5).
        Assert.Equal([2, 3, 4, 5], errors.Where(e => e.TryGetProperty("line", out _)).Select(e => e.GetProperty("line").GetInt32()));

        QueryResult r = await host.WaitForAsync(CountOf("good", "v"), x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Integer == 2);
        Assert.Equal(5, r.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task SeriesCardinalityLimit_RefusesNewSeriesOnly()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Limits:MaxSeriesPerMeasurement", "5");
        long t = NowSeconds;
        string first = string.Concat(Enumerable.Range(0, 5).Select(i => $"card,id={i} v=1 {t}\n"));
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", first))).StatusCode);
        string more = string.Concat(Enumerable.Range(0, 10).Select(i => $"card,id={i} v=2 {t + 1}\n"));
        HttpResponseMessage response = await host.Client.SendAsync(Write("/write?precision=s", more));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains("label-cardinality limit", text, StringComparison.Ordinal);
        using JsonDocument json = JsonDocument.Parse(text);
        Assert.Equal(5, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(5, json.RootElement.GetProperty("rejected").GetInt32());
    }

    [Fact]
    public async Task SpoolFull_Is429WithRetryAfter_AndNothingIsTaken()
    {
        // The store is an InfluxDB that does not exist, so nothing drains from a 1 MiB spool.
        await using CollectorHost host = await CollectorHost.StartAsync(
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ObservaCost.Testing.InfluxDbServer.FreePort()}/"),
            "--Collector:Spool:MaxBytes", "1048576",
            "--Collector:Spool:SegmentBytes", "262144",
            "--Collector:Spool:RetryAfter", "00:00:07");
        long t = NowSeconds;
        string batch = string.Concat(Enumerable.Range(0, 2000).Select(i => $"spool,gpu={i % 8} v={i} {t}\n"));
        HttpStatusCode last = HttpStatusCode.NoContent;
        int accepted = 0;
        for (int i = 0; i < 40 && last == HttpStatusCode.NoContent; i++)
        {
            HttpResponseMessage response = await host.Client.SendAsync(Write("/write?precision=s", batch));
            last = response.StatusCode;
            if (last == HttpStatusCode.NoContent)
            {
                accepted++;
            }
            else
            {
                Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
            }
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        Assert.InRange(accepted, 5, 30);
        HttpResponseMessage ready = await host.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public async Task Metrics_CountReceivedRejectedAndWritten()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        await host.Client.SendAsync(Write("/write?precision=s", $"mm v=1 {t}\nmm v=x {t}\nmm v=3 {t + 1}\n"));
        await host.WaitForAsync(CountOf("mm", "v"), r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 2);
        // The store holds the points a moment before the forwarder counts its batch: wait for the count.
        string metrics = await host.Client.GetStringAsync("/metrics");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!metrics.Contains("observacost_collector_points_written_total 2", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            metrics = await host.Client.GetStringAsync("/metrics");
        }

        Assert.Contains("observacost_collector_points_received_total{source=\"line_protocol\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("observacost_collector_points_rejected_total{source=\"line_protocol\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("observacost_collector_points_written_total 2", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE observacost_collector_spool_size_bytes gauge", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidBodies_AsSentOrWithComments_OrWithoutTimestamps_AreAllStoredOnce()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        // All lines valid and timestamped: the body goes to the spool as it came.
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", $"asis,k=a v=1 {t}\nasis,k=b v=2 {t}\n"))).StatusCode);
        // A comment and a blank line: only the points are kept.
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write?precision=s", $"# from a file\n\nasis,k=c v=4 {t}\n"))).StatusCode);
        // No timestamps: the collector stamps its own time, as InfluxDB would.
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Write("/write", "asis,k=d v=8\nasis,k=e v=16\n"))).StatusCode);

        QueryResult r = await host.WaitForAsync(CountOf("asis", "v"), x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Integer == 5);
        Assert.Equal(31, r.Series[0].Rows[0][1].Number);
    }
}
