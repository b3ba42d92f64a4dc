using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>
/// <c>POST /api/v1/requests</c>: inference request logs as NDJSON or a JSON array. Good records are kept and
/// acknowledged once they are in the request journal; each refused record is named by line (NDJSON) or index (array)
/// with its reason. A token bound to a tenant sets the tenant of every record.
/// </summary>
public sealed partial class RequestLogIngest(
    RequestLogPipeline pipeline,
    CollectorMetrics metrics,
    IOptions<IngestLimitsOptions> limits,
    IOptions<RequestLogOptions> options,
    TimeProvider time,
    ILogger<RequestLogIngest> logger)
{
    private readonly RequestLogParser _parser = new(options.Value.Parser);
    private readonly LogThrottle _throttle = new(time, TimeSpan.FromSeconds(30));

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/api/v1/requests", (HttpContext context, RequestLogIngest ingest) => ingest.HandleAsync(context)).RequireIngestToken();
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IngestCaller caller = IngestCaller.Of(context.User);

        if (FormatOf(context.Request, out IngestError? mediaError) is not RequestLogImportFormat format)
        {
            return mediaError!.ToResult();
        }

        bool ndjson = format == RequestLogImportFormat.Ndjson;

        (RequestBody? body, IngestError? error) = await RequestBody.ReadAsync(context.Request, limits.Value.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            return error!.ToResult();
        }

        RequestLogParseResult parsed;
        using (body)
        {
            parsed = ndjson ? _parser.ParseNdjson(body.Span, time.GetUtcNow()) : _parser.Parse(body.Span, time.GetUtcNow());
        }

        var records = caller.Tenant is null
            ? parsed.Requests
            : parsed.Requests.Select(r => r with { Tenant = caller.Tenant }).ToList();
        RequestLogRefusals? refused = await pipeline.AppendAsync(records, context.RequestAborted);
        if (refused is null)
        {
            metrics.Rejected(RequestLogPipeline.Source, parsed.Requests.Count + parsed.Rejections.Count);
            return IngestError.SpoolFull(TimeSpan.FromSeconds(5)).ToResult();
        }

        var rejections = new List<RequestLogRejection>(parsed.Rejections);
        foreach (int i in refused.Late)
        {
            rejections.Add(parsed.Reject(i, RequestLogRejectionReason.LateRecord, pipeline.LateRecordMessage(records[i])));
        }

        foreach (int i in refused.TooManyOpenGroups)
        {
            rejections.Add(parsed.Reject(i, RequestLogRejectionReason.TooManyOpenGroups, pipeline.TooManyOpenGroupsMessage(records[i])));
        }

        var rejected = rejections
            .OrderBy(r => r.LineNumber ?? r.ArrayIndex)
            .Select(r => new RejectedRecord(r.LineNumber, r.ArrayIndex, r.Reason + ": " + r.Message))
            .ToList();
        int accepted = records.Count - refused.Count;
        metrics.Received(RequestLogPipeline.Source, accepted);
        metrics.Rejected(RequestLogPipeline.Source, rejected.Count);
        if (rejected.Count > 0 && _throttle.ShouldLog(caller.Name, out long suppressed))
        {
            LogRejected(logger, caller.Name, rejected.Count, accepted, rejected[0].Reason, suppressed);
        }

        var response = new IngestResponse(accepted, rejected.Count, rejected.Take(limits.Value.MaxErrorsReported).ToList(), null);
        int status = accepted == 0 && rejected.Count > 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        return Results.Json(response, IngestJsonContext.Default.IngestResponse, statusCode: status);
    }

    /// <summary>
    /// The body format from the content type: NDJSON (<c>application/x-ndjson</c>, <c>application/jsonl</c>,
    /// <c>application/jsonlines</c>, <c>application/x-jsonlines</c>) or a JSON array (<c>application/json</c>); null
    /// with a 415 error otherwise. Shared by <c>/api/v1/requests</c> and <c>/api/v1/requests/import</c>.
    /// </summary>
    internal static RequestLogImportFormat? FormatOf(HttpRequest request, out IngestError? error)
    {
        string contentType = request.ContentType ?? string.Empty;
        error = null;
        if (contentType.StartsWith("application/x-ndjson", StringComparison.OrdinalIgnoreCase) ||
            contentType.StartsWith("application/jsonl", StringComparison.OrdinalIgnoreCase) ||
            contentType.StartsWith("application/jsonlines", StringComparison.OrdinalIgnoreCase) ||
            contentType.StartsWith("application/x-jsonlines", StringComparison.OrdinalIgnoreCase))
        {
            return RequestLogImportFormat.Ndjson;
        }

        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return RequestLogImportFormat.Detect; // an array, as before: Parse reads an array when the body starts with '['
        }

        error = IngestError.UnsupportedMedia($"content type '{contentType}' is not JSON: send application/x-ndjson or application/json");
        return null;
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Warning, Message = "Request logs from {Caller}: refused {Rejected}, kept {Accepted}; first reason: {Reason} ({Suppressed} similar warnings suppressed)")]
    private static partial void LogRejected(ILogger logger, string caller, int rejected, int accepted, string reason, long suppressed);
}
