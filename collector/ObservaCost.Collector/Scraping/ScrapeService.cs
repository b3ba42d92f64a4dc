using System.Buffers;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Scrapes every configured target on its own interval: GPU exporters become <see cref="GpuSample"/>s, vLLM servers
/// become <see cref="InferenceWindow"/> deltas (source <c>vllm</c>) and <see cref="InferenceServerSample"/>s. A bad
/// page yields its good samples, a counter and a rate-limited warning; a failed scrape is counted and retried on the
/// next tick.
/// </summary>
public sealed partial class ScrapeService(
    IOptions<ScrapeOptions> options,
    IHttpClientFactory httpClients,
    IngestPipeline pipeline,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<ScrapeService> logger) : BackgroundService
{
    public const string Source = "scrape";
    private readonly LogThrottle _throttle = new(time, TimeSpan.FromMinutes(1));
    private readonly VllmMetricsTracker _vllm = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(options.Value.Targets.Select(t => RunTargetAsync(t, stoppingToken)));

    private async Task RunTargetAsync(ScrapeTarget target, CancellationToken stoppingToken)
    {
        var parser = new PrometheusTextParser(new PrometheusParserOptions { MaxSamplesPerPage = options.Value.MaxSamplesPerPage });
        IGpuExporterMapper? mapper = target.Kind switch
        {
            ScrapeKind.Dcgm => new DcgmMapper(),
            ScrapeKind.Amd => new AmdGpuMapper(target.MetricPrefix),
            _ => null,
        };
        using var timer = new PeriodicTimer(target.Interval, time);
        do
        {
            try
            {
                await ScrapeOnceAsync(target, parser, mapper, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
        while (await timer.TryWaitForNextTickAsync(stoppingToken));
    }

    internal async Task ScrapeOnceAsync(ScrapeTarget target, PrometheusTextParser parser, IGpuExporterMapper? mapper, CancellationToken cancellationToken)
    {
        long started = time.GetTimestamp();
        DateTimeOffset scrapeTime = time.GetUtcNow();
        byte[]? page = null;
        int length;
        try
        {
            (page, length) = await FetchAsync(target, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or InvalidDataException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            metrics.Rejected(Source, 1);
            if (_throttle.ShouldLog(target.Name + ":fetch", out long suppressed))
            {
                LogScrapeFailed(logger, target.Name, target.Url!, ex.Message, suppressed);
            }

            return;
        }

        try
        {
            PrometheusParseResult parsed = parser.Parse(page.AsSpan(0, length));
            metrics.Scraped(target.Name, time.GetElapsedTime(started));
            if (parsed.RejectedCount > 0)
            {
                metrics.Rejected(Source, parsed.RejectedCount);
                if (parsed.Errors.Count > 0 && _throttle.ShouldLog(target.Name + ":parse", out long suppressed))
                {
                    PrometheusParseError first = parsed.Errors[0];
                    LogBadPage(logger, target.Name, parsed.RejectedCount, first.Line, first.Reason, suppressed);
                }
            }

            using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 64 * 1024);
            int encoded = 0;
            if (mapper is not null)
            {
                GpuMappingResult mapped = mapper.Map(parsed.Samples, new GpuScrapeContext
                {
                    ScrapeTime = scrapeTime,
                    Node = target.Node ?? target.Url!.Host,
                    PreferContextNode = target.PreferConfiguredNode,
                    Cluster = target.Cluster,
                    Pool = target.Pool,
                    ExtraLabels = target.ExtraLabels,
                    ServedModelLabel = target.ServedModelLabel,
                });
                foreach (GpuSample sample in mapped.Samples)
                {
                    encoded += (string.IsNullOrEmpty(target.Tenant) ? sample : sample with { Tenant = target.Tenant }).WriteTo(writer) ? 1 : 0;
                }
            }
            else
            {
                VllmScrapeResult result = _vllm.Observe(parsed.Samples, new VllmScrapeContext
                {
                    Target = target.Name,
                    ScrapeTime = scrapeTime,
                    Tenant = target.Tenant,
                    Pool = target.Pool,
                    Node = target.Node,
                });
                foreach (InferenceWindow window in result.Windows)
                {
                    encoded += (window with { Source = "vllm" }).WriteTo(writer) ? 1 : 0;
                }

                foreach (InferenceServerSample sample in result.ServerSamples)
                {
                    encoded += sample.WriteTo(writer) ? 1 : 0;
                }
            }

            if (!await pipeline.AcceptAsync(writer, Source, cancellationToken) && _throttle.ShouldLog(target.Name + ":spool", out long held))
            {
                LogSpoolFull(logger, target.Name, encoded, held);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(page);
        }
    }

    private async Task<(byte[] Page, int Length)> FetchAsync(ScrapeTarget target, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(target.Timeout);
        HttpClient client = httpClients.CreateClient(nameof(ScrapeService));
        using var request = new HttpRequestMessage(HttpMethod.Get, target.Url);
        request.Headers.Accept.ParseAdd("text/plain;version=0.0.4;q=1,*/*;q=0.1");
        using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        long max = options.Value.MaxPageBytes;
        await using Stream stream = await response.Content.ReadAsStreamAsync(cts.Token);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= max)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw new InvalidDataException($"the page is larger than {ScrapeOptions.SectionName}:MaxPageBytes ({max} bytes)");
                }

                byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            int read = await stream.ReadAsync(buffer.AsMemory(length), cts.Token);
            if (read == 0)
            {
                return (buffer, length);
            }

            length += read;
        }
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Scrape of {Target} ({Url}) failed: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogScrapeFailed(ILogger logger, string target, Uri url, string reason, long suppressed);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Page of {Target} had {Rejected} bad lines or samples; first at line {Line}: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogBadPage(ILogger logger, string target, int rejected, int line, string reason, long suppressed);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "The spool is full: {Points} points scraped from {Target} were dropped ({Suppressed} similar warnings suppressed)")]
    private static partial void LogSpoolFull(ILogger logger, string target, int points, long suppressed);
}
