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

namespace ObservaCost.Collector.Tests.Ingest;

/// <summary>
/// A tenant token's points are bound to its tenant on every push endpoint: they carry <c>tenant=acme</c> (the token's
/// tenant in <see cref="CollectorHost"/>), a namespace naming anyone else is refused with a reason, and no caller can
/// write the measurements the analytics service computes.
/// </summary>
public sealed class TenantBindingTests
{
    private static long NowSeconds => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static HttpRequestMessage Push(string path, string body, string token, string contentType = "text/plain")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Token", token);
        return request;
    }

    private static TimeSeriesQuery GpusByTenant() =>
        TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts, "n")
            .Between(TimeProvider.System.GetUtcNow().AddHours(-1), TimeProvider.System.GetUtcNow().AddHours(1))
            .GroupBy(Tags.GpuUuid, Tags.Tenant, Tags.Namespace).Build();

    [Theory]
    [InlineData("/write?precision=s")]
    [InlineData("/api/v2/write?org=o&bucket=b&precision=s")]
    public async Task LineProtocol_TenantToken_OtherNamespaceRefused_OwnPointsCarryTheTenant(string path)
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        string body =
            $"gpu_sample,gpu=0,namespace=victim,node=n1,pod=p0,uuid=GPU-V power_watts=700 {t}\n" +
            $"gpu_sample,gpu=1,namespace=acme,node=n1,pod=p1,uuid=GPU-A power_watts=300 {t}\n" +
            $"gpu_sample,gpu=2,node=n1,tenant=victim,uuid=GPU-B power_watts=200 {t}\n" +
            $"nvidia_smi,host=n1,index=3,uuid=GPU-S power_draw=100 {t}\n";
        using HttpResponseMessage response = await host.Client.SendAsync(Push(path, body, CollectorHost.TenantToken));
        string answer = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(answer);
        Assert.Equal(3, json.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("rejected").GetInt32());
        Assert.Contains("point 1 of measurement 'gpu_sample': namespace 'victim' is not the token's tenant 'acme'", json.RootElement.GetProperty("errors")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Stored: GPU-A in its own namespace, GPU-B with its tenant tag replaced, the nvidia_smi GPU-S: all tenant=acme.
        QueryResult stored = await host.WaitForAsync(GpusByTenant(), r => r.Series.Count == 3);
        Assert.Equal(["GPU-A", "GPU-B", "GPU-S"], stored.Series.Select(s => s.Tags[Tags.GpuUuid]).Order(StringComparer.Ordinal));
        Assert.All(stored.Series, s => Assert.Equal("acme", s.Tags[Tags.Tenant]));
        Assert.Equal("acme", stored.Find((Tags.GpuUuid, "GPU-A"))!.Tags[Tags.Namespace]);
    }

    [Fact]
    public async Task LineProtocol_FleetToken_NamespaceKept_NoTenantAdded()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        string body = $"gpu_sample,gpu=0,namespace=victim,node=n1,pod=p0,uuid=GPU-V power_watts=700 {NowSeconds}\n";
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(Push("/write?precision=s", body, CollectorHost.AdminToken))).StatusCode);
        QueryResult stored = await host.WaitForAsync(GpusByTenant(), r => r.Series.Count == 1);
        Assert.Equal("victim", stored.Series[0].Tags[Tags.Namespace]);
        Assert.Equal(string.Empty, stored.Series[0].Tags[Tags.Tenant]);
    }

    [Fact]
    public async Task LineProtocol_ComputedMeasurements_RefusedForEveryCallerOnBothEndpoints_NeighboursKept()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long t = NowSeconds;
        int sent = 0;
        foreach (string path in new[] { "/write?precision=s", "/api/v2/write?org=o&bucket=b&precision=s" })
        {
            foreach (string token in new[] { CollectorHost.AdminToken, CollectorHost.TenantToken })
            {
                foreach (string computed in Measurements.Computed)
                {
                    sent++;
                    string body = $"{computed},severity=critical,tenant=victim cost_usd=1e9,score=99 {t}\ncpu,host=h v={sent}i {t - sent}\n";
                    using HttpResponseMessage response = await host.Client.SendAsync(Push(path, body, token));
                    Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                    using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    Assert.Equal(1, json.RootElement.GetProperty("accepted").GetInt32());
                    Assert.Equal(
                        $"point 1 of measurement '{computed}': the measurement is computed by the analytics service and cannot be written through ingest",
                        json.RootElement.GetProperty("errors")[0].GetProperty("reason").GetString());
                }
            }
        }

        // 2 endpoints × 2 tokens × 7 measurements (gpu_trace, the rollup's kept samples, is computed too: issue 10)
        // = 28 neighbours stored, and no computed point at all.
        Assert.Equal(28, sent);
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        await host.WaitForAsync(
            TimeSeriesQueryBuilder.From("cpu").Count("v", "n").Between(now.AddHours(-1), now.AddHours(1)).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 28);
        foreach (string computed in Measurements.Computed)
        {
            QueryResult none = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(computed).Count(Fields.CostUsd, "n").Between(now.AddHours(-1), now.AddHours(1)).Build());
            Assert.True(none.Series.Count == 0 || none.Series.All(s => s.Rows.All(r => r[0].IsNull || r[0].Integer == 0)), computed);
        }
    }

    [Fact]
    public async Task OtlpJson_TenantToken_StampsTheTenant_RefusesAnotherNamespace()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        string now = (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000).ToString(CultureInfo.InvariantCulture);
        string Resource(string? ns, string gpu)
        {
            string placement = ns is null ? string.Empty
                : ",{\"key\":\"k8s.namespace.name\",\"value\":{\"stringValue\":\"" + ns + "\"}},{\"key\":\"k8s.pod.name\",\"value\":{\"stringValue\":\"p\"}}";
            return "{\"resource\":{\"attributes\":[{\"key\":\"host.name\",\"value\":{\"stringValue\":\"n1\"}}" + placement + "]}," +
                "\"scopeMetrics\":[{\"metrics\":[{\"name\":\"hw.gpu.power.draw\",\"unit\":\"W\",\"gauge\":{\"dataPoints\":[" +
                "{\"attributes\":[{\"key\":\"hw.id\",\"value\":{\"stringValue\":\"" + gpu + "\"}}],\"timeUnixNano\":\"" + now + "\",\"asDouble\":500}]}}]}]}";
        }

        string body = "{\"resourceMetrics\":[" + Resource("victim", "GPU-V") + "," + Resource("acme", "GPU-A") + "," + Resource(null, "GPU-N") + "]}";
        using HttpResponseMessage response = await host.Client.SendAsync(Push("/v1/metrics", body, CollectorHost.TenantToken, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement partial = json.RootElement.GetProperty("partialSuccess");
        Assert.Equal("1", partial.GetProperty("rejectedDataPoints").GetString());
        Assert.Equal("gpu GPU-V: namespace 'victim' is not the token's tenant 'acme': a tenant token writes only its own namespace", partial.GetProperty("errorMessage").GetString());

        QueryResult stored = await host.WaitForAsync(GpusByTenant(), r => r.Series.Count == 2);
        Assert.Equal(["GPU-A", "GPU-N"], stored.Series.Select(s => s.Tags[Tags.GpuUuid]).Order(StringComparer.Ordinal));
        Assert.All(stored.Series, s => Assert.Equal("acme", s.Tags[Tags.Tenant]));
    }

    [Fact]
    public async Task OtlpProtobuf_TenantToken_FromTheSdkExporter_VictimNamespaceRefused_OwnStampedWithTheTenant()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        foreach ((string ns, string gpu) in new[] { ("victim", "GPU-V"), ("acme", "GPU-A") })
        {
            using var meter = new Meter("test.tenant." + ns);
            meter.CreateObservableGauge("hw.gpu.power.draw", () => new Measurement<double>(500, new KeyValuePair<string, object?>("hw.id", gpu)), "W");
            using MeterProvider provider = Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(r => r.AddService("gpu-agent").AddAttributes([new("host.name", "n1"), new("k8s.namespace.name", ns), new("k8s.pod.name", "p")]))
                .AddMeter(meter.Name)
                .AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    exporter.Endpoint = new Uri(host.Client.BaseAddress!, "/v1/metrics");
                    exporter.Headers = "Authorization=Bearer " + CollectorHost.TenantToken;
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000;
                })
                .Build();
            Assert.True(provider.ForceFlush(10_000));
        }

        // The spool is forwarded in order: once GPU-A (sent second) is stored, GPU-V would have been too.
        QueryResult stored = await host.WaitForAsync(GpusByTenant(), r => r.Series.Any(s => s.Tags[Tags.GpuUuid] == "GPU-A"));
        ResultSeries own = Assert.Single(stored.Series);
        Assert.Equal("GPU-A", own.Tags[Tags.GpuUuid]);
        Assert.Equal("acme", own.Tags[Tags.Tenant]);
    }
}
