using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>The collector's own meter exported over OTLP/HTTP to a receiver when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
public sealed class SelfTelemetryTests
{
    [Fact]
    public async Task OtlpEndpointSet_CollectorMeterIsExported()
    {
        var bodies = new List<byte[]>();
        int port = InfluxDbServer.FreePort();
        string receiverUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", receiverUrl]);
        await using WebApplication receiver = builder.Build();
        receiver.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            lock (bodies)
            {
                bodies.Add(buffer.ToArray());
            }

            return Results.Ok();
        });
        await receiver.StartAsync();

        await using CollectorHost host = await CollectorHost.StartAsync(
            "--OTEL_EXPORTER_OTLP_ENDPOINT", receiverUrl,
            "--OTEL_METRIC_EXPORT_INTERVAL", "200");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/write?precision=s")
        {
            Content = new StringContent($"self v=1 {TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()}\n", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        await host.Client.SendAsync(request);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        string all = string.Empty;
        while (clock.Elapsed < TimeSpan.FromSeconds(20) && !all.Contains("observacost.collector.points.received", StringComparison.Ordinal))
        {
            await Task.Delay(100);
            lock (bodies)
            {
                all = string.Join("\n", bodies.Select(b => Encoding.UTF8.GetString(b)));
            }
        }

        Assert.Contains("observacost.collector.points.received", all, StringComparison.Ordinal);
        Assert.Contains("observacost-collector", all, StringComparison.Ordinal);
        Assert.Contains("line_protocol", all, StringComparison.Ordinal);
    }
}
