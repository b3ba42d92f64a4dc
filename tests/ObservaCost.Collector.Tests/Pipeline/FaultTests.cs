using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Query;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Pipeline;

/// <summary>
/// The two fault tests against a real InfluxDB: the store stopped for a minute under steady ingest, and the collector
/// killed with SIGKILL and started again. Each acknowledged batch carries its own tag, so "present and not
/// duplicated" is checked batch by batch: its stored count must equal its size exactly.
/// </summary>
public sealed class FaultTests
{
    private const int BatchSize = 200;

    private static string Batch(int batch, long startSeconds) =>
        string.Concat(Enumerable.Range(0, BatchSize).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"fault,batch={batch},gpu={i % 8} power_watts={(batch * BatchSize) + i} {((startSeconds + batch) * 1_000_000_000L) + (i * 1_000_000L)}\n")));

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        try
        {
            using HttpResponseMessage response = await client.SendAsync(request);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return HttpStatusCode.ServiceUnavailable;
        }
    }

    private static async Task AssertEveryAcknowledgedBatchStoredOnceAsync(InfluxDbServer influx, IReadOnlyCollection<int> acknowledged, long startSeconds, TimeSpan timeout)
    {
        var store = new InfluxDbStore(new HttpClient(), new InfluxDbOptions { Url = influx.Url, Database = "observacost", CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From("fault").Count("power_watts", "n")
            .Between(startSeconds * 1_000_000_000L, (startSeconds + 100_000) * 1_000_000_000L).GroupBy("batch").Build();
        var clock = Stopwatch.StartNew();
        Dictionary<int, long> counts = [];
        while (clock.Elapsed < timeout)
        {
            try
            {
                QueryResult result = await store.QueryAsync(query);
                counts = result.Series.ToDictionary(s => int.Parse(s.Tags["batch"], CultureInfo.InvariantCulture), s => s.Rows[0][0].Integer);
            }
            catch (ObservaCost.Storage.StoreRequestException)
            {
                // The database may not exist yet.
            }

            if (acknowledged.All(b => counts.GetValueOrDefault(b) == BatchSize))
            {
                break;
            }

            await Task.Delay(200);
        }

        int[] missing = acknowledged.Where(b => counts.GetValueOrDefault(b) != BatchSize).ToArray();
        Assert.True(missing.Length == 0, $"batches acknowledged but not stored exactly once: {string.Join(", ", missing.Take(20).Select(b => $"{b}→{counts.GetValueOrDefault(b)}"))}");
        Assert.All(counts.Values, c => Assert.Equal(BatchSize, c));
    }

    [Fact]
    public async Task StoreStoppedForAMinuteUnderSteadyIngest_EveryAcknowledgedPointIsStoredOnce()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        await using CollectorHost host = await CollectorHost.StartAsync(
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", influx.Url.ToString(),
            "--Storage:InfluxDb:RetryMaxElapsed", "00:00:02",
            "--Storage:InfluxDb:RequestTimeout", "00:00:02");
        long start = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() - 3600;
        var acknowledged = new List<int>();
        var downFor = TimeSpan.FromSeconds(60);
        using var stop = new CancellationTokenSource();

        Task producer = Task.Run(async () =>
        {
            for (int batch = 0; !stop.IsCancellationRequested; batch++)
            {
                if (await PostAsync(host.Client, Batch(batch, start)) == HttpStatusCode.NoContent)
                {
                    lock (acknowledged)
                    {
                        acknowledged.Add(batch);
                    }
                }

                await Task.Delay(100);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(3));
        await influx.StopAsync();
        await Task.Delay(downFor);
        int acknowledgedWhileDown;
        lock (acknowledged)
        {
            acknowledgedWhileDown = acknowledged.Count;
        }

        await influx.RestartAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await producer;

        Assert.True(acknowledgedWhileDown > 300, $"ingest should have gone on while the store was down ({acknowledgedWhileDown} batches)");
        await AssertEveryAcknowledgedBatchStoredOnceAsync(influx, acknowledged, start, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task CollectorKilledWithSigkillAndRestarted_EveryAcknowledgedPointIsStoredOnce()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        string dir = Path.Combine(Path.GetTempPath(), "observacost-kill-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        int port = InfluxDbServer.FreePort();
        using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")), Timeout = TimeSpan.FromSeconds(10) };
        long start = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() - 3600;
        var acknowledged = new List<int>();
        try
        {
            // The store is down first, so acknowledged batches pile up in the spool when the collector is killed.
            await influx.StopAsync();
            Process collector = await StartCollectorProcessAsync(dir, port, influx.Url);
            int batch = 0;
            for (; batch < 60; batch++)
            {
                if (await PostAsync(client, Batch(batch, start)) == HttpStatusCode.NoContent)
                {
                    acknowledged.Add(batch);
                }
            }

            // Kill it in the middle of a stream of requests.
            Task<HttpStatusCode> inFlight = PostAsync(client, Batch(batch, start));
            collector.Kill();
            await collector.WaitForExitAsync();
            if (await inFlight == HttpStatusCode.NoContent)
            {
                acknowledged.Add(batch);
            }

            batch++;
            collector.Dispose();
            Assert.True(acknowledged.Count >= 60);

            await influx.RestartAsync();
            collector = await StartCollectorProcessAsync(dir, port, influx.Url);
            for (int more = 0; more < 20; more++, batch++)
            {
                if (await PostAsync(client, Batch(batch, start)) == HttpStatusCode.NoContent)
                {
                    acknowledged.Add(batch);
                }
            }

            await AssertEveryAcknowledgedBatchStoredOnceAsync(influx, acknowledged, start, TimeSpan.FromSeconds(60));
            collector.Kill();
            await collector.WaitForExitAsync();
            collector.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Task<Process> StartCollectorProcessAsync(string dir, int port, Uri influx) =>
        CollectorProcess.StartAsync(dir, port,
        [
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", influx.ToString(),
            "--Storage:InfluxDb:RetryMaxElapsed", "00:00:02",
            "--Storage:InfluxDb:RequestTimeout", "00:00:02",
            "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
            "--Collector:Spool:FlushToDisk", "true",
            "--Collector:Forwarder:RetryMaxDelay", "00:00:01",
            "--Collector:Auth:Tokens:0:Name", "fleet",
            "--Collector:Auth:Tokens:0:Sha256", IngestAuthentication.HashToken(CollectorHost.AdminToken),
        ]);
}
