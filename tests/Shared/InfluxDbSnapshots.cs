using System.Diagnostics;
using Xunit;

namespace ObservaCost.Testing;

/// <summary>
/// Times a request to influxd's cache snapshots, from its log: what makes influxd 1.6.7 lose series on a range delete
/// (a DELETE while a snapshot is being written; tests/ObservaCost.Storage.Tests/Influx/InfluxDbRangeDeleteTests.cs).
/// </summary>
public static class InfluxDbSnapshots
{
    private const string SnapshotStart = "msg=\"Cache snapshot (start)\"";
    private const string SnapshotEnd = "msg=\"Cache snapshot (end)\"";

    /// <summary>
    /// Returns as soon as influxd has started its next cache snapshot (the cache goes cold 10 s after the last write
    /// with the fixture's configuration) and fails if that snapshot has already ended.
    /// </summary>
    public static async Task UntilSnapshotStartsAsync(InfluxDbServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        string before = server.ReadLog();
        int started = CountOf(before, SnapshotStart);
        int ended = CountOf(before, SnapshotEnd);

        // A snapshot of these tests' data lasts 0.1–0.2 s: the log is polled every millisecond on a thread of its own,
        // so that a busy thread pool on a loaded machine does not make the poll miss it.
        string log = await Task.Factory.StartNew(
            () =>
            {
                var waited = Stopwatch.StartNew();
                string text;
                while (CountOf(text = server.ReadLog(), SnapshotStart) == started)
                {
                    Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "influxd started no cache snapshot: " + text);
                    Thread.Sleep(1);
                }

                return text;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        Assert.True(CountOf(log, SnapshotEnd) == ended, MissedMessage + ": " + log);
    }

    /// <summary>What <see cref="UntilSnapshotStartsAsync"/> says when the snapshot (0.1–0.2 s) ended before the request.</summary>
    public const string MissedMessage = "the snapshot ended before the request could be sent";

    /// <summary>
    /// Runs a scenario that times a request to a cache snapshot again (up to <paramref name="attempts"/> times, each
    /// with its own server) when a loaded machine let the snapshot end first: a missed moment is not a result.
    /// </summary>
    public static async Task RetryWhenMissedAsync(Func<Task> scenario, int attempts = 3)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await scenario();
                return;
            }
            catch (Exception ex) when (attempt < attempts && ex.ToString().Contains(MissedMessage, StringComparison.Ordinal))
            {
                // The snapshot ended before the request was sent: try the whole scenario again.
            }
        }
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}

/// <summary>
/// An HTTP handler for a store's client that holds the first InfluxQL <c>DELETE</c> sent through it until influxd is
/// writing a cache snapshot; every other request passes at once.
/// </summary>
public sealed class FirstDeleteDuringSnapshotHandler(InfluxDbServer server) : DelegatingHandler(new HttpClientHandler())
{
    private int _armed = 1;

    /// <summary>True once the held DELETE has been sent.</summary>
    public bool DeleteSent => Volatile.Read(ref _armed) == 0;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Content is FormUrlEncodedContent form && Volatile.Read(ref _armed) == 1
            && (await form.ReadAsStringAsync(cancellationToken)).StartsWith("q=DELETE", StringComparison.Ordinal)
            && Interlocked.Exchange(ref _armed, 0) == 1)
        {
            await InfluxDbSnapshots.UntilSnapshotStartsAsync(server);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
