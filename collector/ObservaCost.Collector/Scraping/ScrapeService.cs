using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Scrapes every configured target on its own interval: GPU exporters become <see cref="GpuSample"/>s, vLLM servers
/// become <see cref="InferenceWindow"/> deltas (source <c>vllm</c>) and <see cref="InferenceServerSample"/>s, node-power
/// pages (ipmi_exporter DCMI, Redfish, a named metric) become <see cref="NodeSample"/>s (<see cref="NodePowerMapper"/>;
/// a page without the power metric counts a <c>missing_value</c> rejection). A bad
/// page yields its good samples, a counter and a rate-limited warning; a failed scrape is counted and retried on the
/// next tick. Refused samples are counted in <c>points.rejected</c> with source <c>scrape</c> and a <c>reason</c>
/// (<see cref="PrometheusErrorKinds.ReasonLabel"/>, or <c>fetch_failed</c>). A sample's own timestamp must lie within
/// <see cref="IngestLimitsOptions.MaxAge"/> before and <see cref="IngestLimitsOptions.MaxFutureSkew"/> after the scrape
/// time, else the sample is refused; within that window it is stored at the scrape time, as every sample of a page is.
/// Pages may be gzip-encoded; <see cref="ScrapeOptions.MaxPageBytes"/> bounds the decoded page.
/// </summary>
public sealed partial class ScrapeService(
    IOptions<ScrapeOptions> options,
    IOptions<IngestLimitsOptions> limits,
    IHttpClientFactory httpClients,
    IngestPipeline pipeline,
    CollectorMetrics metrics,
    TimeProvider time,
    ILogger<ScrapeService> logger) : BackgroundService
{
    public const string Source = "scrape";

    /// <summary>The <c>reason</c> of a scrape that could not fetch or decode its page.</summary>
    public const string FetchFailedReason = "fetch_failed";

    /// <summary>The <c>reason</c> of workloads dropped beyond <see cref="ScrapeOptions.MaxWorkloadsPerGpu"/>.</summary>
    public const string WorkloadLimitReason = "workload_limit";
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
            ScrapeKind.Hami => new HamiMapper(),
            _ => null,
        };
        NodePowerMapper? nodePower = NodePowerMapper.For(target);
        using var timer = new PeriodicTimer(target.Interval, time);
        do
        {
            try
            {
                await ScrapeOnceAsync(target, parser, mapper, nodePower, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
        while (await timer.TryWaitForNextTickAsync(stoppingToken));
    }

    internal async Task ScrapeOnceAsync(ScrapeTarget target, PrometheusTextParser parser, IGpuExporterMapper? mapper, NodePowerMapper? nodePower, CancellationToken cancellationToken)
    {
        long started = time.GetTimestamp();
        DateTimeOffset scrapeTime = time.GetUtcNow();
        byte[]? page = null;
        int length;
        PrometheusFormat format;
        try
        {
            (page, length, format) = await FetchAsync(target, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or InvalidDataException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            metrics.Rejected(Source, 1, FetchFailedReason);
            if (_throttle.ShouldLog(target.Name + ":fetch", out long suppressed))
            {
                LogScrapeFailed(logger, target.Name, target.Url!, ex.Message, suppressed);
            }

            return;
        }

        try
        {
            SampleTimeWindow accepted = SampleTimeWindow.Around(scrapeTime, limits.Value.MaxAge, limits.Value.MaxFutureSkew);
            PrometheusParseResult parsed = parser.Parse(page.AsSpan(0, length), format, accepted);
            metrics.Scraped(target.Name, time.GetElapsedTime(started));
            SampleRejections refused;
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
                    MaxWorkloadsPerGpu = options.Value.MaxWorkloadsPerGpu,
                });
                foreach (GpuSample sample in mapped.Samples)
                {
                    encoded += (string.IsNullOrEmpty(target.Tenant) ? sample : sample with { Tenant = target.Tenant }).WriteTo(writer) ? 1 : 0;
                }

                foreach (GpuWorkloadSample workload in mapped.Workloads)
                {
                    encoded += (string.IsNullOrEmpty(target.Tenant) ? workload : workload with { Tenant = target.Tenant }).WriteTo(writer) ? 1 : 0;
                }

                if (mapped.WorkloadsOverLimit > 0)
                {
                    metrics.Rejected(Source, mapped.WorkloadsOverLimit, WorkloadLimitReason);
                    if (_throttle.ShouldLog(target.Name + ":workloads", out long dropped))
                    {
                        LogWorkloadLimit(logger, target.Name, mapped.WorkloadsOverLimit, options.Value.MaxWorkloadsPerGpu, dropped);
                    }
                }

                refused = mapped.Rejections;
            }
            else if (nodePower is not null)
            {
                NodePowerMappingResult mapped = nodePower.Map(parsed.Samples, new NodePowerScrapeContext
                {
                    ScrapeTime = scrapeTime,
                    Node = target.Node ?? target.Url!.Host,
                    Cluster = target.Cluster,
                    Pool = target.Pool,
                });
                foreach (NodeSample sample in mapped.Samples)
                {
                    encoded += sample.WriteTo(writer) ? 1 : 0;
                }

                refused = mapped.Rejections;
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

                refused = result.Rejections;
            }

            CountRejections(target, parsed, refused);

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

    /// <summary>Counts the page's refused lines and samples by reason, and logs the first (rate-limited per target).</summary>
    private void CountRejections(ScrapeTarget target, PrometheusParseResult parsed, SampleRejections refused)
    {
        int total = parsed.RejectedCount + refused.Total;
        if (total == 0)
        {
            return;
        }

        foreach (PrometheusErrorKind kind in Enum.GetValues<PrometheusErrorKind>())
        {
            metrics.Rejected(Source, parsed.Rejections(kind) + refused[kind], kind.ReasonLabel());
        }

        if (!_throttle.ShouldLog(target.Name + ":page", out long suppressed))
        {
            return;
        }

        if (parsed.Errors.Count > 0)
        {
            PrometheusParseError first = parsed.Errors[0];
            LogBadPage(logger, target.Name, total, first.Kind.ReasonLabel(), "line " + first.Line.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + first.Reason, suppressed);
        }
        else if (refused.Reasons.Count > 0)
        {
            (PrometheusErrorKind kind, string reason) = refused.Reasons[0];
            LogBadPage(logger, target.Name, total, kind.ReasonLabel(), reason, suppressed);
        }
    }

    private async Task<(byte[] Page, int Length, PrometheusFormat Format)> FetchAsync(ScrapeTarget target, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(target.Timeout);
        HttpClient client = httpClients.CreateClient(nameof(ScrapeService));
        using var request = new HttpRequestMessage(HttpMethod.Get, target.Url);
        request.Headers.Accept.ParseAdd("text/plain;version=0.0.4;q=1,*/*;q=0.1");
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        PrometheusFormat format = string.Equals(response.Content.Headers.ContentType?.MediaType, "application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? PrometheusFormat.OpenMetrics
            : PrometheusFormat.Text;
        ICollection<string> encodings = response.Content.Headers.ContentEncoding;
        bool gzip = encodings.Count == 1 && string.Equals(encodings.First(), "gzip", StringComparison.OrdinalIgnoreCase);
        if (encodings.Count > 0 && !gzip && !(encodings.Count == 1 && string.Equals(encodings.First(), "identity", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidDataException($"the page's content encoding '{string.Join(", ", encodings)}' is not supported: gzip or none");
        }

        long max = options.Value.MaxPageBytes;
        await using Stream body = await response.Content.ReadAsStreamAsync(cts.Token);
        (byte[] raw, int rawLength) = await ReadBoundedAsync(body, max, "the page", cts.Token);
        if (!gzip)
        {
            return (raw, rawLength, format);
        }

        try
        {
            using var compressed = new MemoryStream(raw, 0, rawLength, writable: false);
            await using var decoder = new GZipStream(compressed, CompressionMode.Decompress);
            (byte[] page, int length) = await ReadBoundedAsync(decoder, max, "the decoded page", cts.Token);

            // GZipStream ends a truncated stream without an error: the trailer's ISIZE (the decoded size, mod 2^32)
            // must match, as it cannot by chance when the trailer is missing. A page of several gzip members is refused too.
            if (rawLength < 18 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(rawLength - 4)) != (uint)length)
            {
                ArrayPool<byte>.Shared.Return(page);
                throw new InvalidDataException("the gzip page is truncated or corrupt: its trailer does not give the decoded size");
            }

            return (page, length, format);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Reads <paramref name="source"/> to its end into a pooled buffer, failing past <paramref name="max"/> bytes.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBoundedAsync(Stream source, long max, string what, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(256 * 1024, max + 1));
        int length = 0;
        while (true)
        {
            if (length > max)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw new InvalidDataException($"{what} is larger than {ScrapeOptions.SectionName}:MaxPageBytes ({max} bytes)");
            }

            if (length == buffer.Length)
            {
                byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            int read;
            try
            {
                read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            if (read == 0)
            {
                return (buffer, length);
            }

            length += read;
        }
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Scrape of {Target} ({Url}) failed: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogScrapeFailed(ILogger logger, string target, Uri url, string reason, long suppressed);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Page of {Target} had {Rejected} refused lines or samples; the first ({Kind}): {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogBadPage(ILogger logger, string target, int rejected, string kind, string reason, long suppressed);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Page of {Target} had {Dropped} workloads beyond {Limit} on one GPU (Collector:Scrape:MaxWorkloadsPerGpu); they were dropped ({Suppressed} similar warnings suppressed)")]
    private static partial void LogWorkloadLimit(ILogger logger, string target, int dropped, int limit, long suppressed);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "The spool is full: {Points} points scraped from {Target} were dropped ({Suppressed} similar warnings suppressed)")]
    private static partial void LogSpoolFull(ILogger logger, string target, int points, long suppressed);
}
