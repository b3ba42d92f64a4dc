using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// The hourly cost + idle job (<see cref="CostWindowService.ComputeAndWriteAsync"/>) on a real influxd, for several
/// fleet sizes, against the bare InfluxQL queries the job issues (captured from the job, rendered by
/// <see cref="InfluxQlRenderer"/>, posted with a plain HttpClient and read to the end) in the same run. Each size has
/// its own database, dropped after it is measured.
/// </summary>
internal static class CostWindowHarness
{
    /// <summary>The window measured: one hour, a Saturday morning (no tariff period boundary inside).</summary>
    private static readonly DateTimeOffset WindowStart = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Samples are written from this much before the window to this much after it.</summary>
    private static readonly TimeSpan DataMargin = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(10);

    /// <summary>The collector's request windows as the job reads them: 1 minute per model, tenant and status.</summary>
    private static readonly TimeSpan RequestWindow = TimeSpan.FromMinutes(1);

    private const int RequestsPerHour = 1_000_000;
    private const int ModelCount = 20;
    private const int TenantCount = 10;
    private const int LinesPerPost = 10_000;

    private static readonly (string Pool, string GpuModel)[] Pools =
    [
        ("chat-h100", "NVIDIA H100 80GB HBM3"),
        ("chat-h100", "NVIDIA H100 80GB HBM3"),
        ("small-l40s", "NVIDIA L40S"),
        ("batch-spot", "NVIDIA L4"),
    ];

    private static readonly string[] Models = Enumerable.Range(0, ModelCount)
        .Select(i => i switch { 0 => "llama-3.1-70b", 1 => "mistral-7b", _ => "model-" + i.ToString("D2", CultureInfo.InvariantCulture) })
        .ToArray();

    private static readonly string[] Tenants = Enumerable.Range(0, TenantCount).Select(i => "tenant-" + i.ToString("D2", CultureInfo.InvariantCulture)).ToArray();

    public static async Task<int> RunAsync(IReadOnlyList<int> fleetSizes, int rounds)
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        PricingFile pricing = PricingFileReader.Load(Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"));
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"influxd {server.Url} ; window {WindowStart:u} + 1 h, samples every {SampleInterval.TotalSeconds:F0} s from {DataMargin.TotalMinutes:F0} min before to {DataMargin.TotalMinutes:F0} min after ; {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB"));

        var results = new List<SizeResult>();
        foreach (int gpus in fleetSizes)
        {
            results.Add(await MeasureAsync(server, http, pricing, gpus, rounds));
        }

        PrintTable(results, rounds);
        return 0;
    }

    private static async Task<SizeResult> MeasureAsync(InfluxDbServer server, HttpClient http, PricingFile pricing, int gpus, int rounds)
    {
        string database = "cost_window_" + gpus.ToString(CultureInfo.InvariantCulture);
        await server.QueryAsync($"CREATE DATABASE \"{database}\"");
        var writeClock = Stopwatch.StartNew();
        long samples = await WriteFleetAsync(http, server, database, gpus);
        (long windows, long requests) = await WriteInferenceWindowsAsync(http, server, database);
        double writeSeconds = writeClock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{gpus} GPUs: wrote {samples:N0} GPU samples and {windows:N0} inference windows ({requests:N0} requests in the hour) in {writeSeconds:F1} s ({(samples + windows) / writeSeconds:N0} points/s)"));

        // Let influxd snapshot its cache to TSM (cache-snapshot-write-cold-duration = 10 s), as the hour's data is by
        // the time the job runs (5 min after the window ends).
        await Task.Delay(TimeSpan.FromSeconds(12));

        // The fleet query at 10,000 GPUs takes longer than the default 30 s request timeout on a loaded two-core machine.
        var options = new InfluxDbOptions { Url = server.Url, Database = database, CreateDatabase = false, RequestTimeout = TimeSpan.FromMinutes(5) };
        var store = new RecordingStore(new InfluxDbStore(new HttpClient(), options, TimeProvider.System, NullLogger<InfluxDbStore>.Instance));
        // The rollup job as it runs in production: once a minute over the minute that just passed (here the hour and
        // the look-around each side that the cost window reads). The cost job then reads the rollup.
        var rollup = new GpuRollupService(store, pricing, NullLogger<GpuRollupService>.Instance);
        var rollupMinuteSeconds = new List<double>();
        double lookAroundMinutes = new CostWindowService(store, pricing, new AnalyticsWindowOptions(), NullLogger<CostWindowService>.Instance).LookAround.TotalMinutes;
        for (DateTimeOffset minute = WindowStart.AddMinutes(-lookAroundMinutes); minute < WindowStart.AddMinutes(60 + lookAroundMinutes); minute = minute.AddMinutes(1))
        {
            var minuteClock = Stopwatch.StartNew();
            await rollup.RollupAsync(minute, minute.AddMinutes(1));
            rollupMinuteSeconds.Add(minuteClock.Elapsed.TotalSeconds);
        }

        store.Queries.Clear();
        var service = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Rollup }, NullLogger<CostWindowService>.Instance);

        // Warm-up (JIT, influxd's first read of the files) that also captures the queries the job issues.
        WindowCostReport warm = await service.ComputeAndWriteAsync(WindowStart);
        if (warm.GpuCount != gpus)
        {
            throw new InvalidOperationException($"The job read {warm.GpuCount} GPUs, {gpus} were written.");
        }

        if (Environment.GetEnvironmentVariable("OBSERVACOST_DIAG") == "1")
        {
            var rawService = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
            WindowCostReport fromRaw = await rawService.ComputeAsync(WindowStart);
            WindowCostReport noTokens = await service.ComputeAsync(WindowStart);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  DIAG raw rows {fromRaw.Costs.Count} (unallocated {fromRaw.Costs.Count(c => c.Model is null && c.Tenant is null)}), rollup rows {warm.Costs.Count} (unallocated {warm.Costs.Count(c => c.Model is null && c.Tenant is null)}), GPU-hours raw {fromRaw.Costs.Sum(c => c.GpuHours):F3} rollup {warm.Costs.Sum(c => c.GpuHours):F3}, allocated GPU-hours raw {fromRaw.Costs.Where(c => c.Model is not null || c.Tenant is not null).Sum(c => c.GpuHours):F3} rollup {warm.Costs.Where(c => c.Model is not null || c.Tenant is not null).Sum(c => c.GpuHours):F3}"));
            foreach (CostWindow c in warm.Costs.Where(c => c.GpuUuid!.StartsWith("GPU-00000001", StringComparison.Ordinal) || c.GpuUuid!.StartsWith("GPU-00000002", StringComparison.Ordinal)))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  DIAG rollup {c.GpuUuid} {c.Model} {c.Tenant} {c.GpuHours * 60:F2} min"));
            }

            foreach (CostWindow c in fromRaw.Costs.Where(c => c.GpuUuid!.StartsWith("GPU-00000001", StringComparison.Ordinal) || c.GpuUuid!.StartsWith("GPU-00000002", StringComparison.Ordinal)))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  DIAG raw {c.GpuUuid} {c.Model} {c.Tenant} {c.GpuHours * 60:F2} min"));
            }
        }

        string[] queries = store.Queries.Select(InfluxQlRenderer.Render).ToArray();
        await PrintAnswerSizesAsync(store, warm);
        store.Queries.Clear();
        await BareQueriesAsync(http, server, database, queries);

        var job = new List<WindowCostReport>();
        var jobSeconds = new List<double>();
        var bare = new List<BareRound>();
        for (int round = 0; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            WindowCostReport report = await service.ComputeAndWriteAsync(WindowStart);
            jobSeconds.Add(clock.Elapsed.TotalSeconds);
            job.Add(report);
            bare.Add(await BareQueriesAsync(http, server, database, queries));
        }

        if (Environment.GetEnvironmentVariable("OBSERVACOST_QUERY_SHAPES") == "1")
        {
            await QueryShapesAsync(http, server, database, queries[0], rounds);
        }

        // Our side alone: the same job (read + compute, no write) against influxd's recorded answers, so the
        // client's parsing and the domain work are timed without the store.
        byte[][] answers = bare[^1].Bodies;
        var replayOptions = new InfluxDbOptions { Url = server.Url, Database = database, CreateDatabase = false };
        var replayStore = new InfluxDbStore(new HttpClient(new RecordedAnswers(queries, answers)), replayOptions, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        var replay = new CostWindowService(replayStore, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Rollup }, NullLogger<CostWindowService>.Instance);
        await replay.ComputeAsync(WindowStart);
        var clientSeconds = new List<double>();
        var replayReadSeconds = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            WindowCostReport report = await replay.ComputeAsync(WindowStart);
            clientSeconds.Add(clock.Elapsed.TotalSeconds);
            replayReadSeconds.Add(report.ReadDuration.TotalSeconds);
        }

        await server.QueryAsync($"DROP DATABASE \"{database}\"");
        var result = new SizeResult(
            gpus,
            samples,
            windows,
            jobSeconds,
            job.Select(r => r.ReadDuration.TotalSeconds).ToList(),
            job.Select(r => r.ComputeDuration.TotalSeconds).ToList(),
            job.Select(r => r.WriteDuration.TotalSeconds).ToList(),
            bare.Select(b => b.Seconds.Sum()).ToList(),
            clientSeconds,
            replayReadSeconds,
            Enumerable.Range(0, queries.Length).Select(q => HarnessMath.Median(bare.Select(b => b.Seconds[q]).ToList())).ToArray(),
            bare[0].Bytes,
            queries,
            warm.Costs.Count + warm.Idle.Count + warm.Kpis.Count,
            rollupMinuteSeconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  job {string.Join(", ", jobSeconds.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))} s ; bare queries {string.Join(", ", result.BareSeconds.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))} s ; {result.PointsWritten} points written back"));
        for (int q = 0; q < queries.Length; q++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  query {q + 1}: median {result.QuerySeconds[q]:F3} s, {result.QueryBytes[q] / 1e6:F1} MB: {queries[q]}"));
        }

        return result;
    }

    /// <summary>
    /// The stored cost rows of the hour, and what the API's <c>/cost</c> reads for it (rows and their JSON with the
    /// web defaults, as the API serializes) without groupBy, by every tag but the GPU, and by GPU.
    /// </summary>
    private static async Task PrintAnswerSizesAsync(ITimeSeriesStore store, WindowCostReport warm)
    {
        var json = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  cost_window rows stored for the hour: {warm.Costs.Count:N0} ({warm.Costs.Select(c => c.GpuUuid).Distinct(StringComparer.Ordinal).Count():N0} GPUs); idle {warm.Idle.Count:N0}, KPIs {warm.Kpis.Count:N0}"));
        string[][] groupings = [[], [Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel], [Tags.GpuUuid], [Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel, Tags.GpuUuid]];
        foreach (string[] groupBy in groupings)
        {
            var clock = Stopwatch.StartNew();
            IReadOnlyList<CostWindow> rows = await Analytics.Reading.StoredWindowReader.ReadCostAsync(
                store, new Analytics.Reading.WindowSelection { From = WindowStart, To = WindowStart.AddHours(1), GroupBy = groupBy });
            double seconds = clock.Elapsed.TotalSeconds;
            int bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(rows, json).Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  /cost for the hour, groupBy=[{string.Join(',', groupBy)}]: {rows.Count:N0} rows, {bytes / 1e3:F1} kB of JSON, read in {seconds:F3} s"));
        }
    }

    /// <summary>
    /// N GPUs, 8 per node, 420 samples each. A node's pool decides its GPU model; 5 of 6 GPUs hold a pod (served
    /// model of the node, a tenant namespace) for part of the hour — from up to 5 min before the window to 45–70 min
    /// into it — and are busy then, idle otherwise; the sixth never has a pod.
    /// </summary>
    private static async Task<long> WriteFleetAsync(HttpClient http, InfluxDbServer server, string database, int gpus)
    {
        DateTimeOffset first = WindowStart - DataMargin;
        int steps = (int)((TimeSpan.FromHours(1) + DataMargin + DataMargin) / SampleInterval);
        var energy = new double[gpus];
        for (int g = 0; g < gpus; g++)
        {
            energy[g] = 1.0e9 + (g * 1.0e6);
        }

        string[] uuids = Enumerable.Range(0, gpus).Select(g => "GPU-" + g.ToString("x8", CultureInfo.InvariantCulture) + "-5c1b-4f0e-9d3a-7e2b1c0d9e8f").ToArray();
        string[] nodes = Enumerable.Range(0, (gpus + 7) / 8).Select(n => "gpu-node-" + n.ToString(CultureInfo.InvariantCulture)).ToArray();
        string[] pods = Enumerable.Range(0, gpus).Select(g => "vllm-" + (g / 2).ToString(CultureInfo.InvariantCulture)).ToArray();

        using var writer = new LineProtocolWriter();
        Task pending = Task.CompletedTask;
        long written = 0;
        for (int step = 0; step < steps; step++)
        {
            DateTimeOffset time = first + (step * SampleInterval);
            double minute = (time - WindowStart).TotalMinutes;
            for (int g = 0; g < gpus; g++)
            {
                int node = g / 8;
                (string pool, string gpuModel) = Pools[node % Pools.Length];
                double podFrom = ((g * 7) % 15) - 5, podTo = 45 + ((g * 11) % 26);
                bool allocated = g % 6 != 0 && minute >= podFrom && minute < podTo;
                double power = allocated ? 250 + ((g * 13 + step * 7) % 400) : 60 + ((g + step) % 20);
                energy[g] += power * SampleInterval.TotalSeconds;
                var sample = new GpuSample
                {
                    Time = time,
                    Cluster = "prod-eu-1",
                    Node = nodes[node],
                    GpuIndex = g % 8,
                    GpuUuid = uuids[g],
                    GpuModel = gpuModel,
                    Pool = pool,
                    Namespace = allocated ? Tenants[(g / 2) % Tenants.Length] : null,
                    Pod = allocated ? pods[g] : null,
                    Container = allocated ? "vllm" : null,
                    ServedModel = allocated && pool != "batch-spot" ? Models[node % Models.Length] : null,
                    UtilizationPercent = allocated ? 40 + ((g * 7 + step) % 60) : (step % 3),
                    GraphicsEngineActivityRatio = allocated ? (40 + ((g * 7 + step) % 60)) / 100.0 : (step % 3) / 100.0,
                    PowerWatts = power,
                    EnergyJoules = energy[g],
                    MemoryUsedBytes = allocated ? 60L << 30 : 1L << 30,
                    MemoryTotalBytes = 80L << 30,
                    TemperatureCelsius = 35 + (g % 40),
                    XidErrors = 0,
                };
                sample.WriteTo(writer);
                if (writer.PointCount == LinesPerPost)
                {
                    pending = await PostAsync(http, server, database, writer, pending);
                    written += LinesPerPost;
                }
            }
        }

        written += writer.PointCount;
        pending = await PostAsync(http, server, database, writer, pending);
        await pending;
        return written;
    }

    /// <summary>
    /// The 1-minute windows the collector writes for 1M requests an hour over 20 models × 10 tenants (status ok, and
    /// an error window for every fifth pair), from 5 min before to 5 min after the hour; the first five models also
    /// have tenant-less vLLM-counter windows, which the job must ignore in favour of the request logs.
    /// </summary>
    private static async Task<(long Windows, long RequestsInHour)> WriteInferenceWindowsAsync(HttpClient http, InfluxDbServer server, string database)
    {
        int pairs = ModelCount * TenantCount;
        int minutes = (int)((TimeSpan.FromHours(1) + DataMargin + DataMargin) / RequestWindow);
        double perPairMinute = RequestsPerHour / 60.0 / pairs;
        using var writer = new LineProtocolWriter();
        Task pending = Task.CompletedTask;
        long windows = 0, requestsInHour = 0;
        for (int w = 0; w < minutes; w++)
        {
            DateTimeOffset start = WindowStart - DataMargin + (w * RequestWindow);
            bool inHour = start >= WindowStart && start < WindowStart.AddHours(1);
            for (int p = 0; p < pairs; p++)
            {
                int model = p / TenantCount, tenant = p % TenantCount;
                // ±30 % around the mean, deterministic; 1M requests over the hour in total.
                long requests = (long)Math.Round(perPairMinute * (0.7 + (0.6 * (((p * 37) + (w * 11)) % 100) / 99.0)));
                requestsInHour += inHour ? requests : 0;
                windows += AddWindow(writer, start, Models[model], Tenants[tenant], "request_log", "ok", requests);
                if (p % 5 == 0)
                {
                    windows += AddWindow(writer, start, Models[model], Tenants[tenant], "request_log", "error", Math.Max(1, requests / 50));
                }
            }

            for (int model = 0; model < 5; model++)
            {
                windows += AddWindow(writer, start, Models[model], null, "vllm", null, (long)(perPairMinute * TenantCount));
            }

            if (writer.PointCount >= LinesPerPost)
            {
                pending = await PostAsync(http, server, database, writer, pending);
            }
        }

        pending = await PostAsync(http, server, database, writer, pending);
        await pending;
        return (windows, requestsInHour);
    }

    private static int AddWindow(LineProtocolWriter writer, DateTimeOffset start, string model, string? tenant, string source, string? status, long requests)
    {
        var window = new InferenceWindow
        {
            WindowStart = start,
            WindowLength = RequestWindow,
            Model = model,
            Tenant = tenant,
            Pool = Models.AsSpan().IndexOf(model) % 2 == 0 ? "chat-h100" : "small-l40s",
            Source = source,
            Status = status,
            RequestCount = requests,
            ErrorCount = status == "error" ? requests : 0,
            PromptTokens = requests * 620,
            CompletionTokens = requests * 240,
            LatencySumMs = requests * 850.0,
            LatencyMaxMs = 4200,
            LatencyP50Ms = 700,
            LatencyP95Ms = 2100,
            LatencyP99Ms = 3300,
            TimeToFirstTokenP50Ms = 120,
            TimeToFirstTokenP95Ms = 380,
            TimeToFirstTokenP99Ms = 700,
        };
        return window.WriteTo(writer) ? 1 : throw new InvalidOperationException(writer.LastRejection);
    }

    /// <summary>Waits for the previous post, then starts posting the writer's lines (copied) and resets it.</summary>
    private static async Task<Task> PostAsync(HttpClient http, InfluxDbServer server, string database, LineProtocolWriter writer, Task previous)
    {
        byte[] body = writer.WrittenSpan.ToArray();
        writer.Reset();
        await previous;
        return PostLinesAsync(http, server, database, body);
    }

    private static async Task PostLinesAsync(HttpClient http, InfluxDbServer server, string database, byte[] body)
    {
        if (body.Length == 0)
        {
            return;
        }

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using HttpResponseMessage response = await http.PostAsync(new Uri(server.Url, $"write?db={database}&precision=ns"), content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"influxd refused a write: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>The job's queries with the store's own parameters (epoch=ns, chunked, 10,000 rows a chunk), each body read to its end.</summary>
    private static async Task<BareRound> BareQueriesAsync(HttpClient http, InfluxDbServer server, string database, string[] queries)
    {
        var seconds = new double[queries.Length];
        var bytes = new long[queries.Length];
        var bodies = new byte[queries.Length][];
        for (int q = 0; q < queries.Length; q++)
        {
            var form = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["q"] = queries[q],
                ["db"] = database,
                ["epoch"] = "ns",
                ["chunked"] = "true",
                ["chunk_size"] = "10000",
            };
            var clock = Stopwatch.StartNew();
            using var content = new FormUrlEncodedContent(form);
            using HttpResponseMessage response = await http.PostAsync(new Uri(server.Url, "query"), content);
            byte[] body = await response.Content.ReadAsByteArrayAsync();
            seconds[q] = clock.Elapsed.TotalSeconds;
            bytes[q] = body.Length;
            bodies[q] = body;
            response.EnsureSuccessStatusCode();
        }

        return new BareRound(seconds, bytes, bodies);
    }

    /// <summary>Other shapes of the fleet query, to see what InfluxDB's time goes into.</summary>
    private static async Task QueryShapesAsync(HttpClient http, InfluxDbServer server, string database, string fleetQuery, int rounds)
    {
        string where = fleetQuery[fleetQuery.IndexOf(" WHERE ", StringComparison.Ordinal)..fleetQuery.IndexOf(" GROUP BY ", StringComparison.Ordinal)];
        string tags = "\"uuid\", \"node\", \"pool\", \"gpu_model\", \"served_model\", \"namespace\", \"pod\"";
        long from = long.Parse(where.Split(' ')[4], CultureInfo.InvariantCulture), to = long.Parse(where.Split(' ')[8], CultureInfo.InvariantCulture);
        long mid = from + ((to - from) / 2 / 60_000_000_000 * 60_000_000_000);
        string sel = "SELECT mean(\"power_watts\") AS \"power\", mean(\"utilization_percent\") AS \"util\", mean(\"gr_engine_active_ratio\") AS \"gr\", last(\"energy_joules\") AS \"energy\" FROM \"gpu_sample\"";
        string groupBy = " GROUP BY time(60000ms), " + tags + " fill(none)";
        string One(string call) => "SELECT " + call + " FROM \"gpu_sample\"" + where + groupBy;
        string[] single = [One("mean(\"power_watts\") AS \"power\""), One("mean(\"utilization_percent\") AS \"util\""), One("mean(\"gr_engine_active_ratio\") AS \"gr\""), One("last(\"energy_joules\") AS \"energy\"")];
        (string Name, string[] Queries, bool Parallel)[] shapes =
        [
            ("as issued", [fleetQuery], false),
            ("one field: mean(power)", [single[0]], false),
            ("one field: last(energy)", [single[3]], false),
            ("three means, no last", [One("mean(\"power_watts\") AS \"power\", mean(\"utilization_percent\") AS \"util\", mean(\"gr_engine_active_ratio\") AS \"gr\"")], false),
            ("four one-field queries, one after another", single, false),
            ("four one-field queries, in parallel", single, true),
            ("GROUP BY time, uuid only", [sel + where + " GROUP BY time(60000ms), \"uuid\" fill(none)"], false),
            ("raw 4 fields, no aggregation", ["SELECT \"power_watts\", \"utilization_percent\", \"gr_engine_active_ratio\", \"energy_joules\" FROM \"gpu_sample\"" + where], false),
            ("two halves of the range in parallel", [
                sel + string.Create(CultureInfo.InvariantCulture, $" WHERE time >= {from} AND time < {mid}") + groupBy,
                sel + string.Create(CultureInfo.InvariantCulture, $" WHERE time >= {mid} AND time < {to}") + groupBy], true),
        ];
        foreach ((string name, string[] queries, bool parallel) in shapes)
        {
            var times = new List<double>();
            long bytes = 0;
            for (int round = 0; round <= rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                BareRound[] parts = parallel
                    ? await Task.WhenAll(queries.Select(q => BareQueriesAsync(http, server, database, [q])))
                    : [await BareQueriesAsync(http, server, database, queries)];
                if (round > 0)
                {
                    times.Add(clock.Elapsed.TotalSeconds);
                }

                bytes = parts.Sum(p => p.Bytes.Sum());
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  shape '{name}': median {HarnessMath.Median(times):F3} s, {bytes / 1e6:F1} MB"));
        }
    }

    private static void PrintTable(List<SizeResult> results, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| GPUs | GPU samples | job median s (min) | read / compute / write median s | bare queries median s (min) | job / bare | read / bare | our side s (replayed answers: parse / compute) | job ms per GPU |"));
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (SizeResult r in results)
        {
            double job = HarnessMath.Median(r.JobSeconds), bareMedian = HarnessMath.Median(r.BareSeconds), read = HarnessMath.Median(r.ReadSeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Gpus:N0} | {r.Samples:N0} | {job:F2} ({r.JobSeconds.Min():F2}) | {read:F2} / {HarnessMath.Median(r.ComputeSeconds):F2} / {HarnessMath.Median(r.WriteSeconds):F2} | {bareMedian:F2} ({r.BareSeconds.Min():F2}) | {job / bareMedian:F2} | {read / bareMedian:F2} | {HarnessMath.Median(r.ClientSeconds):F3} ({HarnessMath.Median(r.ClientReadSeconds):F3} / {HarnessMath.Median(r.ClientSeconds) - HarnessMath.Median(r.ClientReadSeconds):F3}) | {job * 1000 / r.Gpus:F3} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(medians of {rounds} rounds after one warm-up round)"));
        Console.WriteLine();
        Console.WriteLine("| GPUs | rollup job per minute, median s (max) | rollup, the hour's 64 minutes summed s |");
        Console.WriteLine("|---|---|---|");
        foreach (SizeResult r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Gpus:N0} | {HarnessMath.Median(r.RollupMinuteSeconds):F3} ({r.RollupMinuteSeconds.Max():F3}) | {r.RollupMinuteSeconds.Sum():F2} |"));
        }

        if (results.Count >= 2)
        {
            Fit("job", results, r => HarnessMath.Median(r.JobSeconds));
            Fit("bare queries", results, r => HarnessMath.Median(r.BareSeconds));
            Fit("our side (replayed answers)", results, r => HarnessMath.Median(r.ClientSeconds));
        }
    }

    /// <summary>Least-squares line seconds = intercept + slope × GPUs, with R².</summary>
    private static void Fit(string name, List<SizeResult> results, Func<SizeResult, double> seconds)
    {
        double[] x = results.Select(r => (double)r.Gpus).ToArray();
        double[] y = results.Select(seconds).ToArray();
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum();
        double sxx = x.Sum(a => (a - mx) * (a - mx));
        double slope = sxy / sxx, intercept = my - (slope * mx);
        double ssRes = x.Zip(y, (a, b) => Math.Pow(b - (intercept + (slope * a)), 2)).Sum();
        double ssTot = y.Sum(b => (b - my) * (b - my));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"linear fit, {name}: seconds = {intercept:F3} + {slope * 1000:F4} ms × GPUs ; R² = {1 - (ssRes / ssTot):F4}"));
    }

    private sealed record BareRound(double[] Seconds, long[] Bytes, byte[][] Bodies);

    private sealed record SizeResult(
        int Gpus,
        long Samples,
        long Windows,
        List<double> JobSeconds,
        List<double> ReadSeconds,
        List<double> ComputeSeconds,
        List<double> WriteSeconds,
        List<double> BareSeconds,
        List<double> ClientSeconds,
        List<double> ClientReadSeconds,
        double[] QuerySeconds,
        long[] QueryBytes,
        string[] Queries,
        int PointsWritten,
        List<double> RollupMinuteSeconds);

    /// <summary>Answers each recorded query with influxd's recorded body, as influxd would (chunked JSON).</summary>
    private sealed class RecordedAnswers(string[] queries, byte[][] answers) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string form = await request.Content!.ReadAsStringAsync(cancellationToken);
            string query = System.Web.HttpUtility.ParseQueryString(form)["q"] ?? string.Empty;
            int index = Array.IndexOf(queries, query);
            if (index < 0)
            {
                throw new InvalidOperationException("No recorded answer for " + query);
            }

            var content = new ByteArrayContent(answers[index]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content };
        }
    }

    /// <summary>Passes everything to the store and keeps the queries asked, to replay them bare.</summary>
    private sealed class RecordingStore(ITimeSeriesStore inner) : ITimeSeriesStore
    {
        public List<TimeSeriesQuery> Queries { get; } = [];

        public string Backend => inner.Backend;

        public Task<WriteResult> WriteAsync(LineProtocolBatch batch, CancellationToken cancellationToken = default) => inner.WriteAsync(batch, cancellationToken);

        public Task<QueryResult> QueryAsync(TimeSeriesQuery query, CancellationToken cancellationToken = default)
        {
            Queries.Add(query);
            return inner.QueryAsync(query, cancellationToken);
        }

        public Task DeleteAsync(string measurement, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(measurement, rangeStart, rangeEnd, tags, cancellationToken);

        public Task<bool> PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);
    }
}
