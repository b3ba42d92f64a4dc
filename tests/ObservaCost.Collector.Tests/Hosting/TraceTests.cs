using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Hosting.Telemetry;
using OpenTelemetry.Trace;
using Quartz;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>The host's spans, kept by an in-memory exporter: one trace from ingest to the store write, and from a job to its store calls.</summary>
public sealed class TraceTests
{
    [Fact]
    public async Task LineProtocolWrite_IngestSpoolForwarderStoreWrite_OneTrace()
    {
        var spans = new List<Activity>();
        await using CollectorHost host = await CollectorHost.StartAsync(b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        long now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        using var write = new HttpRequestMessage(HttpMethod.Post, "/write?precision=s")
        {
            Content = new StringContent($"traced,k=1 v=1 {now}\n", Encoding.UTF8, "text/plain"),
        };
        write.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        await host.Client.SendAsync(write);

        // The server span of POST /write; its trace holds the append, the forward and the store write, parent to child.
        Activity? Find(Func<Activity, bool> match)
        {
            lock (spans)
            {
                return spans.FirstOrDefault(match);
            }
        }

        var waited = Stopwatch.StartNew();
        Activity? server = null;
        Activity? storeWrite = null;
        while (waited.Elapsed < TimeSpan.FromSeconds(30) && storeWrite is null)
        {
            await Task.Delay(50);
            server ??= Find(a => a.Kind == ActivityKind.Server && a.DisplayName.Contains("/write", StringComparison.Ordinal) && a.GetTagItem("url.path") as string == "/write");
            if (server is not null)
            {
                ActivityTraceId trace = server.TraceId;
                storeWrite = Find(a => a.TraceId == trace && a.DisplayName == "write sqlite");
            }
        }

        Assert.NotNull(server);
        Assert.NotNull(storeWrite);
        Activity append = Find(a => a.TraceId == server.TraceId && a.DisplayName == "spool append")!;
        Activity forward = Find(a => a.TraceId == server.TraceId && a.DisplayName == "spool forward")!;
        Assert.Equal(server.SpanId, append.ParentSpanId);
        Assert.Equal(append.SpanId, forward.ParentSpanId);
        Assert.Equal(forward.SpanId, storeWrite.ParentSpanId);
        Assert.Equal(ActivityKind.Client, storeWrite.Kind);
        Assert.Equal(1, forward.GetTagItem("observacost.batch.points"));
    }

    [Fact]
    public async Task RollupJob_Fired_ComputeSpanParentsItsStoreQueryAndIsCounted()
    {
        var spans = new List<Activity>();
        await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        IScheduler scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await scheduler.TriggerJob(GpuRollupJob.Key);

        var waited = Stopwatch.StartNew();
        Activity? compute = null;
        Activity? query = null;
        while (waited.Elapsed < TimeSpan.FromSeconds(60) && query is null)
        {
            await Task.Delay(50);
            lock (spans)
            {
                compute ??= spans.FirstOrDefault(a => a.DisplayName == "gpu-rollup compute");
                query = compute is null ? null : spans.FirstOrDefault(a => a.ParentSpanId == compute.SpanId && a.DisplayName == "query sqlite");
            }
        }

        Assert.NotNull(compute);
        Assert.NotNull(query);
        Assert.Equal("PT1M", compute.GetTagItem("period"));
        // The rollup's calls each cover up to 60 one-minute periods; at least one call was timed and counted.
        PrometheusMetrics metrics = host.Services.GetRequiredService<PrometheusMetrics>();
        Assert.True(metrics.Value("observacost_analytics_job_duration_seconds_count{job=\"gpu-rollup\",period=\"PT1M\"}") >= 1, metrics.Scrape());
        Assert.True(metrics.Value("observacost_analytics_job_periods_total{job=\"gpu-rollup\",period=\"PT1M\"}") >= 1);
    }
}
