using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>
/// <c>POST /api/v1/requests/import?from=&lt;ISO time&gt;&amp;to=&lt;ISO time&gt;</c>: the HTTP form of the
/// <c>import-requests</c> verb, for history older than the live path's close watermark. The same body as
/// <c>/api/v1/requests</c> (NDJSON or a JSON array, at most <c>Collector:Limits:MaxBodyBytes</c>), the same
/// authentication (a tenant-bound token sets the tenant of every record), and the same mechanism as the verb
/// (<see cref="RequestLogImport"/>): the <c>request_log_import</c> windows of each imported model in [from, to) are
/// replaced, so posting the same body again leaves the same windows. Each refused record is named by line or index
/// with its reason (outside the range, too many open groups, or a parse refusal). Imports run one at a time.
/// </summary>
public sealed partial class RequestLogImportIngest(
    ITimeSeriesStore store,
    CollectorMetrics metrics,
    IOptions<IngestLimitsOptions> limits,
    IOptions<RequestLogOptions> options,
    TimeProvider time,
    ILogger<RequestLogImportIngest> logger) : IDisposable
{
    /// <summary>The source label of the collector's own metrics for this endpoint.</summary>
    public const string Source = "request_log_import";

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/api/v1/requests/import", (HttpContext context, RequestLogImportIngest ingest) => ingest.HandleAsync(context)).RequireIngestToken();
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IngestCaller caller = IngestCaller.Of(context.User);

        if (!TryReadTime(context.Request.Query["from"], out DateTimeOffset from) || !TryReadTime(context.Request.Query["to"], out DateTimeOffset to))
        {
            return IngestError.BadRequest("from and to are required ISO 8601 times, e.g. ?from=2026-11-23T00:00:00Z&to=2026-11-23T01:00:00Z").ToResult();
        }

        if (RequestLogIngest.FormatOf(context.Request, out IngestError? mediaError) is not RequestLogImportFormat format)
        {
            return mediaError!.ToResult();
        }

        (RequestBody? body, IngestError? error) = await RequestBody.ReadAsync(context.Request, limits.Value.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            return error!.ToResult();
        }

        RequestLogImportSummary summary;
        using (body)
        {
            await _oneAtATime.WaitAsync(context.RequestAborted);
            try
            {
                summary = await new RequestLogImport(store, options.Value, time).ImportAsync(body.Memory, format, from, to, caller.Tenant, context.RequestAborted);
            }
            catch (ArgumentException ex)
            {
                return IngestError.BadRequest(ex.Message.Replace("--from", "from", StringComparison.Ordinal).Replace("--to", "to", StringComparison.Ordinal)).ToResult();
            }
            catch (Exception ex) when (ex is StoreUnavailableException or StoreRequestException)
            {
                LogStoreFailed(logger, caller.Name, ex.Message);
                return new IngestError(StatusCodes.Status503ServiceUnavailable, "the store did not take the import: " + ex.Message, TimeSpan.FromSeconds(5)).ToResult();
            }
            finally
            {
                _oneAtATime.Release();
            }
        }

        var rejected = summary.Refused
            .Select(r => new RejectedRecord(r.LineNumber, r.ArrayIndex, r.Reason + ": " + r.Message))
            .ToList();
        metrics.Received(Source, summary.RecordsImported);
        metrics.Rejected(Source, rejected.Count);
        LogImported(logger, caller.Name, summary.RecordsImported, rejected.Count, summary.WindowsWritten, from, to);
        var response = new IngestResponse(summary.RecordsImported, rejected.Count, rejected.Take(limits.Value.MaxErrorsReported).ToList(), null);
        int status = summary.RecordsImported == 0 && rejected.Count > 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        return Results.Json(response, IngestJsonContext.Default.IngestResponse, statusCode: status);
    }

    public void Dispose() => _oneAtATime.Dispose();

    private static bool TryReadTime(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    [LoggerMessage(EventId = 520, Level = LogLevel.Information, Message = "Request log import from {Caller}: {Imported} records imported, {Refused} refused, {Windows} windows written in [{From}, {To})")]
    private static partial void LogImported(ILogger logger, string caller, int imported, int refused, int windows, DateTimeOffset from, DateTimeOffset to);

    [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "Request log import from {Caller} failed in the store: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string caller, string reason);
}
