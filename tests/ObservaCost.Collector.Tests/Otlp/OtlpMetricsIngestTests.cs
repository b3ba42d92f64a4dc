using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace ObservaCost.Collector.Tests.Otlp;

public sealed class OtlpMetricsIngestTests
{
    private static TimeSeriesQuery GpuReadings() =>
        TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Last(Fields.UtilizationPercent, "util").Last(Fields.PowerWatts, "watts").Last(Fields.EnergyJoules, "joules").Last(Fields.MemoryUsedBytes, "mem").Last(Fields.MemoryTotalBytes, "total")
            .Between(TimeProvider.System.GetUtcNow().AddHours(-1), TimeProvider.System.GetUtcNow().AddHours(1))
            .GroupBy(Tags.GpuUuid, Tags.Node, Tags.GpuModel).Build();

    [Fact]
    public async Task OpenTelemetrySdkOtlpExporter_HardwareGpuMetrics_BecomeGpuSamples()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        using var meter = new Meter("test.hardware");
        KeyValuePair<string, object?>[] Gpu(int i) =>
        [
            new("hw.id", "GPU-" + i.ToString(CultureInfo.InvariantCulture)),
            new("hw.type", "gpu"),
            new("hw.model", "NVIDIA H100 80GB HBM3"),
            new("gpu.index", i.ToString(CultureInfo.InvariantCulture)),
        ];
        meter.CreateObservableGauge("hw.gpu.utilization", () => new[] { new Measurement<double>(0.87, Gpu(0)), new Measurement<double>(0.02, Gpu(1)) }, "1");
        meter.CreateObservableGauge("hw.power", () => new[] { new Measurement<double>(612.5, Gpu(0)), new Measurement<double>(70.25, Gpu(1)) }, "W");
        meter.CreateObservableCounter("hw.energy", () => new[] { new Measurement<double>(1_234_567.5, Gpu(0)), new Measurement<double>(98_765, Gpu(1)) }, "J");
        meter.CreateObservableUpDownCounter("hw.gpu.memory.usage", () => new[] { new Measurement<long>(74L << 30, Gpu(0)), new Measurement<long>(0, Gpu(1)) }, "By");
        meter.CreateObservableUpDownCounter("hw.gpu.memory.limit", () => new[] { new Measurement<long>(80L << 30, Gpu(0)), new Measurement<long>(80L << 30, Gpu(1)) }, "By");
        meter.CreateObservableGauge("process.cpu.utilization", () => 0.5);

        using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("gpu-agent").AddAttributes([new("host.name", "gpu-node-7")]))
            .AddMeter("test.hardware")
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                exporter.Endpoint = new Uri(host.Client.BaseAddress!, "/v1/metrics");
                exporter.Headers = "Authorization=Bearer " + CollectorHost.AdminToken;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000;
            })
            .Build();
        Assert.True(provider.ForceFlush(10_000), "the OTLP exporter should report a successful export");

        QueryResult r = await host.WaitForAsync(GpuReadings(), x => x.Series.Count == 2);
        ResultSeries g0 = r.Find((Tags.GpuUuid, "GPU-0"))!;
        Assert.Equal("gpu-node-7", g0.Tags[Tags.Node]);
        Assert.Equal("H100", g0.Tags[Tags.GpuModel]);
        Assert.Equal(87, g0.Rows[0][0].Number, 9);
        Assert.Equal(612.5, g0.Rows[0][1].Number);
        Assert.Equal(1_234_567.5, g0.Rows[0][2].Number);
        Assert.Equal(74L << 30, g0.Rows[0][3].Integer);
        Assert.Equal(80L << 30, g0.Rows[0][4].Integer);
        Assert.Equal(70.25, r.Find((Tags.GpuUuid, "GPU-1"))!.Rows[0][1].Number);
    }

    private static HttpRequestMessage Post(string body, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/metrics") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        return request;
    }

    [Fact]
    public async Task Json_PartialSuccess_CountsRefusedPoints_KeepsTheRest()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        string now = (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000).ToString(CultureInfo.InvariantCulture);
        string json = $$$"""
            {"resourceMetrics":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"node-j"}}]},
              "scopeMetrics":[{"scope":{"name":"x"},"metrics":[
                {"name":"hw.gpu.power.draw","unit":"W","gauge":{"dataPoints":[
                  {"attributes":[{"key":"hw.id","value":{"stringValue":"GPU-J"}}],"timeUnixNano":"{{{now}}}","asDouble":300.5},
                  {"attributes":[],"timeUnixNano":"{{{now}}}","asDouble":1.0},
                  {"attributes":[{"key":"hw.id","value":{"stringValue":"GPU-K"}}],"timeUnixNano":"{{{now}}}","asDouble":"NaN"}]}},
                {"name":"hw.gpu.utilization","unit":"1","gauge":{"dataPoints":[
                  {"attributes":[{"key":"hw.id","value":{"stringValue":"GPU-J"}},{"key":"hw.gpu.task","value":{"stringValue":"decoder"}}],"timeUnixNano":"{{{now}}}","asDouble":0.9},
                  {"attributes":[{"key":"hw.id","value":{"stringValue":"GPU-J"}},{"key":"hw.gpu.task","value":{"stringValue":"general"}}],"timeUnixNano":"{{{now}}}","asDouble":0.25}]}},
                {"name":"http.server.duration","unit":"s","histogram":{"dataPoints":[{"count":"3"}]}}
              ]}]}]}
            """;
        HttpResponseMessage response = await host.Client.SendAsync(Post(json));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement partial = answer.RootElement.GetProperty("partialSuccess");
        Assert.Equal("2", partial.GetProperty("rejectedDataPoints").GetString());
        string message = partial.GetProperty("errorMessage").GetString()!;
        Assert.Contains(ObservaCost.Collector.Otlp.OtlpGpuMapper.MissingIdentityReason, message, StringComparison.Ordinal);
        Assert.Contains("not a finite", message, StringComparison.Ordinal);

        QueryResult r = await host.WaitForAsync(GpuReadings(), x => x.Series.Count == 1);
        Assert.Equal(25, r.Series[0].Rows[0][0].Number, 9);
        Assert.Equal(300.5, r.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task BadBodies_Are400_WrongContentType415_NoToken401()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.SendAsync(Post("{\"resourceMetrics\": [ {", "application/json"))).StatusCode);
        var garbage = new HttpRequestMessage(HttpMethod.Post, "/v1/metrics") { Content = new ByteArrayContent([0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]) };
        garbage.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        garbage.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        HttpResponseMessage bad = await host.Client.SendAsync(garbage);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("runs past the end", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.Client.SendAsync(Post("{}", "text/plain"))).StatusCode);
        HttpRequestMessage anonymous = Post("{}");
        anonymous.Headers.Authorization = null;
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(anonymous)).StatusCode);
    }
}
