using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Ingest;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// Memory per accepted byte and the cost of refusing. (1) The Release collector as its own process on the embedded
/// store: RSS before, peak RSS (VmHWM) until the store holds every point, for one large body kept as sent (ns
/// precision) and one rewritten (s precision); and the time to answer 150,000 new series against the default limit
/// of 100,000. (2) In this process, the ingest path alone (scan and gate): managed bytes allocated per body byte and
/// the peak managed heap; points/s accepted against points/s refused beyond the series limit.
/// </summary>
internal static class IngestMemoryHarness
{
    private const double MiB = 1024 * 1024;

    public static async Task<int> RunAsync(int bodyMiB)
    {
        long now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        byte[] asSent = Body(bodyMiB, now, 1_000_000_000, "gpu_mem", out int points);
        byte[] seconds = Body(bodyMiB, now, 1, "gpu_mem_s", out _);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"body: {asSent.Length / MiB:F1} MiB, {points:N0} points, 8,000 series; {Environment.ProcessorCount} cores"));
        Console.WriteLine("| body (collector process, embedded store) | answer | time to answer s | RSS before MB | peak RSS MB | peak − before per body byte |");
        Console.WriteLine("|---|---|---|---|---|---|");
        await PostToProcessAsync("kept as sent (precision=ns)", asSent, "ns", points);
        await PostToProcessAsync("rewritten (precision=s)", seconds, "s", points);
        byte[] cardinality = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 150_000).Select(i => string.Create(CultureInfo.InvariantCulture, $"card,id={i} v=1 {now}\n"))));
        await PostToProcessAsync("150,000 new series, limit 100,000", cardinality, "s", 100_000);

        InProcess(asSent, now);
        return 0;
    }

    private static byte[] Body(int mib, long now, long unit, string measurement, out int points)
    {
        var sb = new StringBuilder(mib * 1024 * 1024 + 4096);
        points = 0;
        while (sb.Length < mib * 1024 * 1024)
        {
            int i = points++;
            sb.Append(CultureInfo.InvariantCulture,
                $"{measurement},node=node-{i % 500},gpu_uuid=GPU-{i % 8000:D5},model=llama-{i % 7} power_watts={300 + (i % 400)}.5,utilization_percent={i % 100}i,memory_used_bytes={i * 1024L}i {(now - 3600 + (i / 8000)) * unit}\n");
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static async Task PostToProcessAsync(string label, byte[] body, string precision, int expectedWritten)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-mem-" + Guid.NewGuid().ToString("N")[..8]);
        int port = InfluxDbServer.FreePort();
        using Process collector = await CollectorPushHarness.StartCollectorAsync(dir, port,
            ["--Storage:Embedded:Path", Path.Combine(dir, "store.db"), "--Collector:Spool:FlushToDisk", "false"]);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")), Timeout = TimeSpan.FromMinutes(20) };
            await Task.Delay(1000);
            long before = CollectorPushHarness.Rss(collector.Id);
            using var request = new HttpRequestMessage(HttpMethod.Post, "write?precision=" + precision) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorPushHarness.Token);
            var clock = Stopwatch.StartNew();
            using HttpResponseMessage response = await client.SendAsync(request);
            double answer = clock.Elapsed.TotalSeconds;

            // Until the store holds every accepted point (the forwarder's counter), or 10 minutes.
            string written = string.Create(CultureInfo.InvariantCulture, $"observacost_collector_points_written_total {expectedWritten}");
            while (!(await client.GetStringAsync("metrics")).Contains(written, StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromMinutes(10))
            {
                await Task.Delay(500);
            }

            long peak = CollectorPushHarness.Rss(collector.Id, "VmHWM:");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {(int)response.StatusCode} | {answer:F1} | {before / MiB:F0} | {peak / MiB:F0} | {(peak - before) / (double)body.Length:F1} |"));
        }
        finally
        {
            collector.Kill();
            await collector.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void InProcess(byte[] body, long now)
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(now));
        var gate = new PointGate(Options.Create(new IngestLimitsOptions()), time);
        int accepted = 0;
        GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long peakHeap = heapBefore;
        var errors = new List<LineError>();
        LineProtocolParser.Scan(body, WritePrecision.Nanoseconds, 0, line =>
        {
            if (gate.Check(line, body) is null)
            {
                accepted++;
            }

            if ((accepted & 0x3FFF) == 0)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
            }

            return false;
        }, _ => { }, errors);
        List<(ReadOnlyMemory<byte> Lines, int PointCount)> records = IngestPipeline.Split(body, accepted, 5_000, 4 * 1024 * 1024);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
        Console.WriteLine();
        Console.WriteLine("| ingest path in process (scan, gate, cut into spool records) | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated per body byte | {allocated / (double)body.Length:F3} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| peak managed heap above the body, MB | {(peakHeap - heapBefore) / MiB:F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| spool records for {accepted:N0} points | {records.Count} |"));

        // The refusal path: a fresh gate with the default limit of 100,000 series per measurement.
        var fresh = new PointGate(Options.Create(new IngestLimitsOptions()), time);
        byte[] series = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 250_000).Select(i => string.Create(CultureInfo.InvariantCulture, $"card,id={i} v=1 {now * 1_000_000_000}\n"))));
        var lines = new List<LineSummary>(250_000);
        LineProtocolParser.Scan(series, WritePrecision.Nanoseconds, 0, line => { lines.Add(line); return false; }, _ => { }, errors);
        var watch = Stopwatch.StartNew();
        int admitted = 0;
        for (int i = 0; i < 100_000; i++)
        {
            admitted += fresh.Check(lines[i], series) is null ? 1 : 0;
        }

        double acceptSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        int refused = 0;
        for (int i = 100_000; i < 250_000; i++)
        {
            refused += fresh.Check(lines[i], series) is null ? 0 : 1;
        }

        double refuseSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine();
        Console.WriteLine("| gate, one measurement, limit 100,000 series | points | seconds | points/s |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| new series accepted up to the limit | {admitted:N0} | {acceptSeconds:F3} | {admitted / acceptSeconds:N0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| new series refused beyond it | {refused:N0} | {refuseSeconds:F3} | {refused / refuseSeconds:N0} |"));
    }
}
