using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>
/// Retry decisions for answers a healthy test server will not give on demand (429, 503): an HTTP handler answers
/// from a script while the time provider records the waits. Restart behaviour against a real server is tested in
/// <see cref="InfluxDbAuthAndRestartTests"/>.
/// </summary>
public sealed class InfluxDbRetryTests
{
    private sealed class ScriptedHandler(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
    {
        private int _calls;

        public List<HttpRequestMessage> Requests { get; } = [];

        public List<byte[]> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            Bodies.Add(request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken));
            int call = _calls++;
            return answers[Math.Min(call, answers.Length - 1)](request);
        }
    }

    /// <summary>
    /// Advances its clock by each delay it is asked to wait for, so tests run instantly and see the waits. Timers of
    /// <see cref="NeverFires"/> or more are the retry pipeline's per-try timeouts (the tests set
    /// <c>RequestTimeout</c> to it): they never fire.
    /// </summary>
    internal sealed class RecordingTimeProvider : TimeProvider
    {
        private long _ticks;

        public static readonly TimeSpan NeverFires = TimeSpan.FromHours(1);

        public List<TimeSpan> Waits { get; } = [];

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero).AddTicks(Interlocked.Read(ref _ticks));

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime >= NeverFires || dueTime == Timeout.InfiniteTimeSpan)
            {
                return System.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            {
                Waits.Add(dueTime);
                Interlocked.Add(ref _ticks, dueTime.Ticks);
            }

            return System.CreateTimer(callback, state, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private static HttpResponseMessage Status(HttpStatusCode code, string body = "", TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(code) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(delay);
        }

        return response;
    }

    private static (InfluxDbStore Store, ScriptedHandler Handler, RecordingTimeProvider Time) Create(InfluxDbOptions options, params Func<HttpRequestMessage, HttpResponseMessage>[] answers)
    {
        var handler = new ScriptedHandler(answers);
        var time = new RecordingTimeProvider();
        return (new InfluxDbStore(new HttpClient(handler), options, time, NullLogger<InfluxDbStore>.Instance), handler, time);
    }

    private static InfluxDbOptions V1() => new()
    {
        Url = new Uri("http://influx.test:8086/"),
        Database = "db",
        CreateDatabase = false,
        RequestTimeout = RecordingTimeProvider.NeverFires,
        RetryInitialDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromSeconds(10),
        RetryMaxElapsed = TimeSpan.FromMinutes(1),
    };

    private static readonly LineProtocolBatch TwoPoints = new("m v=1 1\nm v=2 2\n"u8.ToArray(), 2, WritePrecision.Nanoseconds);

    [Fact]
    public async Task TooManyRequests_HonoursRetryAfter_ThenSucceeds()
    {
        var (store, handler, time) = Create(V1(), _ => Status(HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.FromSeconds(7)), _ => Status(HttpStatusCode.NoContent));
        WriteResult result = await store.WriteAsync(TwoPoints);
        Assert.Equal(2, result.PointsWritten);
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal(TimeSpan.FromSeconds(7), Assert.Single(time.Waits));
    }

    [Fact]
    public async Task ServerErrors_AreRetriedWithJitteredDelaysUpToTheMaximum()
    {
        var (store, handler, time) = Create(V1(),
            _ => Status(HttpStatusCode.ServiceUnavailable), _ => Status(HttpStatusCode.InternalServerError), _ => Status(HttpStatusCode.BadGateway), _ => Status(HttpStatusCode.NoContent));
        await store.WriteAsync(TwoPoints);
        Assert.Equal(4, handler.Requests.Count);
        Assert.Equal(3, time.Waits.Count);

        // Polly's exponential backoff with jitter (decorrelated, "V2"): each wait positive and at most RetryMaxDelay (10 s).
        Assert.All(time.Waits, w => Assert.InRange(w, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(HttpStatusCode.NotImplemented)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task PermanentFailure_IsNotRetried_AndThrowsStoreRequest(HttpStatusCode status)
    {
        var (store, handler, time) = Create(V1(), _ => Status(status));
        StoreRequestException ex = await Assert.ThrowsAsync<StoreRequestException>(() => store.WriteAsync(TwoPoints));
        Assert.Equal((int)status, ex.StatusCode);
        Assert.Single(handler.Requests);
        Assert.Empty(time.Waits);
    }

    [Fact]
    public async Task AlwaysUnavailable_StopsAfterRetryMaxAttempts()
    {
        InfluxDbOptions options = V1();
        options.RetryMaxAttempts = 2;
        var (store, handler, time) = Create(options, _ => Status(HttpStatusCode.ServiceUnavailable, "{\"error\":\"engine busy\"}"));
        StoreUnavailableException ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(TwoPoints));

        // One try and RetryMaxAttempts = 2 retries: 3 requests, 2 waits; the last answer is in the message.
        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal(2, time.Waits.Count);
        Assert.Contains("after 3 tries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 503: engine busy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadRequest_IsNeverRetried_AndCountsTheRejectedPoints()
    {
        var (store, handler, _) = Create(V1(), _ => Status(HttpStatusCode.BadRequest, "{\"error\":\"partial write: field type conflict: input field \\\"v\\\" on measurement \\\"m\\\" is type float, already exists as type integer dropped=1\"}"));
        WriteResult result = await store.WriteAsync(TwoPoints);
        Assert.Single(handler.Requests);
        Assert.Equal(1, result.PointsRejected);
        Assert.Equal(1, result.PointsWritten);
        Assert.Contains("field type conflict", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_GivesUpAfterRetryMaxElapsed_WithStoreUnavailable()
    {
        InfluxDbOptions options = V1();
        options.RetryMaxElapsed = TimeSpan.FromSeconds(5);
        var (store, handler, _) = Create(options, _ => throw new HttpRequestException("connection refused"));
        StoreUnavailableException ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(TwoPoints));
        Assert.Contains("connection refused", ex.Message, StringComparison.Ordinal);
        Assert.True(handler.Requests.Count >= 4);
    }

    [Fact]
    public async Task V1_SendsGzipBasicAuthAndTheV1Query()
    {
        InfluxDbOptions options = V1();
        options.Username = "u";
        options.Password = "p:w";
        options.RetentionPolicy = "autogen";
        options.Precision = WritePrecision.Seconds;
        var (store, handler, _) = Create(options, _ => Status(HttpStatusCode.NoContent));
        await store.WriteAsync(new LineProtocolBatch("m v=1 1\n"u8.ToArray(), 1, WritePrecision.Seconds));
        HttpRequestMessage request = handler.Requests[0];
        Assert.Equal("http://influx.test:8086/write?db=db&rp=autogen&precision=s", request.RequestUri!.ToString());
        Assert.Equal("Basic", request.Headers.Authorization!.Scheme);
        Assert.Equal("u:p:w", Encoding.UTF8.GetString(Convert.FromBase64String(request.Headers.Authorization.Parameter!)));
        Assert.Contains("gzip", request.Content!.Headers.ContentEncoding);
        using var gunzip = new System.IO.Compression.GZipStream(new MemoryStream(handler.Bodies[0]), System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(gunzip);
        Assert.Equal("m v=1 1\n", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task V2_SendsTokenOrgBucketAndPrecision()
    {
        var options = new InfluxDbOptions
        {
            Url = new Uri("http://influx.test:8086"),
            ApiVersion = InfluxApiVersion.V2,
            Org = "acme corp",
            Bucket = "gpu/metrics",
            Token = "tok==",
            StartupChecks = false,
            Gzip = false,
            Precision = WritePrecision.Milliseconds,
            RequestTimeout = RecordingTimeProvider.NeverFires,
        };
        var (store, handler, _) = Create(options, _ => Status(HttpStatusCode.NoContent));
        await store.WriteAsync(new LineProtocolBatch("m v=1 1\n"u8.ToArray(), 1, WritePrecision.Milliseconds));
        HttpRequestMessage request = handler.Requests[0];
        Assert.Equal("http://influx.test:8086/api/v2/write?org=acme%20corp&bucket=gpu%2Fmetrics&precision=ms", request.RequestUri!.AbsoluteUri);
        Assert.Equal("Token", request.Headers.Authorization!.Scheme);
        Assert.Equal("tok==", request.Headers.Authorization.Parameter);
        Assert.Equal("m v=1 1\n", Encoding.UTF8.GetString(handler.Bodies[0]));
    }

    [Theory]
    [InlineData("partial write: unable to parse 'a': x\nunable to parse 'b': y dropped=0", 10, 2)]
    [InlineData("partial write: points beyond retention policy dropped=4", 10, 4)]
    [InlineData("unable to parse 'a': bad", 1, 1)]
    [InlineData("failed to parse line protocol", 7, 7)]
    public void CountRejected_ReadsInfluxDbMessages(string message, int points, int expected) =>
        Assert.Equal(expected, InfluxDbStore.CountRejected(message, points));
}
