using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>When to poll the local nvidia-smi. Configuration section <c>Collector:NvidiaSmi</c> (with <see cref="NvidiaSmiPollerOptions"/>).</summary>
public sealed class NvidiaSmiScheduleOptions
{
    public const string SectionName = "Collector:NvidiaSmi";

    /// <summary>Poll nvidia-smi on this node (bare metal without dcgm-exporter).</summary>
    public bool Enabled { get; set; }

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Polls nvidia-smi on its interval and hands the samples to the spool; bad output yields its good rows.</summary>
public sealed partial class NvidiaSmiPollingService(
    IOptions<NvidiaSmiScheduleOptions> schedule,
    NvidiaSmiPoller poller,
    IngestPipeline pipeline,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<NvidiaSmiPollingService> logger) : BackgroundService
{
    public const string Source = "nvidia_smi";
    private readonly LogThrottle _throttle = new(time, TimeSpan.FromMinutes(1));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!schedule.Value.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(schedule.Value.Interval, time);
        do
        {
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
        while (await timer.TryWaitForNextTickAsync(stoppingToken));
    }

    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        NvidiaSmiPollResult result = await poller.PollAsync(cancellationToken);
        if (result.Errors.Count > 0 || result.Status != NvidiaSmiPollStatus.Succeeded)
        {
            metrics.Rejected(Source, Math.Max(1, result.Errors.Count));
            if (_throttle.ShouldLog(Source, out long suppressed))
            {
                string reason = result.FailureMessage ?? (result.Errors.Count > 0 ? $"line {result.Errors[0].LineNumber}: {result.Errors[0].Reason}" : result.Status.ToString());
                LogBadOutput(logger, result.Status.ToString(), result.Samples.Count, reason, suppressed);
            }
        }

        using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 16 * 1024);
        foreach (GpuSample sample in result.Samples)
        {
            sample.WriteTo(writer);
        }

        foreach (GpuWorkloadSample workload in result.Workloads)
        {
            workload.WriteTo(writer);
        }

        if (result.WorkloadsOverLimit > 0)
        {
            metrics.Rejected(Source, result.WorkloadsOverLimit, Scraping.ScrapeService.WorkloadLimitReason);
        }

        await pipeline.AcceptAsync(writer, Source, cancellationToken);
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "nvidia-smi poll {Status}: kept {Samples} samples; {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogBadOutput(ILogger logger, string status, int samples, string reason, long suppressed);
}
