using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage.Diagnostics;
using Polly;
using Polly.Timeout;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Influx;

/// <summary>
/// InfluxDB over HTTP: line protocol to the v1 or v2 write endpoint, InfluxQL on <c>/query</c>.
/// Every request goes through the one retry pipeline, <see cref="StoreRetryPipeline"/> (network errors, timeouts, 5xx
/// and 429 retried; a 400 never: the server's message is returned and the rejected points counted).
/// </summary>
public sealed partial class InfluxDbStore : ITimeSeriesStore
{
    private static readonly MediaTypeHeaderValue LineProtocolContentType = MediaTypeHeaderValue.Parse("text/plain; charset=utf-8");

    private readonly HttpClient _http;
    private readonly InfluxDbOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<InfluxDbStore> _logger;
    private readonly Uri _writeUri;
    private readonly AuthenticationHeaderValue? _auth;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly ResiliencePipeline<bool> _deleteRepeat;
    private readonly StoreMetrics? _metrics;
    private int _databaseEnsured;

    /// <summary>The store over <paramref name="http"/>; <paramref name="metrics"/> counts retries (<c>observacost.store.retries</c>), none in tests that build the store alone.</summary>
    public InfluxDbStore(HttpClient http, InfluxDbOptions options, TimeProvider time, ILogger<InfluxDbStore> logger, StoreMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _http = http;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        Uri baseUri = options.Url ?? throw new ArgumentException("InfluxDbOptions.Url is required.", nameof(options));
        _writeUri = BuildWriteUri(baseUri, options);
        _auth = BuildAuth(options);
        _retry = StoreRetryPipeline.Create(options, time, LogRetryAsync);
        _deleteRepeat = StoreRetryPipeline.CreateRepeatUntilTrue(options, time, MaxDeleteAttempts);
        if (options.ApiVersion == InfluxApiVersion.V2 ? !options.StartupChecks : !options.CreateDatabase)
        {
            _databaseEnsured = 1;
        }
    }

    public string Backend => "influxdb";

    public async Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default)
    {
        if (batch.PointCount == 0 || batch.Lines.IsEmpty)
        {
            return WriteResult.AllWritten(0);
        }

        if (batch.Precision != _options.Precision)
        {
            throw new ArgumentException($"The batch precision {batch.Precision} differs from the configured {_options.Precision}.", nameof(batch));
        }

        await EnsureDatabaseAsync(cancellationToken);
        ReadOnlyMemory<byte> body = _options.Gzip ? Compress(batch.Lines.Span) : batch.Lines;
        using HttpResponseMessage response = await SendWithRetryAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, _writeUri) { Content = new ReadOnlyMemoryContent(body) };
                request.Content.Headers.ContentType = LineProtocolContentType;
                if (_options.Gzip)
                {
                    request.Content.Headers.ContentEncoding.Add("gzip");
                }

                return request;
            },
            "write",
            cancellationToken);

        if (response.IsSuccessStatusCode)
        {
            return WriteResult.AllWritten(batch.PointCount);
        }

        string message = await ReadErrorAsync(response, cancellationToken);
        if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnprocessableEntity)
        {
            int rejected = CountRejected(message, batch.PointCount);
            LogWriteRejected(_logger, rejected, batch.PointCount, (int)response.StatusCode, message);
            return new WriteResult(batch.PointCount - rejected, rejected, SplitErrors(message));
        }

        throw new StoreRequestException(
            string.Create(CultureInfo.InvariantCulture, $"InfluxDB refused the write with {(int)response.StatusCode} {response.ReasonPhrase}: {message}"),
            (int)response.StatusCode);
    }

    public async Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (_options.ApiVersion == InfluxApiVersion.V2)
        {
            // On 2.x, reads need the DBRP mapping the start-up checks make sure of.
            await EnsureDatabaseAsync(cancellationToken);
        }

        string influxQl = InfluxQlRenderer.Render(query);
        var series = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync(influxQl, series, cancellationToken);
        bool normaliseTime = query.Interval is null && !query.IsRaw;
        string[] columns = query.Selections.Select(s => s.Alias).ToArray();
        var result = new ResultSeries[series.Count];
        var keys = new string[series.Count];
        int index = 0;
        foreach (SeriesBuilder builder in series.Values)
        {
            result[index] = builder.Build(query, columns, normaliseTime);
            keys[index] = result[index].TagKey;
            index++;
        }

        // Each series' key is computed once, not at every comparison.
        Array.Sort(keys, result, StringComparer.Ordinal);
        return new QueryResult(result);
    }

    /// <summary>Runs an InfluxQL statement that returns no series (CREATE, DROP, ...).</summary>
    public async Task ExecuteAsync(string influxQl, CancellationToken cancellationToken = default)
    {
        var ignored = new Dictionary<string, SeriesBuilder>(StringComparer.Ordinal);
        await ExecuteQueryAsync(influxQl, ignored, cancellationToken);
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_options.Url!, "ping"));
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(_options.RequestTimeout);
            using HttpResponseMessage response = await _http.SendAsync(request, cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Counts the points a 400 answer rejected: each unparsable line plus the <c>dropped=N</c> count.</summary>
    internal static int CountRejected(string message, int batchPoints)
    {
        int unparsable = 0;
        int index = 0;
        while ((index = message.IndexOf("unable to parse", index, StringComparison.Ordinal)) >= 0)
        {
            unparsable++;
            index += 15;
        }

        int dropped = 0;
        Match m = DroppedRegex().Match(message);
        if (m.Success)
        {
            dropped = int.Parse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        bool partial = message.Contains("partial write", StringComparison.Ordinal);
        int rejected = unparsable + dropped;
        if (!partial && rejected == 0)
        {
            // A plain 400 without detail (e.g. InfluxDB 2.x parse errors): the whole batch was refused.
            return batchPoints;
        }

        return Math.Clamp(rejected, 0, batchPoints);
    }

    private static List<string> SplitErrors(string message) =>
        message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(100).ToList();

    private static Uri BuildWriteUri(Uri baseUri, InfluxDbOptions options)
    {
        var query = new StringBuilder();
        if (options.ApiVersion == InfluxApiVersion.V1)
        {
            query.Append("write?db=").Append(Uri.EscapeDataString(options.Database));
            if (!string.IsNullOrEmpty(options.RetentionPolicy))
            {
                query.Append("&rp=").Append(Uri.EscapeDataString(options.RetentionPolicy));
            }

            query.Append("&precision=").Append(options.Precision.ToV1Parameter());
        }
        else
        {
            query.Append("api/v2/write?org=").Append(Uri.EscapeDataString(options.Org ?? string.Empty))
                .Append("&bucket=").Append(Uri.EscapeDataString(options.EffectiveBucket))
                .Append("&precision=").Append(options.Precision.ToV2Parameter());
        }

        return new Uri(EnsureTrailingSlash(baseUri), query.ToString());
    }

    private static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private static AuthenticationHeaderValue? BuildAuth(InfluxDbOptions options)
    {
        if (!string.IsNullOrEmpty(options.Username))
        {
            string raw = options.Username + ":" + options.Password;
            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(raw)));
        }

        return string.IsNullOrEmpty(options.Token) ? null : new AuthenticationHeaderValue("Token", options.Token);
    }

    private static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream(data.Length / 4 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _databaseEnsured) == 1)
        {
            return;
        }

        if (_options.ApiVersion == InfluxApiVersion.V2)
        {
            await new InfluxDb2Setup(_http, _options, _logger).RunAsync(cancellationToken);
        }
        else
        {
            var sb = new StringBuilder("CREATE DATABASE ");
            InfluxQlRenderer.AppendIdentifier(sb, _options.Database);
            await ExecuteAsync(sb.ToString(), cancellationToken);
        }

        Volatile.Write(ref _databaseEnsured, 1);
    }

    private async Task ExecuteQueryAsync(string influxQl, Dictionary<string, SeriesBuilder> series, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["q"] = influxQl,
            ["db"] = _options.Database,
            ["epoch"] = "ns",
            ["chunked"] = "true",
            ["chunk_size"] = _options.QueryChunkSize.ToString(CultureInfo.InvariantCulture),
        };
        if (!string.IsNullOrEmpty(_options.RetentionPolicy))
        {
            form["rp"] = _options.RetentionPolicy;
        }

        var queryUri = new Uri(EnsureTrailingSlash(_options.Url!), "query");
        using HttpResponseMessage response = await SendWithRetryAsync(
            () => new HttpRequestMessage(HttpMethod.Post, queryUri) { Content = new FormUrlEncodedContent(form) },
            "query",
            cancellationToken,
            HttpCompletionOption.ResponseHeadersRead);

        if (!response.IsSuccessStatusCode)
        {
            string message = await ReadErrorAsync(response, cancellationToken);
            throw new StoreRequestException(
                string.Create(CultureInfo.InvariantCulture, $"InfluxDB refused the query with {(int)response.StatusCode}: {message} (query: {influxQl})"),
                (int)response.StatusCode);
        }

        await using Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await InfluxQueryResponseReader.ReadAsync(stream, _options.MaxResponseBytes, series, influxQl, cancellationToken);
    }

    /// <summary>
    /// Sends a request through <see cref="StoreRetryPipeline"/>. Answers other than 5xx and 429 come back to the
    /// caller as they are (a 400 partial write is the caller's to count); a store still unreachable or failing when the
    /// pipeline gives up is a <see cref="StoreUnavailableException"/>.
    /// </summary>
    private async Task<HttpResponseMessage> SendWithRetryAsync(
        Func<HttpRequestMessage> createRequest,
        string operation,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        long started = _time.GetTimestamp();
        context.Properties.Set(StoreRetryPipeline.StartedKey, started);
        var state = new SendState(this, createRequest, completion);
        try
        {
            Outcome<HttpResponseMessage> outcome = await _retry.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    state.Tries++;
                    using HttpRequestMessage request = state.CreateRequest();
                    request.Headers.Authorization = state.Store._auth;
                    try
                    {
                        return Outcome.FromResult(await state.Store._http.SendAsync(request, state.Completion, ctx.CancellationToken));
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                    {
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }
                },
                context,
                state);
            if (outcome.Exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                outcome.ThrowIfException();
            }

            if (outcome.Result is { } response && !StoreRetryPipeline.IsTransient(response.StatusCode))
            {
                return response;
            }

            string failure;
            if (outcome.Result is { } failed)
            {
                failure = await DescribeAsync(failed, cancellationToken);
                failed.Dispose();
            }
            else
            {
                failure = Describe(outcome.Exception!);
            }

            TimeSpan elapsed = _time.GetElapsedTime(started);
            throw new StoreUnavailableException(
                string.Create(CultureInfo.InvariantCulture, $"InfluxDB {operation} failed after {state.Tries} tries over {elapsed.TotalSeconds:F1} s: {failure}"),
                outcome.Exception);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private sealed class SendState(InfluxDbStore store, Func<HttpRequestMessage> createRequest, HttpCompletionOption completion)
    {
        public InfluxDbStore Store { get; } = store;

        public Func<HttpRequestMessage> CreateRequest { get; } = createRequest;

        public HttpCompletionOption Completion { get; } = completion;

        public int Tries { get; set; }
    }

    private async ValueTask LogRetryAsync(int attempt, TimeSpan delay, Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        _metrics?.Retried(Backend, context.OperationKey ?? "request");
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        string failure = outcome.Result is { } response ? await DescribeAsync(response, context.CancellationToken) : Describe(outcome.Exception!);
        LogRetry(_logger, context.OperationKey ?? "request", attempt, delay.TotalMilliseconds, failure);
    }

    private static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string message = await ReadErrorAsync(response, cancellationToken);
        return string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}: {message}");
    }

    private string Describe(Exception error) => error is TimeoutRejectedException or OperationCanceledException
        ? "request timed out after " + _options.RequestTimeout.ToString("c", CultureInfo.InvariantCulture)
        : error.Message;

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // The JSON body keeps the message's line breaks; the X-Influxdb-Error header is the fallback.
        string body = await ReadLimitedAsync(response, cancellationToken);
        string? header = response.Headers.TryGetValues("X-Influxdb-Error", out IEnumerable<string>? values) ? string.Join("\n", values) : null;
        return ExtractMessage(body)
            ?? (string.IsNullOrEmpty(header) ? null : header)
            ?? (body.Length == 0 ? response.ReasonPhrase ?? "no message" : body);
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        const int Limit = 64 * 1024;
        await using Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        byte[] buffer = new byte[Limit];
        int total = 0;
        int read;
        while (total < Limit && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static string? ExtractMessage(string body)
    {
        if (body.Length == 0 || body[0] != '{')
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out JsonElement e) && e.ValueKind == JsonValueKind.String)
            {
                return e.GetString();
            }

            if (doc.RootElement.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String)
            {
                return m.GetString();
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }

    [GeneratedRegex(@"dropped=(\d+)")]
    private static partial Regex DroppedRegex();

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "InfluxDB {Operation} failed on try {Attempt}; retrying in {DelayMs:F0} ms: {Failure}")]
    private static partial void LogRetry(ILogger logger, string operation, int attempt, double delayMs, string failure);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "InfluxDB rejected {Rejected} of {Points} points with {Status}: {Message}")]
    private static partial void LogWriteRejected(ILogger logger, int rejected, int points, int status, string message);
}
