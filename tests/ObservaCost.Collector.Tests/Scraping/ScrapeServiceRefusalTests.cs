using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObservaCost.Collector.Scraping;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// The collector scraping a real loopback HTTP server once per target (a one-hour interval: the first scrape is at
/// start-up, the next an hour later), so every count below is the count of one page.
/// </summary>
public sealed class ScrapeServiceRefusalTests : IAsyncLifetime
{
    private const string Good = "gpu=\"0\",UUID=\"GPU-good\",modelName=\"Tesla T4\",Hostname=\"n1\"";

    private static readonly byte[] BadPage =
    [
        .. Encoding.UTF8.GetBytes($$"""
            DCGM_FI_DEV_GPU_UTIL{{{Good}}} 91
            DCGM_FI_DEV_POWER_USAGE{{{Good}}} 68.5
            DCGM_FI_DEV_POWER_USAGE{{{Good}}} 70
            DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-nan",Hostname="n1"} NaN
            DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-inf",Hostname="n1"} +Inf
            DCGM_FI_DEV_POWER_USAGE{gpu="3",UUID="GPU-big",Hostname="n1"} 1e400
            DCGM_FI_DEV_POWER_USAGE{gpu="4",UUID="GPU-neg",Hostname="n1"} -5
            DCGM_FI_DEV_POWER_USAGE{gpu="5",UUID="GPU-future",Hostname="n1"} 60 100000000000000
            DCGM_FI_DEV_POWER_USAGE{gpu="6",UUID="GPU-hex",Hostname="n1"} 0x1p3
            DCGM_FI_DEV_GPU_UTIL{gpu="7",UUID="GPU-utf8",Hostname="
            """),
        0xFF, 0xFE,
        .. "\"} 5\n"u8,
    ];

    private WebApplication? _exporter;
    private string _t4 = string.Empty;
    private string? _acceptEncoding;

    private string ExporterUrl { get; set; } = string.Empty;

    public async Task InitializeAsync()
    {
        _t4 = await File.ReadAllTextAsync(RepoPaths.Data("dcgm-exporter", "metrics_T4_busy_ericsson-ccd-conformance.prom"));
        byte[] gzipped = Gzip(Encoding.UTF8.GetBytes(_t4));
        int port = InfluxDbServer.FreePort();
        ExporterUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", ExporterUrl]);
        _exporter = builder.Build();
        _exporter.MapGet("/bad", () => Results.Bytes(BadPage, "text/plain; version=0.0.4"));
        _exporter.MapGet("/gzip", (HttpContext context) =>
        {
            _acceptEncoding = context.Request.Headers.AcceptEncoding.ToString();
            context.Response.Headers.ContentEncoding = "gzip";
            return Results.Bytes(gzipped, "text/plain; version=0.0.4");
        });
        _exporter.MapGet("/truncated-gzip", (HttpContext context) =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            return Results.Bytes(gzipped[..(gzipped.Length / 2)], "text/plain; version=0.0.4");
        });
        _exporter.MapGet("/gzip-bomb", (HttpContext context) =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            return Results.Bytes(Gzip(new byte[8 << 20]), "text/plain; version=0.0.4");
        });
        _exporter.MapGet("/openmetrics", (HttpContext context) =>
        {
            _acceptEncoding = context.Request.Headers.AcceptEncoding.ToString();
            // Timestamps in seconds, exemplars, _created and # EOF, as an OpenMetrics exporter writes them.
            string now = (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
            string page = $$"""
                # TYPE DCGM_FI_DEV_GPU_UTIL gauge
                # UNIT DCGM_FI_DEV_GPU_UTIL percent
                DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-om",Hostname="n2"} 42 {{now}}
                # TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
                DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_total{gpu="0",UUID="GPU-om",Hostname="n2"} 5000 {{now}} # {trace_id="4bf92f3577b34da6"} 1.0 {{now}}
                DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_created{gpu="0",UUID="GPU-om",Hostname="n2"} 1772360000
                DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-om",Hostname="n2"} 250.5 # {trace_id="abc"} 250.5
                # EOF

                """;
            return Results.Text(page, "application/openmetrics-text; version=1.0.0; charset=utf-8");
        });
        _exporter.MapGet("/vllm", () => Results.Text(
            """
            vllm:prompt_tokens_total{model_name="m"} NaN
            vllm:generation_tokens_total{model_name="m"} 50
            vllm:e2e_request_latency_seconds_bucket{le="1.0",model_name="m"} 5
            vllm:e2e_request_latency_seconds_bucket{le="2.0",model_name="m"} 3
            vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="m"} 6
            vllm:time_to_first_token_seconds_bucket{le="1.0",model_name="m"} 5
            vllm:num_requests_running{model_name="m"} -Inf
            vllm:num_requests_waiting{model_name="m"} 2
            """,
            "text/plain; version=0.0.4"));
        await _exporter.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.StopAsync();
            await _exporter.DisposeAsync();
        }
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private string[] Target(int i, string name, string path, string kind = "Dcgm")
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"--Collector:Scrape:Targets:{i}:");
        return [p + "Name", name, p + "Url", ExporterUrl + path, p + "Kind", kind, p + "Interval", "01:00:00", p + "Timeout", "00:00:10"];
    }

    private static TimeSeriesQuery Gpus() =>
        TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Last(Fields.UtilizationPercent, "util").Last(Fields.PowerWatts, "watts").Count(Fields.PowerWatts, "n")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5))
            .GroupBy(Tags.GpuUuid).Build();

    private static async Task<long> WaitForRejectedAsync(CollectorHost host, long expected)
    {
        CollectorTotals metrics = CollectorTotals.Of(host.Services);
        for (int i = 0; i < 600 && metrics.RejectedTotal(ScrapeService.Source) < expected; i++)
        {
            await Task.Delay(50);
        }

        return metrics.RejectedTotal(ScrapeService.Source);
    }

    [Fact]
    public async Task Scrape_BadReadingsBesideGoodOnes_EachRefusedWithItsReason_GoodGpuStored()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Target(0, "bad", "/bad"));

        QueryResult r = await host.WaitForAsync(Gpus(), x => x.Find((Tags.GpuUuid, "GPU-good")) is not null);
        ResultSeries good = r.Find((Tags.GpuUuid, "GPU-good"))!;
        // The first power reading (68.5) is kept; the duplicate 70 is refused.
        Assert.Equal(91, good.Rows[0][0].Number);
        Assert.Equal(68.5, good.Rows[0][1].Number);
        // No other GPU has a power reading: every other one was refused.
        Assert.Equal(1, r.Series.Count(s => s.Rows[0][2].Integer > 0));

        // 8 refused: 1 duplicate, NaN and +Inf, 1e400 and 0x1p3, -5 W, the year-5138 timestamp, the non-UTF-8 label.
        Assert.Equal(8, await WaitForRejectedAsync(host, 8));
        CollectorTotals metrics = CollectorTotals.Of(host.Services);
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "duplicate_series"));
        Assert.Equal(2, metrics.RejectedTotal(ScrapeService.Source, "non_finite_value"));
        Assert.Equal(2, metrics.RejectedTotal(ScrapeService.Source, "malformed"));
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "negative_value"));
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "timestamp_out_of_bounds"));
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "invalid_utf8"));
        string text = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("observacost_collector_points_rejected_by_reason_total{reason=\"timestamp_out_of_bounds\",source=\"scrape\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("observacost_collector_points_rejected_total{source=\"scrape\"} 8\n", text, StringComparison.Ordinal);
        Assert.True((await host.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    [Theory]
    [InlineData("/gzip", "GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a", 91, 68.244)]
    [InlineData("/openmetrics", "GPU-om", 42, 250.5)]
    public async Task Scrape_GzipOrOpenMetricsPage_IsDecodedAndStored_WithNoRefusals(string path, string uuid, double util, double watts)
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Target(0, "good", path));

        QueryResult r = await host.WaitForAsync(Gpus(), x => x.Series.Count == 1);

        ResultSeries gpu = Assert.Single(r.Series);
        Assert.Equal(uuid, gpu.Tags[Tags.GpuUuid]);
        Assert.Equal((util, watts), (gpu.Rows[0][0].Number, gpu.Rows[0][1].Number));
        Assert.Equal("gzip", _acceptEncoding);
        Assert.Equal(0, CollectorTotals.Of(host.Services).RejectedTotal(ScrapeService.Source));
    }

    [Fact]
    public async Task Scrape_CorruptGzipAndGzipBomb_FailTheFetch_CollectorStaysUp()
    {
        // MaxPageBytes 64 KiB: the bomb is 8 MiB of zeros once decoded.
        await using CollectorHost host = await CollectorHost.StartAsync(
        [
            .. Target(0, "truncated", "/truncated-gzip"),
            .. Target(1, "bomb", "/gzip-bomb"),
            .. Target(2, "gzip", "/gzip"),
            "--Collector:Scrape:MaxPageBytes", "65536",
        ]);

        Assert.Equal(2, await WaitForRejectedAsync(host, 2));
        Assert.Equal(2, CollectorTotals.Of(host.Services).RejectedTotal(ScrapeService.Source, ScrapeService.FetchFailedReason));
        QueryResult r = await host.WaitForAsync(Gpus(), x => x.Series.Count == 1);
        Assert.Equal(91, Assert.Single(r.Series).Rows[0][0].Number);
        Assert.True((await host.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task Scrape_VllmNaNCounterBadHistogramsAndInfiniteGauge_AreRefusedWithReasons()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(Target(0, "vllm", "/vllm", "Vllm"));

        // The NaN prompt counter; the e2e histogram's 3 buckets (decreasing); the TTFT histogram's 1 bucket (no +Inf);
        // the -Inf gauge.
        Assert.Equal(6, await WaitForRejectedAsync(host, 6));
        CollectorTotals metrics = CollectorTotals.Of(host.Services);
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "invalid_counter"));
        Assert.Equal(4, metrics.RejectedTotal(ScrapeService.Source, "invalid_histogram"));
        Assert.Equal(1, metrics.RejectedTotal(ScrapeService.Source, "non_finite_value"));
        QueryResult waiting = await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.InferenceServer).Last(Fields.RequestsWaiting, "w")
                .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5)).Build(),
            x => x.Series.Count == 1);
        Assert.Equal(2, Assert.Single(waiting.Series).Rows[0][0].Number);
        Assert.True((await host.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }
}
