using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using Quartz;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>
/// On one machine the collector hosts the analytics jobs: its appsettings.json names the pricing file shipped beside
/// the binary, so the three jobs are scheduled in its process; <c>Analytics:Enabled=false</c> leaves them out.
/// </summary>
public sealed class AnalyticsInCollectorTests
{
    [Fact]
    public async Task Collector_WithShippedPricingFile_SchedulesTheFiveAnalyticsJobsAndServesTheApi()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Analytics:Enabled", "true");
        IScheduler scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (scheduler.Status != SchedulerStatus.Running && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.Equal(SchedulerStatus.Running, scheduler.Status);
        foreach (JobKey job in new[] { GpuRollupJob.Key, CostWindowJob.Key, KpiDayJob.Key, AnomalyJob.Key, ForecastJob.Key })
        {
            Assert.NotNull(await scheduler.GetJobDetail(job));
            Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(ScheduleRegistrar.TriggerFor(job)));
        }

        // The shipped configuration reads the API from loopback without a token (one machine).
        using HttpResponseMessage kpis = await host.Client.GetAsync(new Uri("/api/v1/kpis?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, kpis.StatusCode);
        Assert.Equal("application/json", kpis.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Collector_AnalyticsDisabled_HasNoScheduler()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Analytics:Enabled", "false");
        Assert.Null(host.Services.GetService<ISchedulerFactory>());
    }
}
