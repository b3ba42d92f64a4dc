using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// Issue 16 from the page to the bill: the in-process collector with analytics on demand scrapes loopback
/// dcgm-exporter pages over twelve minutes of a fake clock (a MIG A100 and two time-sliced T4s with three pods each),
/// the hour is backfilled in the same process and the cost rows are read from <c>/api/v1/cost?groupBy=gpu</c>. What
/// the collector writes must be what the cost model expects: one row per MIG instance split by slices, the free slices
/// idle, and a time-sliced GPU divided equally between its pods, or by tokens when their models' requests are posted.
/// </summary>
/// <remarks>
/// Prices: the single-machine host's shipped <c>docs/pricing.example.json</c>: the A100 is not listed, so the default
/// rental, $2.5/GPU-h with energy included; the T4 rented at $0.35/GPU-h without energy (GPU and fixed node energy
/// priced by the tariff); completion tokens weigh 4.
/// </remarks>
public sealed class MigAndSharedGpuCostEndToEndTests : IAsyncLifetime
{
    /// <summary>The hour of the test; the clock starts 30 s into it and moves one minute after each round of scrapes.</summary>
    private static readonly DateTimeOffset Hour = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private const string MigUuid = "GPU-34319582-d595-d1c7-d1d2-179bcfa61660";

    private readonly ShiftedTimeProvider _clock = new(Hour.AddSeconds(30));

    private LoopbackExporter? _exporter;

    public async Task InitializeAsync()
    {
        // NVIDIA's MIG example page as kept in Fixtures/dcgm-mig, with two changes. (1) Every series gets the modelName
        // label current dcgm-exporter releases put on every series (the docs' page predates it): without it the GPU has
        // no model, so no slices-table entry, and its instances would share it equally (mig_equal). (2) The energy
        // counter, frozen at 319,159,391 mJ on a static page (so no energy to split), grows with the test's clock at the
        // page's 409.692 W: 319,159,391 + 409,692 mJ per second since 10:00.
        string fixture = (await File.ReadAllTextAsync(Captures.Fixture("dcgm-mig", "a100-mig-1g.5gb-cloud-native-docs.prom")))
            .Replace("Hostname=\"ub20-a100-k8s\"", "Hostname=\"ub20-a100-k8s\",modelName=\"NVIDIA A100-SXM4-40GB\"", StringComparison.Ordinal);
        Assert.Contains("} 319159391\n", fixture, StringComparison.Ordinal);
        string Mig()
        {
            long counter = 319_159_391 + (long)Math.Round(409_692 * (_clock.GetUtcNow() - Hour).TotalSeconds);
            return fixture.Replace("} 319159391\n", string.Create(CultureInfo.InvariantCulture, $"}} {counter}\n"), StringComparison.Ordinal);
        }

        string equal = TimeSliced("GPU-ts-equal", "t4-equal", [("phi", "delta"), ("gemma", "epsilon"), ("yi", "zeta")]);
        string tokens = TimeSliced("GPU-ts-tokens", "t4-tokens", [("llama", "acme"), ("mistral", "beta"), ("qwen", "gamma")]);
        _exporter = await LoopbackExporter.StartAsync(new Dictionary<string, Func<string>>
        {
            ["/mig"] = Mig,
            ["/shared-equal"] = () => equal,
            ["/shared-tokens"] = () => tokens,
        });
    }

    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.DisposeAsync();
        }
    }

    /// <summary>
    /// A time-sliced T4 as dcgm-exporter 4.x with <c>-k --kubernetes-virtual-gpus --kubernetes-enable-pod-labels</c>
    /// prints it: every series once per pod with the same values, and the pod's own <c>model</c> label (the target reads
    /// the served model from it). The pods' namespaces are their tenants.
    /// </summary>
    private static string TimeSliced(string uuid, string node, (string Model, string Namespace)[] pods)
    {
        var page = new StringBuilder();
        foreach ((string metric, string value) in new[] { ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "0.6"), ("DCGM_FI_DEV_GPU_UTIL", "60"), ("DCGM_FI_DEV_POWER_USAGE", "41.5") })
        {
            for (int i = 0; i < pods.Length; i++)
            {
                page.Append(CultureInfo.InvariantCulture,
                    $"{metric}{{gpu=\"0\",UUID=\"{uuid}\",device=\"nvidia0\",modelName=\"Tesla T4\",Hostname=\"{node}\",container=\"main\",namespace=\"{pods[i].Namespace}\",pod=\"{pods[i].Model}-0\",vgpu=\"{i}\",model=\"{pods[i].Model}\"}} {value}\n");
            }
        }

        return page.ToString();
    }

    [Fact]
    public async Task DcgmPages_ScrapedBackfilledAndServed_MigInstancesBySlicesAndPodsEquallyOrByTokens()
    {
        ShiftedTimeProvider clock = _clock;
        await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            [
                .. _exporter!.Target(0, "mig", "/mig", "Dcgm"),
                .. _exporter.Target(1, "shared-equal", "/shared-equal", "Dcgm", "ServedModelLabel", "model"),
                .. _exporter.Target(2, "shared-tokens", "/shared-tokens", "Dcgm", "ServedModelLabel", "model"),
                "--Collector:RequestLogs:Aggregation:AllowedLateness", "02:00:00",
            ]);

        string[] paths = ["/mig", "/shared-equal", "/shared-tokens"];
        await RunTwelveMinutesAsync(() => paths.Min(_exporter.Requests));

        // The requests of the token-shared GPU's models, inside the hour, pushed with the admin token (tenant as sent):
        // llama/acme 10 × (100 prompt + 25 completion), mistral/beta 10 × (50 + 12.5 → 5 × 12 + 5 × 13 = 125 completion
        // in all), qwen/gamma 10 × (100 + 0). Weighted (prompt + 4 × completion): llama 1,000 + 4 × 250 = 2,000, mistral
        // 500 + 4 × 125 = 1,000, qwen 1,000 + 0 = 1,000: shares 2,000 / 4,000 = 0.5, 0.25, 0.25.
        var log = new StringBuilder();
        for (int k = 0; k < 10; k++)
        {
            DateTimeOffset t = Hour.AddMinutes(1).AddSeconds(20 * k);
            Append(log, t, "llama", "acme", 100, 25);
            Append(log, t.AddSeconds(1), "mistral", "beta", 50, k % 2 == 0 ? 12 : 13);
            Append(log, t.AddSeconds(2), "qwen", "gamma", 100, 0);
        }

        using (HttpResponseMessage posted = await host.Client.SendAsync(RequestLogPosts.Post(log.ToString())))
        {
            string answer = await posted.Content.ReadAsStringAsync();
            Assert.True(posted.IsSuccessStatusCode, answer);
            using JsonDocument json = JsonDocument.Parse(answer);
            Assert.Equal(30, json.RootElement.GetProperty("accepted").GetInt32());
        }

        // 14:00: the request windows close; later scrapes fall outside the hour.
        clock.JumpTo(Hour.AddHours(4));
        QueryResult windows = await host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.PromptTokens, "prompt").Between(Hour, Hour.AddHours(1)).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Number == 2_500);
        Assert.Equal(2_500, windows.Series.Single().Rows[0][0].Number);
        (JsonElement[] rows, string body) = await BackfillAndReadCostAsync(host, "gpu,gpu_model,model,tenant");

        AssertMigGpu([.. rows.Where(r => Text(r, "gpu") == MigUuid)], body);
        AssertTimeSlicedGpu([.. rows.Where(r => Text(r, "gpu") == "GPU-ts-equal")], AttributionBases.Equal, [("phi", "delta", 1.0 / 3), ("gemma", "epsilon", 1.0 / 3), ("yi", "zeta", 1.0 / 3)], body);
        AssertTimeSlicedGpu([.. rows.Where(r => Text(r, "gpu") == "GPU-ts-tokens")], AttributionBases.Tokens, [("llama", "acme", 0.5), ("mistral", "beta", 0.25), ("qwen", "gamma", 0.25)], body);
    }

    /// <summary>
    /// nvidia-smi on a MIG A100: a script stands in for the binary, printing a query-gpu row (utilization <c>[N/A]</c>
    /// under MIG, MIG Enabled, 61.2 W) and, for <c>-q -x</c>, netdata's real A100 MIG capture (GPU instances 1 and 2,
    /// 42 SMs each → <c>3g.20gb</c>, 3 slices each). Polled over twelve minutes of the fake clock, backfilled, read from
    /// the API. nvidia-smi gives no activity per instance, so both instance rows say <c>mig_slices_no_activity</c> and
    /// the energy goes by slices alone. Rented at the default $2.5/GPU-h (energy included): each instance 3/7 × 2.5 =
    /// $1.071428571…, the free slice 1/7 × 2.5 = $0.357142857…; GPU energy E × 3/7, 3/7 and 1/7; Σ cost = $2.5.
    /// </summary>
    [Fact]
    public async Task NvidiaSmiMigA100_PolledBackfilledAndServed_InstancesBySlicesWithoutActivity()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-smi-e2e-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            string xml = ObservaCost.Testing.RepoPaths.Data("nvidia-smi", "xml-csv-netdata", "a100-sxm4-mig.xml");
            string runs = Path.Combine(dir, "runs.txt");
            string script = Path.Combine(dir, "nvidia-smi");
            await File.WriteAllTextAsync(script, $$"""
                #!/bin/sh
                case "$1" in
                  --query-gpu=*) echo q >> '{{runs}}'; echo '2026/03/01 12:00:00.000, 0, GPU-27b94a00-ed54-5c24-b1fd-1054085de32a, NVIDIA A100-SXM4-40GB, 00000000:00:04.0, [N/A], 38, 40960, 61.20, 61.00, 62.00, 400.00, 33, Enabled' ;;
                  -q) cat '{{xml}}' ;;
                  *) exit 3 ;;
                esac

                """);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            int Polls() => File.Exists(runs) ? File.ReadAllLines(runs).Length : 0;

            ShiftedTimeProvider clock = _clock;
            await using CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
                builder => builder.Services.AddSingleton<TimeProvider>(clock),
                [
                    "--Collector:NvidiaSmi:Enabled", "true",
                    "--Collector:NvidiaSmi:Interval", "00:00:01",
                    "--Collector:NvidiaSmi:CommandPath", script,
                    "--Collector:NvidiaSmi:Node", "bare-metal-a100",
                ]);
            await RunTwelveMinutesAsync(Polls);
            clock.JumpTo(Hour.AddHours(4));
            await Task.Delay(1000); // the forwarder writes what the spool holds
            (JsonElement[] rows, string body) = await BackfillAndReadCostAsync(host, "gpu,gpu_model");

            Assert.True(rows.Length == 3, body);
            Assert.All(rows, r => Assert.Equal(("GPU-27b94a00-ed54-5c24-b1fd-1054085de32a", "A100"), (Text(r, "gpu"), Text(r, "gpuModel"))));
            double energy = rows.Sum(r => Number(r, "gpuEnergyJoules"));
            Assert.True(energy > 0, body);
            Near(2.5, rows.Sum(r => Number(r, "costUsd")), "A100 cost, every row");
            foreach (string id in new[] { "1", "2" })
            {
                JsonElement instance = Assert.Single(rows, r => Text(r, "migInstance") == id);
                Assert.Equal(("3g.20gb", AttributionBases.MigSlicesNoActivity), (Text(instance, "migProfile"), Text(instance, "attributionBasis")));
                Near(2.5 * 3 / 7, Number(instance, "rentalUsd"), "instance " + id + " rental, 3/7");
                Near(energy * 3 / 7, Number(instance, "gpuEnergyJoules"), "instance " + id + " energy, 3/7");
            }

            JsonElement free = Assert.Single(rows, r => Text(r, "migInstance") is null);
            Near(2.5 / 7, Number(free, "rentalUsd"), "free slice rental, 1/7");
            Near(energy / 7, Number(free, "gpuEnergyJoules"), "free slice energy, 1/7");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// A time-sliced T4 (rented at $0.35/GPU-h, charged for the whole hour): its three pods hold it in the 12 minutes
    /// with samples (10:00 to 10:11, buckets of a minute), shared by <paramref name="basis"/> with the given shares; the
    /// other 48 minutes no workload is seen and the GPU's own samples name no pod, so they are unallocated (one row
    /// with no model). Rental: a pod with share s gets $0.35 × 12/60 × s (equal: $0.0233333…; tokens: llama $0.035,
    /// mistral and qwen $0.0175), the unallocated row $0.35 × 48/60 = $0.28. GPU energy is measured only while
    /// sampled, all of it inside the 12 shared minutes, so a pod gets s × E and the unallocated row none.
    /// </summary>
    private static void AssertTimeSlicedGpu(JsonElement[] rows, string basis, (string Model, string Tenant, double Share)[] pods, string body)
    {
        Assert.True(rows.Length == pods.Length + 1, body);
        double energy = rows.Sum(r => Number(r, "gpuEnergyJoules"));
        Assert.True(energy > 0, body);
        Near(0.35, rows.Sum(r => Number(r, "rentalUsd")), "T4 rental over the hour");
        foreach ((string model, string tenant, double share) in pods)
        {
            JsonElement row = Assert.Single(rows, r => Text(r, "model") == model);
            Assert.Equal((tenant, basis, "T4"), (Text(row, "tenant"), Text(row, "attributionBasis"), Text(row, "gpuModel")));
            Near(0.35 * 12 / 60 * share, Number(row, "rentalUsd"), model + " rental");
            Near(energy * share, Number(row, "gpuEnergyJoules"), model + " GPU energy");
            Near(12.0 / 60 * share, Number(row, "gpuHours"), model + " GPU-hours");
        }

        JsonElement unallocated = Assert.Single(rows, r => Text(r, "model") is null);
        Near(0.35 * 48 / 60, Number(unallocated, "rentalUsd"), "unallocated rental");
        Near(0, Number(unallocated, "gpuEnergyJoules"), "unallocated GPU energy");
    }

    /// <summary>
    /// The A100 (7 compute slices, docs/analytics.md) with one GPU instance, 13 (<c>1g.5gb</c>: 1 slice), whose activity
    /// is 0.995687 in every scrape. Rows: the instance (basis <c>mig_slices</c>) and the GPU's 6 free slices (no
    /// instance, no model). Hardware (the rental) by slices: 1/7 and 6/7 of the GPU's. Energy per minute, with a =
    /// 0.995687 and B = 1 × a / 7: the instance gets E × (a + (1 − B)) / 7, the free slices E × 6 (1 − B) / 7; over the
    /// window, as a is the same each minute, E × (1 + 6a/7) / 7 and E × (6 − 6a/7) / 7, which add up to E.
    /// </summary>
    private static void AssertMigGpu(JsonElement[] rows, string body)
    {
        Assert.True(rows.Length == 2, body);
        Assert.All(rows, r => Assert.Equal("A100", Text(r, "gpuModel")));
        JsonElement instance = Assert.Single(rows, r => Text(r, "migInstance") == "13");
        JsonElement free = Assert.Single(rows, r => Text(r, "migInstance") is null);
        Assert.Equal("1g.5gb", Text(instance, "migProfile"));
        Assert.Equal(AttributionBases.MigSlices, Text(instance, "attributionBasis"));
        Assert.Null(Text(free, "model"));

        double gpuRental = rows.Sum(r => Number(r, "rentalUsd"));
        double gpuHours = rows.Sum(r => Number(r, "gpuHours"));
        double energy = rows.Sum(r => Number(r, "gpuEnergyJoules"));
        Assert.True(energy > 0, body);

        // Rented at the default $2.5/GPU-h, charged for every hour of the window: $2.5 for 1 GPU-h; the instance 2.5/7 =
        // $0.357142857…, the free slices 6 × 2.5/7 = $2.142857142…; energy is included in the rental, so the GPU's whole
        // cost is $2.5 and the rows add up to it.
        Near(1, gpuHours, "A100 GPU-hours");
        Near(2.5, gpuRental, "A100 rental");
        Near(2.5, rows.Sum(r => Number(r, "costUsd")), "A100 cost, every row");
        Near(2.5 / 7, Number(instance, "rentalUsd"), "instance rental, 1/7");
        Near(2.5 * 6 / 7, Number(free, "rentalUsd"), "free slices' rental, 6/7");
        Near(1.0 / 7, Number(instance, "gpuHours"), "instance GPU-hours, 1/7");
        Near(rows.Sum(r => Number(r, "nodeEnergyJoules")) / 7, Number(instance, "nodeEnergyJoules"), "instance node energy, 1/7");
        const double a = 0.995687;
        Near(energy * (1 + (6 * a / 7)) / 7, Number(instance, "gpuEnergyJoules"), "instance energy");
        Near(energy * (6 - (6 * a / 7)) / 7, Number(free, "gpuEnergyJoules"), "free slices' energy");
    }

    /// <summary>
    /// Twelve minutes, 10:00:30 to 10:11:30: the sources are read at least twice in every minute (<paramref name="reads"/>
    /// counts the reads of the least-read source), then the clock moves a minute on; samples about a minute apart,
    /// under the 2-minute gap limit, so each GPU is present throughout.
    /// </summary>
    private async Task RunTwelveMinutesAsync(Func<int> reads)
    {
        for (int minute = 0; minute < 12; minute++)
        {
            int before = reads();
            for (int i = 0; i < 400 && reads() - before < 2; i++)
            {
                await Task.Delay(25);
            }

            _clock.JumpTo(Hour.AddSeconds(30).AddMinutes(minute + 1));
        }
    }

    /// <summary>Computes the hour in the host (backfill) and reads its cost rows, grouped by <paramref name="groupBy"/>, from the API.</summary>
    private async Task<(JsonElement[] Rows, string Body)> BackfillAndReadCostAsync(CollectorHost host, string groupBy)
    {
        await host.Services.GetRequiredService<AnalyticsBackfill>().RunAsync(Hour, Hour.AddHours(1), new BackfillProgress(TextWriter.Null, redraw: false, _clock));
        string query = string.Create(CultureInfo.InvariantCulture, $"/api/v1/cost?from={Hour:yyyy-MM-ddTHH:mm:ssZ}&to={Hour.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}&groupBy={groupBy}");
        using HttpResponseMessage response = await host.Client.GetAsync(new Uri(query, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using JsonDocument cost = JsonDocument.Parse(body);
        return ([.. cost.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.Clone())], body);
    }

    private static void Append(StringBuilder body, DateTimeOffset t, string model, string tenant, int prompt, int completion) =>
        body.Append(CultureInfo.InvariantCulture,
            $"{{\"timestamp\":\"{t:yyyy-MM-ddTHH:mm:ssZ}\",\"model\":\"{model}\",\"tenant\":\"{tenant}\",\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{prompt + completion}}},\"latency_ms\":800}}\n");

    private static string? Text(JsonElement row, string name) =>
        row.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Number(JsonElement row, string name) =>
        row.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;

    private static void Near(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)), string.Create(CultureInfo.InvariantCulture, $"{what}: {actual:R}, expected {expected:R}"));
}
