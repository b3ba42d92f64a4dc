using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Storage.Embedded;

namespace ObservaCost.Benchmarks;

/// <summary>
/// What a poison record costs the forwarder on the embedded store: the same spool of 5,000-point batches forwarded
/// clean, with one refused point per batch, and with ten, each into a fresh store; time until the spool is empty.
/// </summary>
public static class PoisonIsolationHarness
{
    private const int BatchPoints = 5_000;

    public static async Task<int> RunAsync(int batches, int rounds)
    {
        Console.WriteLine($"forwarder, embedded store: {batches} spool records of {BatchPoints} points, {rounds} rounds");
        Console.WriteLine("refused per batch | points/s (median) | runs | dead letters");
        foreach (int poisonPerBatch in new[] { 0, 1, 10 })
        {
            var rates = new List<double>();
            long letters = 0;
            for (int round = 0; round < rounds; round++)
            {
                (double rate, long deadLettered) = await RunOnceAsync(batches, poisonPerBatch);
                rates.Add(rate);
                letters = deadLettered;
            }

            double median = rates.Order().ElementAt(rates.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{poisonPerBatch} | {median:N0} | {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} | {letters}"));
        }

        return 0;
    }

    private static async Task<(double PointsPerSecond, long DeadLettered)> RunOnceAsync(int batches, int poisonPerBatch)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-poison-bench-" + Guid.NewGuid().ToString("N")[..12]);
        var spoolOptions = new SpoolOptions { Directory = Path.Combine(dir, "spool"), FlushToDisk = false, MaxBytes = 4L << 30 };
        using ServiceProvider provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new CollectorMetrics(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        try
        {
            using var spool = new DiskSpool(spoolOptions);
            long t0 = 1_700_000_000L * 1_000_000_000L;
            for (int b = 0; b < batches; b++)
            {
                var lines = new StringBuilder(BatchPoints * 60);
                for (int i = 0; i < BatchPoints; i++)
                {
                    // Poison points are spread evenly through the batch: a tag key given twice.
                    bool poison = poisonPerBatch > 0 && i % (BatchPoints / poisonPerBatch) == (BatchPoints / poisonPerBatch) / 2;
                    string tags = poison ? string.Create(CultureInfo.InvariantCulture, $"gpu=g{i % 1000},gpu=x") : string.Create(CultureInfo.InvariantCulture, $"gpu=g{i % 1000}");
                    lines.Append(CultureInfo.InvariantCulture, $"bench,{tags} power_watts={i % 700}.5,util={i % 100}i {t0 + (((long)b * BatchPoints) + i) * 1_000_000L}\n");
                }

                await spool.AppendAsync(Encoding.UTF8.GetBytes(lines.ToString()), BatchPoints);
            }

            await using var store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(dir, "store.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
            var options = new ForwarderOptions { MaxBatchPoints = BatchPoints };
            using var forwarder = new SpoolForwarder(spool, store, options, Options.Create(spoolOptions), metrics, TimeProvider.System, NullLogger<SpoolForwarder>.Instance);
            var clock = Stopwatch.StartNew();
            await forwarder.StartAsync(CancellationToken.None);
            while (spool.PendingPoints > 0)
            {
                await Task.Delay(5);
            }

            clock.Stop();
            await forwarder.StopAsync(CancellationToken.None);
            // The dead letters as the forwarder wrote them: one JSON line each (the counters live in the host's telemetry only).
            long deadLettered = File.ReadLines(Path.Combine(spoolOptions.Directory, "deadletter", "deadletter.jsonl")).LongCount();
            return ((double)batches * BatchPoints / clock.Elapsed.TotalSeconds, deadLettered);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
