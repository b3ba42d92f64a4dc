using System.Globalization;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>What one import did: records read, windows written, and each refused record with its line or index.</summary>
public sealed record RequestLogImportSummary(int RecordsRead, int RecordsImported, int WindowsWritten, IReadOnlyList<string> Models, IReadOnlyList<RequestLogRejection> Refused);

/// <summary>
/// Imports historical request logs (NDJSON or a JSON array) into <c>inference_window</c> points for past, closed
/// windows, bypassing the live path's close watermark. Same parser, checks and aggregation as the live path
/// (<see cref="RequestLogParser"/>, <see cref="InferenceWindowAggregator"/>, configured under
/// <c>Collector:RequestLogs</c>).
/// </summary>
/// <remarks>
/// <para>
/// <b>What an import owns.</b> Imported windows are tagged <c>source=request_log_import</c>
/// (<see cref="InferenceWindowSources.RequestLogImport"/>). Before writing, the import deletes the <c>request_log_import</c>
/// windows in [from, to) of each model it imports, then writes its own: importing the same file twice, or an
/// overlapping range, leaves exactly what one import leaves, and an import never deletes live (<c>request_log</c>) or
/// vLLM windows, nor imported windows of other models. Readers take one source per model
/// (analytics' TokenUsageReader): live request logs where present, else imported ones, else vLLM, so an imported
/// window is never added to a live window of the same traffic.
/// </para>
/// <para>
/// <c>from</c> and <c>to</c> must be window boundaries, and <c>to</c> no later than the start of the window holding
/// now (only closed windows are imported). Records outside [from, to) are refused as
/// <see cref="RequestLogRejectionReason.OutsideImportRange"/>; records that would open a group beyond
/// <c>MaxOpenGroups</c> as <see cref="RequestLogRejectionReason.TooManyOpenGroups"/>. The file is read whole, up to
/// <see cref="MaxFileBytes"/>.
/// </para>
/// </remarks>
public sealed class RequestLogImport(ITimeSeriesStore store, RequestLogOptions options, TimeProvider time)
{
    /// <summary>The largest file imported in one run (split bigger files by time).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>Imports <paramref name="path"/> for [<paramref name="from"/>, <paramref name="to"/>). Throws <see cref="IOException"/> when the file cannot be read.</summary>
    public async Task<RequestLogImportSummary> RunAsync(string path, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckRange(from, to);
        long length = new FileInfo(path).Length; // throws FileNotFoundException (an IOException) when absent
        if (length > MaxFileBytes)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"{path} is {length} bytes, more than {MaxFileBytes}; split it by time"));
        }

        byte[] body = await File.ReadAllBytesAsync(path, cancellationToken);
        return await ImportAsync(body, RequestLogImportFormat.Detect, from, to, tenant: null, cancellationToken);
    }

    /// <summary>
    /// Imports request logs already read (a file, or the body of <c>POST /api/v1/requests/import</c>) for
    /// [<paramref name="from"/>, <paramref name="to"/>). A non-null <paramref name="tenant"/> (a tenant-bound ingest
    /// token) sets the tenant of every record, as on the live path. Throws <see cref="ArgumentException"/> for a bad range.
    /// </summary>
    public async Task<RequestLogImportSummary> ImportAsync(ReadOnlyMemory<byte> body, RequestLogImportFormat format, DateTimeOffset from, DateTimeOffset to, string? tenant, CancellationToken cancellationToken = default)
    {
        InferenceWindowAggregator aggregator = CheckRange(from, to);
        DateTimeOffset now = time.GetUtcNow();
        var parser = new RequestLogParser(options.Parser);
        RequestLogParseResult parsed = format switch
        {
            RequestLogImportFormat.Ndjson => parser.ParseNdjson(body.Span, now),
            RequestLogImportFormat.JsonArray => parser.ParseArray(body.Span, now),
            _ => parser.Parse(body.Span, now),
        };
        IReadOnlyList<InferenceRequest> requests = tenant is null ? parsed.Requests : [.. parsed.Requests.Select(r => r with { Tenant = tenant })];

        var refused = new List<RequestLogRejection>(parsed.Rejections);
        int imported = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            InferenceRequest request = requests[i];
            if (request.Timestamp < from || request.Timestamp >= to)
            {
                refused.Add(parsed.Reject(i, RequestLogRejectionReason.OutsideImportRange, string.Create(CultureInfo.InvariantCulture,
                    $"{request.Timestamp:O} is outside --from {from:O} --to {to:O}")));
            }
            else if (aggregator.Add(request) == AggregationOutcome.RejectedGroupLimit)
            {
                refused.Add(parsed.Reject(i, RequestLogRejectionReason.TooManyOpenGroups, string.Create(CultureInfo.InvariantCulture,
                    $"more than {options.Aggregation.MaxOpenGroups} (window, model, tenant, pool, node, status) groups; raise Collector:RequestLogs:Aggregation:MaxOpenGroups or import a shorter range")));
            }
            else
            {
                imported++;
            }
        }

        var windows = aggregator.Flush().Select(w => w with { Source = InferenceWindowSources.RequestLogImport }).ToList();
        string[] models = [.. windows.Select(w => w.Model).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        foreach (string model in models)
        {
            await store.DeleteAsync(Measurements.InferenceWindow, from, to, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [Tags.Source] = InferenceWindowSources.RequestLogImport,
                [Tags.Model] = model,
            }, cancellationToken);
        }

        int written = 0;
        foreach (InferenceWindow[] chunk in windows.Chunk(5_000))
        {
            using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 256 * 1024);
            foreach (InferenceWindow window in chunk)
            {
                window.WriteTo(writer); // the parser refused every string that line protocol cannot carry
            }

            WriteResult result = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds), cancellationToken);
            if (result.PointsRejected > 0)
            {
                throw new StoreRequestException(string.Create(CultureInfo.InvariantCulture,
                    $"the store refused {result.PointsRejected} imported windows: {string.Join("; ", result.Errors.Take(5))}"));
            }

            written += result.PointsWritten;
        }

        refused.Sort(static (a, b) => (a.LineNumber ?? a.ArrayIndex ?? 0).CompareTo(b.LineNumber ?? b.ArrayIndex ?? 0));
        return new RequestLogImportSummary(parsed.Requests.Count + parsed.Rejections.Count, imported, written, models, refused);
    }

    /// <summary>Checks that [from, to) is made of closed aggregation windows; returns the aggregator for them.</summary>
    private InferenceWindowAggregator CheckRange(DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(options);
        var aggregator = new InferenceWindowAggregator(options.Aggregation);
        DateTimeOffset now = time.GetUtcNow();
        if (aggregator.WindowStartOf(from) != from || aggregator.WindowStartOf(to) != to || to <= from)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--from {from:O} and --to {to:O} must be window boundaries ({options.Aggregation.WindowLength}) with --from before --to"));
        }

        if (to > aggregator.WindowStartOf(now))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--to {to:O} is after the start of the open window ({aggregator.WindowStartOf(now):O}); import closed windows only"));
        }

        return aggregator;
    }
}

/// <summary>How <see cref="RequestLogImport.ImportAsync"/> reads a body.</summary>
public enum RequestLogImportFormat
{
    /// <summary>A JSON array if the first non-blank byte is <c>[</c>, NDJSON otherwise (files).</summary>
    Detect,

    /// <summary>Newline-delimited JSON (<c>application/x-ndjson</c>).</summary>
    Ndjson,

    /// <summary>A JSON array (<c>application/json</c>).</summary>
    JsonArray,
}
