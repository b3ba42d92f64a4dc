using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// OTLP/HTTP metrics on <c>POST /v1/metrics</c>, protobuf (<c>application/x-protobuf</c>) or JSON
/// (<c>application/json</c>). GPU readings under the hardware semantic conventions become <see cref="GpuSample"/>;
/// other metrics are acknowledged and ignored. Refused data points are reported through OTLP's partial success. A token
/// bound to a tenant tags every sample with it and may not name another namespace (<see cref="TenantBinding"/>).
/// </summary>
public sealed partial class OtlpMetricsIngest(
    PointGate gate,
    IngestPipeline pipeline,
    CollectorMetrics metrics,
    IOptions<IngestLimitsOptions> limits,
    ILogger<OtlpMetricsIngest> logger)
{
    public const string Source = "otlp";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/v1/metrics", (HttpContext context, OtlpMetricsIngest ingest) => ingest.HandleAsync(context)).RequireIngestToken();
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IngestCaller caller = IngestCaller.Of(context.User);

        string contentType = context.Request.ContentType ?? string.Empty;
        bool json = contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
        if (!json && !contentType.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            return IngestError.UnsupportedMedia($"content type '{contentType}' is not OTLP: send application/x-protobuf or application/json").ToResult();
        }

        (RequestBody? body, IngestError? error) = await RequestBody.ReadAsync(context.Request, limits.Value.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            return error!.ToResult();
        }

        OtlpExport export;
        using (body)
        {
            try
            {
                export = json ? OtlpJsonReader.Read(body.Span) : OtlpProtobufReader.Read(body.Span);
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or FormatException or OverflowException or InvalidOperationException)
            {
                metrics.Rejected(Source, 1, "unreadable_body");
                return IngestError.BadRequest("the OTLP body cannot be read: " + ex.Message).ToResult();
            }
        }

        (List<GpuSample> samples, _, List<OtlpRejection> rejections) = OtlpGpuMapper.Map(export);
        using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 64 * 1024);
        foreach (GpuSample unbound in samples)
        {
            GpuSample sample = unbound with { Tenant = caller.Tenant };
            string? reason = TenantBinding.NamespaceConflict(caller, sample.Namespace) ?? gate.Check(Measurements.GpuSample, [new(Tags.Node, sample.Node), new(Tags.GpuUuid, sample.GpuUuid ?? string.Empty)], UnixTime.ToNanoseconds(sample.Time));
            if (reason is null && !sample.WriteTo(writer))
            {
                reason = writer.LastRejection;
            }

            if (reason is not null)
            {
                rejections.Add(new OtlpRejection("gpu " + sample.GpuUuid, reason));
            }
        }

        if (!await pipeline.AcceptAsync(writer, Source, context.RequestAborted))
        {
            return IngestError.SpoolFull(pipeline.RetryAfter).ToResult();
        }

        metrics.Rejected(Source, rejections.Count);
        string? message = rejections.Count == 0 ? null
            : string.Join("; ", rejections.Take(limits.Value.MaxErrorsReported).Select(r => $"{r.Metric}: {r.Reason}"));
        if (message is not null)
        {
            LogRejected(logger, rejections.Count, message);
        }

        return json ? new JsonResponse(rejections.Count, message) : new ProtobufResponse(rejections.Count, message);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "OTLP: refused {Rejected} data points: {Message}")]
    private static partial void LogRejected(ILogger logger, int rejected, string message);

    /// <summary>ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1 { int64 rejected_data_points = 1; string error_message = 2; } }.</summary>
    private sealed class ProtobufResponse(int rejected, string? message) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = "application/x-protobuf";
            if (rejected == 0)
            {
                return;
            }

            byte[] text = Encoding.UTF8.GetBytes(message ?? string.Empty);
            using var inner = new MemoryStream();
            inner.WriteByte(0x08);
            WriteVarint(inner, (ulong)rejected);
            inner.WriteByte(0x12);
            WriteVarint(inner, (ulong)text.Length);
            inner.Write(text);
            using var outer = new MemoryStream();
            outer.WriteByte(0x0A);
            WriteVarint(outer, (ulong)inner.Length);
            inner.WriteTo(outer);
            await httpContext.Response.Body.WriteAsync(outer.ToArray());
        }

        private static void WriteVarint(Stream stream, ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            stream.WriteByte((byte)value);
        }
    }

    private sealed class JsonResponse(int rejected, string? message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = "application/json";
            string body = rejected == 0
                ? "{}"
                : "{\"partialSuccess\":{\"rejectedDataPoints\":\"" + rejected.ToString(CultureInfo.InvariantCulture) + "\",\"errorMessage\":" + JsonSerializer.Serialize(message ?? string.Empty, IngestJsonContext.Default.String) + "}}";
            return httpContext.Response.WriteAsync(body);
        }
    }
}
