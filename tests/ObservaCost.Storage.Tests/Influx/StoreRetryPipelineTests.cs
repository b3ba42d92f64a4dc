using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Tests.Support;
using static ObservaCost.Storage.Tests.Support.LoopbackHttpServer;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>
/// The store's one retry pipeline (Polly) over a real loopback HTTP connection: requests counted at the server, waits
/// recorded on a fake clock (<see cref="InfluxDbRetryTests.RecordingTimeProvider"/>), so no test waits in real time.
/// </summary>
public sealed class StoreRetryPipelineTests
{
    private static readonly LineProtocolBatch ThreePoints = new("m v=1 1\nm v=2 2\nm v=3 3\n"u8.ToArray(), 3, WritePrecision.Nanoseconds);

    private static InfluxDbStore Store(Uri url, InfluxDbRetryTests.RecordingTimeProvider time, int maxAttempts = 20) => new(
        new HttpClient(),
        new InfluxDbOptions
        {
            Url = url,
            Database = "db",
            CreateDatabase = false,
            Gzip = false,
            RequestTimeout = InfluxDbRetryTests.RecordingTimeProvider.NeverFires,
            RetryMaxAttempts = maxAttempts,
            RetryInitialDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromSeconds(5),
            RetryMaxElapsed = TimeSpan.FromMinutes(1),
        },
        time,
        NullLogger<InfluxDbStore>.Instance);

    [Fact]
    public async Task Write_503Then503Then429Then204_SendsFourRequests_AndWaitsRetryAfter()
    {
        await using LoopbackHttpServer server = Start((_, i) => i switch
        {
            0 or 1 => new Answer(503, "{\"error\":\"busy\"}"),
            2 => new Answer(429, RetryAfterSeconds: 3),
            _ => new Answer(204),
        });
        var time = new InfluxDbRetryTests.RecordingTimeProvider();
        WriteResult result = await Store(server.Url, time).WriteAsync(ThreePoints);

        // 4 requests (503, 503, 429, 204) and 3 waits; the third is the 429's Retry-After, exactly 3 s.
        Assert.Equal(3, result.PointsWritten);
        Assert.Equal(4, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("m v=1 1\nm v=2 2\nm v=3 3\n", r.Body));
        Assert.Equal(3, time.Waits.Count);
        Assert.Equal(TimeSpan.FromSeconds(3), time.Waits[2]);
    }

    [Fact]
    public async Task Write_PartialWrite400_IsSentOnce_AndCountsTheRejectedPoint()
    {
        await using LoopbackHttpServer server = Start((_, _) => new Answer(400,
            "{\"error\":\"partial write: field type conflict: input field \\\"v\\\" on measurement \\\"m\\\" is type float, already exists as type integer dropped=1\"}"));
        var time = new InfluxDbRetryTests.RecordingTimeProvider();
        WriteResult result = await Store(server.Url, time).WriteAsync(ThreePoints);

        // Never retried: one request, no wait; 3 points - dropped=1 = 2 written.
        Assert.Single(server.Requests);
        Assert.Empty(time.Waits);
        Assert.Equal(2, result.PointsWritten);
        Assert.Equal(1, result.PointsRejected);
    }

    [Fact]
    public async Task Query_AlwaysBadGateway_GivesUpAfterOnePlusRetryMaxAttempts()
    {
        await using LoopbackHttpServer server = Start((_, _) => new Answer(502, "{\"error\":\"upstream gone\"}"));
        var time = new InfluxDbRetryTests.RecordingTimeProvider();
        StoreUnavailableException ex = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
            Store(server.Url, time, maxAttempts: 4).QueryAsync(ObservaCost.Storage.Query.TimeSeriesQueryBuilder.From("m").Sum("v").Between(0, 10).Build()));

        // 1 try + 4 retries = 5 requests to /query, 4 waits.
        Assert.Equal(5, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.StartsWith("/query", r.PathAndQuery, StringComparison.Ordinal));
        Assert.Equal(4, time.Waits.Count);
        Assert.Contains("after 5 tries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 502: upstream gone", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_ServerGone_RetriesConnectFailuresUntilRetryMaxElapsed()
    {
        LoopbackHttpServer server = Start((_, _) => new Answer(204));
        Uri url = server.Url;
        await server.DisposeAsync();
        var time = new InfluxDbRetryTests.RecordingTimeProvider();
        StoreUnavailableException ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => Store(url, time, maxAttempts: 1000).WriteAsync(ThreePoints));

        // Connection refused every time: retried until a minute of (fake) waiting has passed (RetryMaxElapsed), each
        // wait at most 5 s, so at least 12 waits, and far fewer than the 1000-retry cap.
        Assert.InRange(time.Waits.Count, 12, 200);
        Assert.True(time.Waits.Aggregate(TimeSpan.Zero, (a, w) => a + w) >= TimeSpan.FromMinutes(1));
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }
}
