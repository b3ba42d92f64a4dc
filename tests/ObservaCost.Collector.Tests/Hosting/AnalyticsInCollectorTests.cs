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
    public async Task Collector_WithShippedPricingFile_SchedulesTheThreeAnalyticsJobs()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        IScheduler scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (scheduler.Status != SchedulerStatus.Running && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.Equal(SchedulerStatus.Running, scheduler.Status);
        foreach (JobKey job in new[] { GpuRollupJob.Key, CostWindowJob.Key, KpiDayJob.Key })
        {
            Assert.NotNull(await scheduler.GetJobDetail(job));
            Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(ScheduleRegistrar.TriggerFor(job)));
        }
    }

    [Fact]
    public async Task Collector_AnalyticsDisabled_HasNoScheduler()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Analytics:Enabled", "false");
        Assert.Null(host.Services.GetService<ISchedulerFactory>());
    }
}
