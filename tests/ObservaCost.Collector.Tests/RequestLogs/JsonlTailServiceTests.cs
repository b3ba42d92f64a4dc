using System.Globalization;
using System.Text;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>Following JSONL request logs through appends, partial lines, rotation, truncation and a restart.</summary>
public sealed class JsonlTailServiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-tail-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly DateTimeOffset _start = TimeProvider.System.GetUtcNow();
    private int _written;

    public JsonlTailServiceTests() => Directory.CreateDirectory(Path.Combine(_dir, "logs"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Log => Path.Combine(_dir, "logs", "requests.log");

    private string[] Args() =>
    [
        "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
        "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
        "--Collector:RequestLogs:Files:Paths:0", Path.Combine(_dir, "logs", "requests.log*"),
        "--Collector:RequestLogs:Files:PollInterval", "00:00:00.100",
        "--Collector:RequestLogs:Files:Tenant", "files",
        "--Collector:RequestLogs:Aggregation:WindowLength", "00:00:01",
        "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:01:00",
    ];

    /// <summary>Lines with the current time; each carries 1 prompt token so the sum counts lines.</summary>
    private string Lines(int count, bool lastIncomplete = false)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            long ms = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            sb.Append(CultureInfo.InvariantCulture, $"{{\"timestamp\":{ms},\"model\":\"tail\",\"prompt_tokens\":1,\"completion_tokens\":{_written++}}}");
            if (!lastIncomplete || i < count - 1)
            {
                sb.Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>The requests stored once a host with no lateness has replayed the journal and closed every window.</summary>
    private async Task<double> StoredRequestsAfterClosingAsync()
    {
        await using CollectorHost closer = await CollectorHost.StartAsync(
        [
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:RequestLogs:Aggregation:WindowLength", "00:00:01",
            "--Collector:RequestLogs:Aggregation:AllowedLateness", "00:00:00",
        ]);
        TimeSeriesQuery q = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.RequestCount, "n")
            .Between(_start.AddMinutes(-1), _start.AddMinutes(10)).GroupBy(Tags.Tenant).Build();
        QueryResult r = await closer.WaitForAsync(q, x => x.Series.Count == 1 && x.Series[0].Rows[0][0].Number >= _written, TimeSpan.FromSeconds(20));
        Assert.Equal("files", r.Series[0].Tags[Tags.Tenant]);
        return r.Series.Count == 0 ? 0 : r.Series[0].Rows[0][0].Number;
    }

    private static async Task WaitForReceivedAsync(CollectorHost host, long expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            string metrics = await host.Client.GetStringAsync("/metrics");
            if (metrics.Contains($"observacost_collector_points_received_total{{source=\"request_log_file\"}} {expected}\n", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"the tailer did not reach {expected} records: {await host.Client.GetStringAsync("/metrics")}");
    }

    [Fact]
    public async Task AppendsPartialLinesRotationTruncationAndRestart_NoLineSkippedOrRepeated()
    {
        await File.WriteAllTextAsync(Log, Lines(5));
        await using (CollectorHost host = await CollectorHost.StartAsync(Args()))
        {
            await WaitForReceivedAsync(host, 5);

            // Appends, the last line still being written.
            await File.AppendAllTextAsync(Log, Lines(3, lastIncomplete: true));
            await WaitForReceivedAsync(host, 7);
            await Task.Delay(300);
            await WaitForReceivedAsync(host, 7);
            await File.AppendAllTextAsync(Log, "\n");
            await WaitForReceivedAsync(host, 8);

            // Rotation: the file is renamed (and keeps its place), a new one starts.
            await File.AppendAllTextAsync(Log, Lines(2));
            File.Move(Log, Log + ".1");
            await File.WriteAllTextAsync(Log, Lines(4));
            await WaitForReceivedAsync(host, 14);

            // Copy-truncate: the live file is emptied and written again from the start.
            await File.WriteAllTextAsync(Log, string.Empty);
            await Task.Delay(300);
            await File.WriteAllTextAsync(Log, Lines(3));
            await WaitForReceivedAsync(host, 17);
        }

        // Lines written while the collector is down are read after the restart, once.
        await File.AppendAllTextAsync(Log, Lines(6));
        await using (CollectorHost restarted = await CollectorHost.StartAsync(Args()))
        {
            await WaitForReceivedAsync(restarted, 6);
            await Task.Delay(500);
            await WaitForReceivedAsync(restarted, 6);
        }

        Assert.Equal(23, _written);
        Assert.Equal(23, await StoredRequestsAfterClosingAsync());
    }
}
