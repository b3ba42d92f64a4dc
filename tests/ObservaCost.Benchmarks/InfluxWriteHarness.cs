using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// End-to-end write throughput into a real influxd, in one run: ObservaCost's client (records → encoder →
/// InfluxDbStore, 5000-point batches written one after the other) against a minimal writer that posts pre-encoded line protocol in 5000-line batches over
/// one connection. Rounds alternate between the two; each round writes into a fresh database.
/// </summary>
internal static class InfluxWriteHarness
{
    public static async Task<int> RunAsync(int points, int rounds)
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        var start = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        GpuSample[] samples = Fleet.Samples(points, start);
        List<byte[]> preEncoded = HarnessMath.Encode(samples, 5000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"influxd {server.Url} ; {points} GPU samples (12 tags, 8 fields), {preEncoded.Sum(b => (long)b.Length) / (double)points:F0} bytes/point ; {Environment.ProcessorCount} cores"));

        // Warm-up round (JIT, TSM files, connection set-up), not counted.
        await MinimalAsync(server, preEncoded, "warm_min");
        await ClientAsync(server, samples, "warm_client", gzip: false);

        var minimal = new List<double>();
        var client = new List<double>();
        var clientGzip = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            minimal.Add(points / await MinimalAsync(server, preEncoded, $"min_{round}"));
            client.Add(points / await ClientAsync(server, samples, $"client_{round}", gzip: false));
            clientGzip.Add(points / await ClientAsync(server, samples, $"gzip_{round}", gzip: true));
        }

        double m = HarnessMath.Median(minimal), c = HarnessMath.Median(client), g = HarnessMath.Median(clientGzip);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| writer | points/s (median of {rounds}) | runs | ratio to minimal |"));
        Console.WriteLine("|---|---|---|---|");
        Print("minimal (pre-encoded, 5000-line batches, one connection)", m, minimal, m);
        Print("ObservaCost client, gzip off", c, client, m);
        Print("ObservaCost client, gzip on (default)", g, clientGzip, m);
        return 0;
    }

    private static void Print(string name, double median, List<double> runs, double minimal) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {median:N0} | {string.Join(", ", runs.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} | {median / minimal:F2} |"));



    private static async Task<double> MinimalAsync(InfluxDbServer server, List<byte[]> batches, string database)
    {
        await server.QueryAsync($"CREATE DATABASE \"{database}\"");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 });
        var uri = new Uri(server.Url, $"write?db={database}&precision=n");
        var clock = Stopwatch.StartNew();
        foreach (byte[] body in batches)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using HttpResponseMessage response = await http.PostAsync(uri, content);
            response.EnsureSuccessStatusCode();
        }

        double seconds = clock.Elapsed.TotalSeconds;
        await CheckCountAsync(server, database, batches.Sum(b => b.AsSpan().Count((byte)'\n')));
        return seconds;
    }

    private static async Task<double> ClientAsync(InfluxDbServer server, GpuSample[] samples, string database, bool gzip)
    {
        var options = new InfluxDbOptions { Url = server.Url, Database = database, Gzip = gzip };
        var store = new InfluxDbStore(new HttpClient(), options, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        await store.ExecuteAsync($"CREATE DATABASE \"{database}\"");
        var clock = Stopwatch.StartNew();
        await PointBatches.WriteAllAsync(store, samples, options.Precision, batchPoints: 5000);

        double seconds = clock.Elapsed.TotalSeconds;
        await CheckCountAsync(server, database, samples.Length);
        return seconds;
    }

    private static async Task CheckCountAsync(InfluxDbServer server, string database, int expected)
    {
        var store = new InfluxDbStore(new HttpClient(), new InfluxDbOptions { Url = server.Url, Database = database, CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts, "n")
            .Between(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)).Build());
        long count = r.Series[0].Rows[0][0].Integer;
        if (count != expected)
        {
            throw new InvalidOperationException($"{database}: {count} points stored, {expected} written.");
        }
    }
}
