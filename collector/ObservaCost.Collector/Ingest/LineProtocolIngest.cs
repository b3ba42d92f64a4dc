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
/// <c>tenant</c> tag of every point and may not name another namespace; computed measurements are refused
/// (<see cref="TenantBinding"/>). Answers like InfluxDB: 204 when all points were kept, 400 "partial write" with the
/// refused lines when some were not, 401, 413, 415, and 429 with Retry-After when the spool is full.
/// </summary>
public sealed partial class LineProtocolIngest(
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
        endpoints.MapPost("/write", (HttpContext context, LineProtocolIngest ingest) => ingest.HandleAsync(context, v2: false)).RequireIngestToken();
        endpoints.MapPost("/api/v2/write", (HttpContext context, LineProtocolIngest ingest) => ingest.HandleAsync(context, v2: true)).RequireIngestToken();
    }

    public async Task<IResult> HandleAsync(HttpContext context, bool v2)
    {
        ArgumentNullException.ThrowIfNull(context);
        IngestCaller caller = IngestCaller.Of(context.User);

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
            var output = new AcceptedLines(body.Memory);
            var rejected = new List<RejectedRecord>();
            int pointIndex = 0;
            ReadOnlyMemory<byte> memory = body.Memory;
            bool copyAsSent = caller.Tenant is null && precision == WritePrecision.Nanoseconds;
            var models = new CanonicalModelCheck();
            LineProtocolParser.Scan(
                body.Span,
                precision,
                now,
                line =>
                {
                    pointIndex++;
                    ReadOnlySpan<byte> data = memory.Span;
                    string? reason = InvalidText(data.Slice(line.Offset, line.Length))
                        ?? TenantBinding.ComputedMeasurement(data.Slice(line.MeasurementOffset, line.MeasurementLength))
                        ?? gate.Check(line, data);
                    if (reason is not null)
                    {
                        output.Diverge();
                        rejected.Add(Refused(pointIndex, data.Slice(line.MeasurementOffset, line.MeasurementLength), reason, line.LineNumber));
                        return false;
                    }

                    bool rewritten = data.Slice(line.MeasurementOffset, line.MeasurementLength).SequenceEqual(TelegrafNvidiaSmi.MeasurementUtf8)
                        || GpuSampleToNormalise(line, data, models);
                    if (copyAsSent && !rewritten && !line.HasUnsigned)
                    {
                        // Pass-through as sent: the scan has checked the line.
                        if (parseErrors.Count > 0 || !line.HadTimestamp)
                        {
                            output.Diverge();
                        }

                        output.AddAsSent(line.Offset, line.Length, line.HadTimestamp ? null : line.TimestampNanoseconds);
                        return false;
                    }

                    output.Diverge();
                    return true;
                },
                point =>
                {
                    LineProtocolWriter writer = output.Writer;
                    if (TenantBinding.NamespaceConflict(caller, point.GetTag(Tags.Namespace)) is string conflict)
                    {
                        rejected.Add(Refused(pointIndex, System.Text.Encoding.UTF8.GetBytes(point.Measurement), conflict));
                        return;
                    }

                    bool telegraf = string.Equals(point.Measurement, TelegrafNvidiaSmi.Measurement, StringComparison.Ordinal);
                    GpuSample? sample = telegraf ? TelegrafNvidiaSmi.Map(point, pool: null, cluster: null) : null;
                    ParsedPoint? identified = telegraf ? point : NormalisedGpuSample(point);
                    if ((telegraf && sample is null) || identified is null)
                    {
                        rejected.Add(Refused(pointIndex, System.Text.Encoding.UTF8.GetBytes(point.Measurement), GpuIdentity.MissingReason));
                        return;
                    }

                    bool ok = sample is not null
                        ? (sample with { Tenant = caller.Tenant }).WriteTo(writer)
                        : WritePassThrough(writer, identified, caller.Tenant);
                    if (ok)
                    {
                        output.Accepted++;
                    }
                    else
                    {
                        rejected.Add(Refused(pointIndex, System.Text.Encoding.UTF8.GetBytes(point.Measurement), writer.LastRejection ?? "the point cannot be stored"));
                    }
                },
                parseErrors);

            rejected.InsertRange(0, parseErrors.Select(e => new RejectedRecord(e.Line, null, "unable to parse '" + e.Text + "': " + e.Reason)));
            int accepted = output.Accepted;
            bool taken = output.CanSpoolBodyAsSent(parseErrors.Count)
                ? await pipeline.AcceptAsync(body.Memory, accepted, Source, context.RequestAborted)
                : await pipeline.AcceptAsync(output.Writer, Source, context.RequestAborted);
            output.Dispose();
            if (!taken)
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

    /// <summary>
    /// The accepted points of one request. While every line is kept as sent, nothing is copied: the body itself goes
    /// to the spool. The first line that is refused, rewritten or stamped with the collector's time switches to a
    /// buffer that receives the lines kept so far and everything after.
    /// </summary>
    private sealed class AcceptedLines(ReadOnlyMemory<byte> body) : IDisposable
    {
        private readonly List<(int Offset, int Length)> _asSent = [];
        private LineProtocolWriter? _writer;

        public int Accepted { get; set; }

        public LineProtocolWriter Writer
        {
            get
            {
                Diverge();
                return _writer!;
            }
        }

        public void AddAsSent(int offset, int length, long? stampNanoseconds)
        {
            Accepted++;
            if (_writer is null)
            {
                _asSent.Add((offset, length));
            }
            else
            {
                _writer.WriteRawLine(body.Span.Slice(offset, length), stampNanoseconds);
            }
        }

        public void Diverge()
        {
            if (_writer is not null)
            {
                return;
            }

            _writer = new LineProtocolWriter(WritePrecision.Nanoseconds, Math.Max(body.Length + (body.Length / 4), 4096));
            foreach ((int offset, int length) in _asSent)
            {
                _writer.WriteRawLine(body.Span.Slice(offset, length));
            }

            _asSent.Clear();
        }

        /// <summary>True when the body is exactly its accepted lines, each ending in a newline.</summary>
        public bool CanSpoolBodyAsSent(int parseErrors)
        {
            ReadOnlySpan<byte> span = body.Span;
            return _writer is null && parseErrors == 0 && Accepted > 0 && span[^1] == (byte)'\n' && span.Count((byte)'\n') == Accepted;
        }

        public void Dispose() => _writer?.Dispose();
    }

    private static RejectedRecord Refused(int pointIndex, ReadOnlySpan<byte> measurement, string reason, int? line = null) =>
        new(line, null, string.Create(CultureInfo.InvariantCulture, $"point {pointIndex} of measurement '{System.Text.Encoding.UTF8.GetString(measurement)}': {reason}"));

    /// <summary>
    /// A line that is not UTF-8 is refused: the embedded store keeps text as UTF-16 (a bad byte would come back as
    /// U+FFFD, another series than the one sent) and InfluxQL cannot name such a series in a query.
    /// </summary>
    private static string? InvalidText(ReadOnlySpan<byte> line) =>
        System.Text.Unicode.Utf8.IsValid(line) ? null : "the line is not valid UTF-8";

    /// <summary>
    /// True for a <c>gpu_sample</c> line that <see cref="NormalisedGpuSample"/> changes: one without a <c>uuid</c> tag
    /// (stamped with the strongest identity it carries, or refused), or one whose <c>gpu_model</c> is not its canonical
    /// key (<see cref="GpuModelName"/>). Other lines stay on the as-sent path.
    /// </summary>
    private static bool GpuSampleToNormalise(in LineSummary line, ReadOnlySpan<byte> data, CanonicalModelCheck models)
    {
        if (!data.Slice(line.MeasurementOffset, line.MeasurementLength).SequenceEqual("gpu_sample"u8))
        {
            return false;
        }

        int tagsStart = line.MeasurementOffset + line.MeasurementLength;
        ReadOnlySpan<byte> tags = data.Slice(tagsStart, Math.Max(0, line.FieldsOffset - 1 - tagsStart));
        if (tags.IndexOf(",uuid="u8) < 0)
        {
            return true;
        }

        int model = tags.IndexOf(",gpu_model="u8);
        return model >= 0 && !models.IsCanonical(RawTagValue(tags[(model + ",gpu_model=".Length)..]));
    }

    /// <summary>A tag value as written, up to the first comma that is not escaped.</summary>
    private static ReadOnlySpan<byte> RawTagValue(ReadOnlySpan<byte> rest)
    {
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == (byte)'\\')
            {
                i++;
            }
            else if (rest[i] == (byte)',')
            {
                return rest[..i];
            }
        }

        return rest;
    }

    /// <summary>
    /// Whether a raw (escaped) <c>gpu_model</c> value is already its canonical key. A body holds few models, one after
    /// the other, so the last answer is remembered and the usual line costs no string.
    /// </summary>
    private sealed class CanonicalModelCheck
    {
        private byte[] _lastRaw = [];
        private bool _lastCanonical;

        public bool IsCanonical(ReadOnlySpan<byte> raw)
        {
            if (!raw.SequenceEqual(_lastRaw))
            {
                string name = System.Text.Encoding.UTF8.GetString(raw).Replace("\\ ", " ", StringComparison.Ordinal).Replace("\\,", ",", StringComparison.Ordinal).Replace("\\=", "=", StringComparison.Ordinal);
                _lastCanonical = string.Equals(GpuModelName.Canonical(name), name, StringComparison.Ordinal);
                _lastRaw = raw.ToArray();
            }

            return _lastCanonical;
        }
    }

    /// <summary>
    /// The point as is, or a <c>gpu_sample</c> as every source stores it: stamped with its <see cref="GpuIdentity"/> as
    /// <c>uuid</c> when it has none, and with <c>gpu_model</c> as its canonical key and the name sent in the field
    /// <c>gpu_name</c> (unless the line has that field) when they differ (<see cref="GpuModelName"/>). Null when the
    /// point has no identity.
    /// </summary>
    private static ParsedPoint? NormalisedGpuSample(ParsedPoint point)
    {
        if (!string.Equals(point.Measurement, Measurements.GpuSample, StringComparison.Ordinal))
        {
            return point;
        }

        if (point.GetTag(Tags.GpuUuid) is null)
        {
            string? identity = GpuIdentity.Of(null, point.GetTag(GpuIdentity.PciBusIdTag), point.GetTag(Tags.Node), point.GetTag(Tags.GpuIndex));
            if (identity is null)
            {
                return null;
            }

            point = point with { Tags = [.. point.Tags, new KeyValuePair<string, string>(Tags.GpuUuid, identity)] };
        }

        string? model = point.GetTag(Tags.GpuModel);
        string? key = GpuModelName.Canonical(model);
        if (model is null || key is null || string.Equals(key, model, StringComparison.Ordinal))
        {
            return point;
        }

        return point with
        {
            Tags = [.. point.Tags.Select(t => string.Equals(t.Key, Tags.GpuModel, StringComparison.Ordinal) ? new KeyValuePair<string, string>(Tags.GpuModel, key) : t)],
            Fields = point.GetField(Fields.GpuName) is null ? [.. point.Fields, new KeyValuePair<string, FieldValue>(Fields.GpuName, FieldValue.FromString(model))] : point.Fields,
        };
    }

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
