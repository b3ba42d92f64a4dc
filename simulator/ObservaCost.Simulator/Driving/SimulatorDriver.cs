using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Simulator.Output;

namespace ObservaCost.Simulator.Driving;

/// <summary>How far a history write is: <paramref name="Done"/> of <paramref name="Total"/> hours of the range.</summary>
public readonly record struct SimulatorProgress(string Phase, int Done, int Total);

/// <summary>What a history write sent and what the collector kept; the time spent waiting on <c>/write</c> and on the imports.</summary>
public sealed record HistorySummary(long GpuSamplesWritten, long RequestsImported, long RequestsRefused, TimeSpan Elapsed, TimeSpan WriteTime, TimeSpan ImportTime);

/// <summary>
/// Drives a <see cref="FleetSimulator"/> against a collector through the collector's real interfaces only:
/// <c>/write</c> (line protocol) and <c>/api/v1/requests/import</c> for the history, scraped dcgm-exporter pages and
/// <c>/api/v1/requests</c> for the live phase. Never the store.
/// </summary>
public sealed partial class SimulatorDriver(FleetSimulator simulator, HttpClient http, TimeProvider time, string? bearerToken = null, ILogger<SimulatorDriver>? logger = null)
{
    /// <summary>
    /// The longest stretch of live requests sent again to a collector that did not take them; older ones are dropped
    /// (and logged). The collector's live path refuses records whose window closed (10 s windows, 30 s lateness by
    /// default), so resending older ones would only be refused as late.
    /// </summary>
    public static readonly TimeSpan MaxLiveBacklog = TimeSpan.FromSeconds(30);

    private const int MaxAttempts = 5;

    private readonly ILogger _logger = logger ?? NullLogger<SimulatorDriver>.Instance;
    private DateTimeOffset? _requestsSentUntil;

    public FleetSimulator Simulator => simulator;

    /// <summary>The page server of the live phase, once <see cref="StartPagesAsync"/> (or <see cref="RunLiveAsync"/>) started it.</summary>
    public SimulatorPageServer? Pages { get; private set; }

    /// <summary>Starts serving the nodes' dcgm-exporter pages on loopback (port 0: a free one); idempotent.</summary>
    public async Task<SimulatorPageServer> StartPagesAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        Pages ??= await SimulatorPageServer.StartAsync(port, cancellationToken);
        return Pages;
    }

    /// <summary>
    /// The configuration entries that point the collector's scraper at the simulated pages: one
    /// <c>Collector:Scrape:Targets:i</c> per node (from <paramref name="firstIndex"/>), kind Dcgm, with the node's pool
    /// and cluster, the served model read from the pages' <c>model</c> label, and <c>ExtraLabels:source=simulated</c>
    /// so every scraped <c>gpu_sample</c> carries the tag.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> ScrapeTargetConfiguration(FleetSimulator simulator, Uri pagesBase, TimeSpan interval, int firstIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        ArgumentNullException.ThrowIfNull(pagesBase);
        var config = new Dictionary<string, string?>(StringComparer.Ordinal);
        int i = firstIndex;
        foreach (SimulatedGpu first in simulator.Gpus.DistinctBy(g => g.Node))
        {
            string p = string.Create(CultureInfo.InvariantCulture, $"Collector:Scrape:Targets:{i++}:");
            config[p + "Name"] = first.Node;
            config[p + "Url"] = new Uri(pagesBase, "nodes/" + Uri.EscapeDataString(first.Node) + "/metrics").ToString();
            config[p + "Kind"] = "Dcgm";
            config[p + "Interval"] = interval.ToString("c", CultureInfo.InvariantCulture);
            config[p + "Timeout"] = (interval < TimeSpan.FromSeconds(5) ? interval : TimeSpan.FromSeconds(5)).ToString("c", CultureInfo.InvariantCulture);
            config[p + "Node"] = first.Node;
            config[p + "Pool"] = first.Pool;
            config[p + "Cluster"] = simulator.Options.Cluster;
            config[p + "ServedModelLabel"] = "model";
            config[p + "ExtraLabels:source"] = FleetSimulator.SourceTag;
        }

        return config;
    }

    /// <summary>
    /// Writes [<paramref name="from"/>, <paramref name="to"/>) of history: GPU samples every
    /// <c>HistorySampleStep</c> to <c>/write</c>, and the requests to <c>/api/v1/requests/import</c> in ranges of
    /// <c>HistoryImportChunk</c> (past the live path's close watermark), without latencies
    /// (<see cref="SimulatorEncoding.RequestLog"/>). Both ends must be multiples of the sample
    /// step. Throws <see cref="HttpRequestException"/> when the collector refuses a body outright.
    /// </summary>
    public async Task<HistorySummary> WriteHistoryAsync(Uri collector, DateTimeOffset from, DateTimeOffset to, IProgress<SimulatorProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collector);
        TimeSpan step = simulator.Options.HistorySampleStep;
        CheckHistoryRange(from, to, step, allowEmpty: false);

        long startTimestamp = time.GetTimestamp();
        TimeSpan chunk = simulator.Options.HistoryImportChunk;
        int total = (int)Math.Ceiling((to - from) / chunk);
        long samples = 0, imported = 0, refused = 0;
        TimeSpan writeTime = TimeSpan.Zero, importTime = TimeSpan.Zero;
        using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 1 << 20);
        int done = 0;
        for (DateTimeOffset start = from; start < to; start += chunk)
        {
            DateTimeOffset end = start + chunk < to ? start + chunk : to;
            for (DateTimeOffset t = start; t < end; t += step)
            {
                SimulatorEncoding.WriteGpuSamples(writer, simulator.Step(t), simulator.Options.Cluster, simulator.Options.HistoryTemperature);
                if (writer.PointCount >= simulator.Options.MaxLinesPerWrite)
                {
                    long sent = time.GetTimestamp();
                    samples += await WriteLinesAsync(collector, writer, cancellationToken);
                    writeTime += time.GetElapsedTime(sent);
                }
            }

            long written = time.GetTimestamp();
            samples += await WriteLinesAsync(collector, writer, cancellationToken);
            writeTime += time.GetElapsedTime(written);
            long importStart = time.GetTimestamp();
            (int accepted, int rejected) = await PostRequestsAsync(
                new Uri(collector, string.Create(CultureInfo.InvariantCulture, $"api/v1/requests/import?from={Uri.EscapeDataString(start.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(end.ToString("O", CultureInfo.InvariantCulture))}")),
                SimulatorEncoding.RequestLog(simulator.RequestsBetween(start, end), latency: false),
                cancellationToken);
            importTime += time.GetElapsedTime(importStart);
            imported += accepted;
            refused += rejected;
            progress?.Report(new SimulatorProgress("history", ++done, total));
        }

        _requestsSentUntil = to;
        TimeSpan elapsed = time.GetElapsedTime(startTimestamp);
        LogHistoryWritten(_logger, from, to, samples, imported, refused, elapsed.TotalSeconds);
        return new HistorySummary(samples, imported, refused, elapsed, writeTime, importTime);
    }

    /// <summary>
    /// Steps the fleet through [<paramref name="from"/>, <paramref name="to"/>) at <c>HistorySampleStep</c> without
    /// sending anything, so that a history written from <paramref name="to"/> on carries the energy counters it would
    /// carry had [from, to) been written first (<c>run --demo</c> writes the newest part first and the older part
    /// later, through a second simulator of the same seed and anchor). Both ends must be multiples of the sample step.
    /// </summary>
    public void SkipHistory(DateTimeOffset from, DateTimeOffset to)
    {
        TimeSpan step = simulator.Options.HistorySampleStep;
        CheckHistoryRange(from, to, step, allowEmpty: true);
        for (DateTimeOffset t = from; t < to; t += step)
        {
            simulator.Step(t);
        }
    }

    /// <summary>
    /// The live phase, until <paramref name="cancellationToken"/> is cancelled: every <c>LiveSampleStep</c> of the
    /// <see cref="TimeProvider"/> the fleet steps to the new time, the pages (started if needed) show the new readings,
    /// and the requests since the last post go to <c>/api/v1/requests</c>. A post that fails is sent again with the
    /// next one, for at most <see cref="MaxLiveBacklog"/>.
    /// </summary>
    public async Task RunLiveAsync(Uri collector, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collector);
        SimulatorPageServer pages = await StartPagesAsync(cancellationToken: cancellationToken);
        TimeSpan step = simulator.Options.LiveSampleStep;
        var requestsUri = new Uri(collector, "api/v1/requests");
        DateTimeOffset now = time.GetUtcNow();
        var next = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % step.Ticks), TimeSpan.Zero);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                pages.Update(simulator.Step(next));
                DateTimeOffset from = _requestsSentUntil is DateTimeOffset sent && sent < next ? sent : next - step;
                if (next - from > MaxLiveBacklog)
                {
                    LogBacklogDropped(_logger, from, next - MaxLiveBacklog);
                    from = next - MaxLiveBacklog;
                }

                try
                {
                    await PostRequestsAsync(requestsUri, SimulatorEncoding.RequestLog(simulator.RequestsBetween(from, next)), cancellationToken);
                    _requestsSentUntil = next;
                }
                catch (HttpRequestException ex)
                {
                    LogLivePostFailed(_logger, requestsUri, ex.Message);
                }

                next += step;
                TimeSpan wait = next - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped: the live phase ends with the last post that went through.
        }
    }

    private static void CheckHistoryRange(DateTimeOffset from, DateTimeOffset to, TimeSpan step, bool allowEmpty)
    {
        if (to < from || (to == from && !allowEmpty) || from.UtcTicks % step.Ticks != 0 || to.UtcTicks % step.Ticks != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the history [{from:O}, {to:O}) must be a {(allowEmpty ? "" : "non-empty ")}range whose ends are multiples of {step}"), nameof(from));
        }
    }

    private async Task<long> WriteLinesAsync(Uri collector, LineProtocolWriter writer, CancellationToken cancellationToken)
    {
        if (writer.PointCount == 0)
        {
            return 0;
        }

        int points = writer.PointCount;
        (int accepted, int rejected) = await SendAsync(new Uri(collector, "write?precision=ns"), writer.WrittenMemory, "text/plain", cancellationToken);
        writer.Reset();
        if (rejected > 0)
        {
            LogRefused(_logger, "write", rejected, points);
        }

        return accepted < 0 ? points : accepted;
    }

    private async Task<(int Accepted, int Rejected)> PostRequestsAsync(Uri uri, byte[] ndjson, CancellationToken cancellationToken)
    {
        if (ndjson.Length == 0)
        {
            return (0, 0);
        }

        (int accepted, int rejected) = await SendAsync(uri, ndjson, "application/x-ndjson", cancellationToken);
        if (rejected > 0)
        {
            LogRefused(_logger, uri.AbsolutePath, rejected, accepted + rejected);
        }

        return (Math.Max(0, accepted), rejected);
    }

    /// <summary>Posts a body; retries 429 and 503 after their Retry-After. Returns the collector's counts (accepted −1 for a bare 204).</summary>
    private async Task<(int Accepted, int Rejected)> SendAsync(Uri uri, ReadOnlyMemory<byte> body, string contentType, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ReadOnlyMemoryContent(body) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            if (bearerToken is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
            }

            using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                return (-1, 0);
            }

            string text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && attempt < MaxAttempts)
            {
                TimeSpan wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }

            if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest && TryReadCounts(text, out int accepted, out int rejected) && (accepted > 0 || rejected > 0))
            {
                return (accepted, rejected);
            }

            if (response.IsSuccessStatusCode)
            {
                return (-1, 0);
            }

            throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"{uri.AbsolutePath} answered {(int)response.StatusCode}: {text[..Math.Min(text.Length, 500)]}"), null, response.StatusCode);
        }
    }

    private static bool TryReadCounts(string text, out int accepted, out int rejected)
    {
        accepted = rejected = 0;
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.TryGetProperty("accepted", out JsonElement a) && a.TryGetInt32(out accepted)
                && json.RootElement.TryGetProperty("rejected", out JsonElement r) && r.TryGetInt32(out rejected);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Simulated history [{From}, {To}) written: {Samples} GPU samples, {Imported} requests imported, {Refused} refused, in {ElapsedSeconds:F1} s")]
    private static partial void LogHistoryWritten(ILogger logger, DateTimeOffset from, DateTimeOffset to, long samples, long imported, long refused, double elapsedSeconds);

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "The collector refused {Refused} of {Sent} simulated records on {Path}")]
    private static partial void LogRefused(ILogger logger, string path, int refused, int sent);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "Live simulated requests to {Uri} not taken, sent again with the next post: {Reason}")]
    private static partial void LogLivePostFailed(ILogger logger, Uri uri, string reason);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "Live simulated requests from {From} to {To} dropped: the collector did not take them within the backlog limit")]
    private static partial void LogBacklogDropped(ILogger logger, DateTimeOffset from, DateTimeOffset to);
}
