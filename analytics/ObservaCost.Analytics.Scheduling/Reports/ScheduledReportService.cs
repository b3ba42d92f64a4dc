using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Analytics.Scheduling.Reports;

/// <summary>What one scheduled run did: the period, the files written, the files the webhook took (or null without one).</summary>
public sealed record ScheduledReportResult(ReportPeriod Period, IReadOnlyList<string> Files, int? Delivered);

/// <summary>
/// The scheduled reports' work, without Quartz: the previous complete UTC week or month before "now", built once and
/// written in each configured format to the output directory (file names with the period), each file then POSTed to
/// the optional webhook with a bounded number of tries. A webhook failure is counted
/// (<c>observacost.reports.webhook.failures</c>) and logged, and the file stays written.
/// </summary>
public sealed partial class ScheduledReportService
{
    public const string MeterName = "ObservaCost.Reports";
    public const string HttpClientName = "observacost-reports";

    private readonly EfficiencyReportBuilder _builder;
    private readonly ReportWriters _writers;
    private readonly ReportScheduleOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _clock;
    private readonly ILogger<ScheduledReportService> _logger;
    private readonly Counter<long> _written;
    private readonly Counter<long> _webhookFailures;

    public ScheduledReportService(
        EfficiencyReportBuilder builder,
        ReportWriters writers,
        IOptions<ReportScheduleOptions> options,
        IHttpClientFactory http,
        TimeProvider clock,
        IMeterFactory meters,
        ILogger<ScheduledReportService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        _builder = builder;
        _writers = writers;
        _options = options.Value;
        _http = http;
        _clock = clock;
        _logger = logger;
        Meter meter = meters.Create(MeterName);
        _written = meter.CreateCounter<long>("observacost.reports.files.written", "{file}", "Report files the scheduled jobs wrote.");
        _webhookFailures = meter.CreateCounter<long>("observacost.reports.webhook.failures", "{file}", "Report files the webhook did not take after every try.");
    }

    /// <summary>The previous complete period before <paramref name="now"/>: Monday 00:00 UTC to Monday, or the 1st to the 1st.</summary>
    public static ReportPeriod PreviousComplete(ReportCadence cadence, DateTimeOffset now)
    {
        DateTimeOffset day = new(now.UtcDateTime.Date, TimeSpan.Zero);
        if (cadence == ReportCadence.Weekly)
        {
            int sinceMonday = ((int)day.DayOfWeek + 6) % 7;
            DateTimeOffset thisMonday = day.AddDays(-sinceMonday);
            return new ReportPeriod(thisMonday.AddDays(-7), thisMonday);
        }

        var firstOfMonth = new DateTimeOffset(day.Year, day.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return new ReportPeriod(firstOfMonth.AddMonths(-1), firstOfMonth);
    }

    public async Task<ScheduledReportResult> RunAsync(ReportCadence cadence, CancellationToken cancellationToken = default)
    {
        ScheduledReportOptions options = _options.For(cadence);
        ReportPeriod period = PreviousComplete(cadence, _clock.GetUtcNow());
        EfficiencyReport report = await _builder.BuildAsync(new ReportRequest(period.From, period.To, ComparePrevious: true), cancellationToken);
        string directory = options.OutputDirectory ?? throw new InvalidOperationException($"{ReportScheduleOptions.SectionName}:{cadence}:{nameof(ScheduledReportOptions.OutputDirectory)} is not set.");
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        int delivered = 0;
        foreach (string format in options.FormatList)
        {
            if (!_writers.TryGet(format, out IReportWriter? writer))
            {
                throw new InvalidOperationException(_writers.UnknownFormatMessage(format));
            }

            string path = Path.Combine(directory, ReportWriters.FileName(period.From, period.To, writer));
            using (var body = new MemoryStream())
            {
                await writer.WriteAsync(report, body, cancellationToken);
                await File.WriteAllBytesAsync(path, body.ToArray(), cancellationToken);
            }

            files.Add(path);
            _written.Add(1);
            LogWritten(_logger, cadence, path);
            if (options.WebhookUrl is not null && await PostAsync(options, path, writer, cancellationToken))
            {
                delivered++;
            }
        }

        return new ScheduledReportResult(period, files, options.WebhookUrl is null ? null : delivered);
    }

    /// <summary>POSTs the file, trying at most <see cref="ScheduledReportOptions.WebhookAttempts"/> times; false (counted, logged) when every try failed.</summary>
    private async Task<bool> PostAsync(ScheduledReportOptions options, string path, IReportWriter writer, CancellationToken cancellationToken)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        string reason = string.Empty;
        for (int attempt = 1; attempt <= options.WebhookAttempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(options.WebhookRetryDelay, _clock, cancellationToken);
            }

            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(writer.ContentType);
            content.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = Path.GetFileName(path) };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.WebhookTimeout);
            try
            {
                using HttpClient client = _http.CreateClient(HttpClientName);
                using HttpResponseMessage response = await client.PostAsync(options.WebhookUrl, content, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                reason = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                reason = ex.Message;
            }
        }

        _webhookFailures.Add(1);
        LogWebhookFailed(_logger, Path.GetFileName(path), options.WebhookUrl!.Host, options.WebhookAttempts, reason);
        return false;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Cadence} report written to {Path}")]
    private static partial void LogWritten(ILogger logger, ReportCadence cadence, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Report {File} could not be posted to the webhook at {Host} after {Attempts} tries: {Reason}; the file is kept")]
    private static partial void LogWebhookFailed(ILogger logger, string file, string host, int attempts, string reason);
}
