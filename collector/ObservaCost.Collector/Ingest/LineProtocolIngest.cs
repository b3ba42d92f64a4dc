using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Ingest;

/// <summary>
/// InfluxDB-compatible push: <c>POST /write</c> (v1) and <c>POST /api/v2/write</c> (v2), so Telegraf's
/// <c>outputs.influxdb</c> and <c>outputs.influxdb_v2</c> send here unchanged. <c>nvidia_smi</c> points become
/// <see cref="GpuSample"/>; other measurements pass through as they are. A token bound to a tenant sets the
/// <c>tenant</c> tag of every point. Answers like InfluxDB: 204 when all points were kept, 400 "partial write" with the
/// refused lines when some were not, 401, 413, 415, and 429 with Retry-After when the spool is full.
/// </summary>
public sealed partial class LineProtocolIngest(
    IngestAuthenticator authenticator,
    PointGate gate,
    IngestPipeline pipeline,
    CollectorMetrics metrics,
    IOptions<IngestLimitsOptions> limits,
    TimeProvider time,
    ILogger<LineProtocolIngest> logger)
{
    public const string Source = "line_protocol";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/write", (HttpContext context, LineProtocolIngest ingest) => ingest.HandleAsync(context, v2: false));
        endpoints.MapPost("/api/v2/write", (HttpContext context, LineProtocolIngest ingest) => ingest.HandleAsync(context, v2: true));
    }

    public async Task<IResult> HandleAsync(HttpContext context, bool v2)
    {
        ArgumentNullException.ThrowIfNull(context);
        IngestCaller? caller = authenticator.Authenticate(context, out string? authFailure);
        if (caller is null)
        {
            return IngestError.Unauthorized(authFailure!).ToResult();
        }

        string? contentType = context.Request.ContentType;
        if (!string.IsNullOrEmpty(contentType) &&
            !contentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase) &&
            !contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase) &&
            !contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return IngestError.UnsupportedMedia($"content type '{contentType}' is not line protocol: send text/plain").ToResult();
        }

        if (!WritePrecisionExtensions.TryParse(context.Request.Query["precision"], out WritePrecision precision))
        {
            return IngestError.BadRequest($"precision '{context.Request.Query["precision"]}' is not one of ns, n, us, u, ms, s").ToResult();
        }

        (RequestBody? body, IngestError? error) = await RequestBody.ReadAsync(context.Request, limits.Value.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            return error!.ToResult();
        }

        using (body)
        {
            var parseErrors = new List<LineError>();
            long now = UnixTime.ToNanoseconds(time.GetUtcNow());
            using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, Math.Max(body.Length + (body.Length / 4), 4096));
            var rejected = new List<RejectedRecord>();
            int accepted = 0;
            int pointIndex = 0;
            ReadOnlyMemory<byte> memory = body.Memory;
            bool copyAsSent = caller.Tenant is null && precision == WritePrecision.Nanoseconds;
            LineProtocolParser.Scan(
                body.Span,
                precision,
                now,
                line =>
                {
                    pointIndex++;
                    ReadOnlySpan<byte> data = memory.Span;
                    string? reason = gate.Check(line, data);
                    if (reason is not null)
                    {
                        rejected.Add(Refused(pointIndex, data.Slice(line.MeasurementOffset, line.MeasurementLength), reason));
                        return false;
                    }

                    bool nvidiaSmi = data.Slice(line.MeasurementOffset, line.MeasurementLength).SequenceEqual(TelegrafNvidiaSmi.MeasurementUtf8);
                    if (copyAsSent && !nvidiaSmi)
                    {
                        // Pass-through as sent: the scan has checked the line; copy its bytes.
                        writer.WriteRawLine(data.Slice(line.Offset, line.Length), line.HadTimestamp ? null : line.TimestampNanoseconds);
                        accepted++;
                        return false;
                    }

                    return true;
                },
                point =>
                {
                    bool ok = string.Equals(point.Measurement, TelegrafNvidiaSmi.Measurement, StringComparison.Ordinal)
                        ? TelegrafNvidiaSmi.Map(point, pool: null, cluster: null).WriteTo(writer)
                        : WritePassThrough(writer, point, caller.Tenant);
                    if (ok)
                    {
                        accepted++;
                    }
                    else
                    {
                        rejected.Add(Refused(pointIndex, System.Text.Encoding.UTF8.GetBytes(point.Measurement), writer.LastRejection ?? "the point cannot be stored"));
                    }
                },
                parseErrors);

            rejected.InsertRange(0, parseErrors.Select(e => new RejectedRecord(e.Line, null, "unable to parse '" + e.Text + "': " + e.Reason)));

            if (!await pipeline.AcceptAsync(writer, Source, context.RequestAborted))
            {
                metrics.Rejected(Source, pointIndex + parseErrors.Count);
                return IngestError.SpoolFull(pipeline.RetryAfter).ToResult();
            }

            metrics.Rejected(Source, rejected.Count);
            if (rejected.Count == 0)
            {
                return Results.NoContent();
            }

            LogPartial(logger, caller.Name, accepted, rejected.Count, rejected[0].Reason);
            string summary = string.Join("\n", rejected.Take(limits.Value.MaxErrorsReported).Select(r => r.Line is { } line ? $"line {line}: {r.Reason}" : r.Reason));
            var response = new IngestResponse(
                accepted,
                rejected.Count,
                rejected.Take(limits.Value.MaxErrorsReported).ToList(),
                $"partial write: {summary} dropped={rejected.Count.ToString(CultureInfo.InvariantCulture)}");
            return Results.Json(response, IngestJsonContext.Default.IngestResponse, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static RejectedRecord Refused(int pointIndex, ReadOnlySpan<byte> measurement, string reason) =>
        new(null, null, string.Create(CultureInfo.InvariantCulture, $"point {pointIndex} of measurement '{System.Text.Encoding.UTF8.GetString(measurement)}': {reason}"));

    private static bool WritePassThrough(LineProtocolWriter writer, ParsedPoint point, string? tenant)
    {
        writer.Begin(point.Measurement);
        bool tenantWritten = false;
        foreach (KeyValuePair<string, string> tag in point.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (tenant is not null && !tenantWritten && string.CompareOrdinal(tag.Key, Tags.Tenant) >= 0)
            {
                writer.Tag(Tags.Tenant, tenant);
                tenantWritten = true;
                if (string.Equals(tag.Key, Tags.Tenant, StringComparison.Ordinal))
                {
                    continue;
                }
            }

            writer.Tag(tag.Key, tag.Value);
        }

        if (tenant is not null && !tenantWritten)
        {
            writer.Tag(Tags.Tenant, tenant);
        }

        foreach (KeyValuePair<string, FieldValue> field in point.Fields)
        {
            writer.Field(field.Key, field.Value);
        }

        return writer.End(point.TimestampNanoseconds);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Line protocol from {Caller}: kept {Accepted}, refused {Rejected}; first reason: {Reason}")]
    private static partial void LogPartial(ILogger logger, string caller, int accepted, int rejected, string reason);
}
