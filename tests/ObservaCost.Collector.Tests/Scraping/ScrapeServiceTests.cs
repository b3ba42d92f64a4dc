using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// The collector scraping a real local HTTP server that serves the real captures: dcgm-exporter (T4 busy, L40S idle),
/// a vLLM server whose counters move between scrapes, and a broken page.
/// </summary>
public sealed class ScrapeServiceTests : IAsyncLifetime
{
    private WebApplication? _exporter;
    private int _vllmScrapes;

    private string ExporterUrl { get; set; } = string.Empty;

    public async Task InitializeAsync()
    {
        string t4 = await File.ReadAllTextAsync(RepoPaths.Data("dcgm-exporter", "metrics_T4_busy_ericsson-ccd-conformance.prom"));
        string l40s = await File.ReadAllTextAsync(RepoPaths.Data("dcgm-exporter", "metrics_L40S_idle_upcloud-conformance.prom"));
        string vllm = await File.ReadAllTextAsync(RepoPaths.Data("vllm-metrics", "vllm_v0_metrics_after4requests_qwen2.5-coder-1.5b_aibrix-docs.prom"));
        string vllmLater = vllm
            .Replace("vllm:prompt_tokens_total{model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 148.0", "vllm:prompt_tokens_total{model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 248.0", StringComparison.Ordinal)
            .Replace("vllm:generation_tokens_total{model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 955.0", "vllm:generation_tokens_total{model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 1005.0", StringComparison.Ordinal)
            .Replace("vllm:request_success_total{finished_reason=\"stop\",model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 4.0", "vllm:request_success_total{finished_reason=\"stop\",model_name=\"Qwen/Qwen2.5-Coder-1.5B-Instruct\"} 6.0", StringComparison.Ordinal);
        Assert.NotEqual(vllm, vllmLater);

        int port = InfluxDbServer.FreePort();
        ExporterUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", ExporterUrl]);
        _exporter = builder.Build();
        _exporter.MapGet("/t4", () => Results.Text(t4, "text/plain; version=0.0.4"));
        _exporter.MapGet("/l40s", () => Results.Text(l40s, "text/plain; version=0.0.4"));
        _exporter.MapGet("/vllm", () => Results.Text(Interlocked.Increment(ref _vllmScrapes) == 1 ? vllm : vllmLater, "text/plain; version=0.0.4"));
        _exporter.MapGet("/broken", () => Results.Text(t4 + "\nthis is { not a sample\nDCGM_FI_DEV_GPU_TEMP{gpu=\"0\"} notanumber\n", "text/plain"));
        _exporter.MapGet("/down", () => Results.StatusCode(503));
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

    private string[] Target(int i, string name, string path, string kind, params string[] more)
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"--Collector:Scrape:Targets:{i}:");
        return [p + "Name", name, p + "Url", ExporterUrl + path, p + "Kind", kind, p + "Interval", "00:00:01", p + "Timeout", "00:00:01", .. more.Select((m, k) => k % 2 == 0 ? p + m : m)];
    }

    private static TimeSeriesQuery Gpus() =>
        TimeSeriesQueryBuilder.From(Measurements.GpuSample).Last(Fields.UtilizationPercent, "util").Last(Fields.PowerWatts, "watts")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5))
            .GroupBy(Tags.GpuUuid, Tags.GpuModel, Tags.Node, Tags.Pool).Build();

    [Fact]
    public async Task DcgmTargets_RealCaptures_BecomeGpuSamples_WithTheTargetsPool()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(
        [
            .. Target(0, "t4", "/t4", "Dcgm", "Pool", "t4-pool"),
            .. Target(1, "l40s", "/l40s", "Dcgm", "Pool", "l40s-pool"),
        ]);
        QueryResult r = await host.WaitForAsync(Gpus(), x => x.Series.Count == 2);
        ResultSeries t4 = r.Series.Single(s => s.Tags[Tags.GpuModel] == "T4");
        Assert.Equal("GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a", t4.Tags[Tags.GpuUuid]);
        Assert.Equal("cp-bm14r7", t4.Tags[Tags.Node]);
        Assert.Equal("t4-pool", t4.Tags[Tags.Pool]);
        Assert.Equal(91, t4.Rows[0][0].Number);
        Assert.Equal(68.244, t4.Rows[0][1].Number);
        Assert.Equal("l40s-pool", r.Series.Single(s => s.Tags[Tags.GpuModel] == "L40S").Tags[Tags.Pool]);
        string metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("observacost_collector_scrape_duration_seconds_count{target=\"t4\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DcgmTarget_WithATenant_TagsEveryGpuSampleWithIt_OthersStayFleetWide()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(
        [
            .. Target(0, "t4", "/t4", "Dcgm", "Tenant", "acme"),
            .. Target(1, "l40s", "/l40s", "Dcgm"),
        ]);
        TimeSeriesQuery byTenant = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Last(Fields.PowerWatts, "watts")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5))
            .GroupBy(Tags.GpuModel, Tags.Tenant).Build();
        QueryResult r = await host.WaitForAsync(byTenant, x => x.Series.Count == 2);
        Assert.Equal("acme", r.Series.Single(s => s.Tags[Tags.GpuModel] == "T4").Tags[Tags.Tenant]);
        Assert.Equal(string.Empty, r.Series.Single(s => s.Tags[Tags.GpuModel] == "L40S").Tags[Tags.Tenant]);
    }

    [Fact]
    public async Task VllmTarget_CounterDeltas_BecomeInferenceWindows_AndServerGauges()
    {
        await using CollectorHost host = await CollectorHost.StartAsync([.. Target(0, "vllm-0", "/vllm", "Vllm", "Tenant", "acme", "Pool", "a10")]);
        TimeSeriesQuery windows = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Sum(Fields.RequestCount, "requests")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5))
            .GroupBy(Tags.Model, Tags.Tenant, Tags.Source).Build();
        QueryResult r = await host.WaitForAsync(windows, x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Number >= 100);
        ResultSeries w = Assert.Single(r.Series);
        Assert.Equal("Qwen/Qwen2.5-Coder-1.5B-Instruct", w.Tags[Tags.Model]);
        Assert.Equal("acme", w.Tags[Tags.Tenant]);
        Assert.Equal("vllm", w.Tags[Tags.Source]);
        Assert.Equal([100.0, 50, 2], w.Rows[0].Values.Select(v => v.Number));

        QueryResult gauges = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.InferenceServer).Count(Fields.KvCacheUsageRatio, "n")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5)).Build());
        Assert.True(gauges.Series.Count == 1 && gauges.Series[0].Rows[0][0].Integer >= 1);
    }

    [Fact]
    public async Task BrokenPageAndDeadTarget_KeepTheGoodSamples_AndCountTheBad()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(
        [
            .. Target(0, "broken", "/broken", "Dcgm"),
            .. Target(1, "down", "/down", "Dcgm"),
        ]);
        QueryResult r = await host.WaitForAsync(Gpus(), x => x.Series.Count == 1);
        Assert.Equal(91, r.Series[0].Rows[0][0].Number);
        string metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Matches("observacost_collector_points_rejected_total\\{source=\"scrape\"\\} [1-9]", metrics);
    }
}
