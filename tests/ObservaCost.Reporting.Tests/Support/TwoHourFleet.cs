using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Reporting.Tests.Support;

/// <summary>
/// A hand-designed two-hour fleet for the efficiency report, pushed through the collector's public surfaces (GPU
/// samples as line protocol to <c>/write</c>, request logs as NDJSON to <c>/api/v1/requests</c>) and backfilled: the
/// previous period is 2026-11-23 10:00–11:00 UTC, the period 11:00–12:00.
/// </summary>
/// <remarks>
/// <para>Samples every 10 s from 09:55:00 to 12:04:50.</para>
/// <list type="bullet">
/// <item>GPU-A1, node-a, pool chat-h100, H100 (owned), pod vllm-0 in namespace llm serving llama: 500 W, 80 % up to the
/// sample at 10:59:50; 400 W, 50 % from the sample at 11:00:00 on.</item>
/// <item>GPU-B2, node-b, pool batch-spot, L40S (rented), no pod: 60 W, 0 % all the time (idle both hours).</item>
/// </list>
/// <para>Requests (tenant acme, model llama, latency as given): every 10 s from 10:00:05 (360 × 1,000 prompt + 200
/// completion, 800 ms); every 20 s from 11:00:05 (180 × 1,000 + 200, 600 ms).</para>
/// <para>Pricing (<see cref="Pricing"/>): H100 owned (40,000 − 4,960) / (4 × 8,760) = 1.00 $/GPU-h capex + 0.50
/// opex; pool batch-spot rented at 2.00 $/GPU-h, energy billed separately; PUE 1.25; flat 0.20 $/kWh; node power
/// 200 W per node (one GPU per node: 200 W each); completion weight 3; llama revenue 10 $/1M tokens; llama peak 200
/// tokens/s per GPU; idle below 5 % for 5 min; carbon 400 gCO2e/kWh fixed, the H100 embodying 1,752 kg over its 4
/// depreciation years (1,752,000 g / 35,040 h = 50 g/GPU-h).</para>
/// </remarks>
public sealed class TwoHourFleet : IAsyncDisposable
{
    public static readonly DateTimeOffset Previous = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Period = Previous.AddHours(1);
    public static readonly DateTimeOffset PeriodEnd = Period.AddHours(1);

    public const string Pricing = """
        {
          "energy": { "pue": 1.25, "nodePowerWatts": 200, "tariff": { "usdPerKilowattHour": 0.20 } },
          "carbon": { "gco2ePerKilowattHour": 400, "source": "test grid" },
          "gpus": { "H100": { "owned": { "purchaseUsd": 40000, "salvageUsd": 4960, "depreciationYears": 4, "opexUsdPerGpuHour": 0.50 }, "embodiedCarbon": { "kgCo2ePerGpu": 1752 } } },
          "pools": { "batch-spot": { "rented": { "usdPerGpuHour": 2.00, "commitment": "spot", "energyIncluded": false } } },
          "revenueUsdPerMillionTokens": { "llama": 10 },
          "capacity": { "maxTokensPerSecondPerGpu": { "llama": 200 } },
          "tokenCostSplit": { "completionTokenWeight": 3 }
        }
        """;

    /// <summary>The pricing file without revenue.</summary>
    public static string PricingWithoutRevenue => Pricing.Replace("\"revenueUsdPerMillionTokens\": { \"llama\": 10 },", string.Empty, StringComparison.Ordinal);

    public const string TenantApiToken = "report-tenant-acme";
    public const string AdminApiToken = "report-admin";

    private readonly ShiftedTimeProvider _clock;

    private TwoHourFleet(CollectorHost host, ShiftedTimeProvider clock, string directory, string pricingPath)
    {
        Host = host;
        _clock = clock;
        Directory = directory;
        PricingPath = pricingPath;
    }

    public CollectorHost Host { get; }

    public string Directory { get; }

    public string PricingPath { get; }

    /// <summary>The embedded store's file.</summary>
    public string StorePath => Path.Combine(Host.Directory, "store.db");

    public IServiceProvider Services => Host.Services;

    public static async Task<TwoHourFleet> StartAsync(string pricing = Pricing)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-report-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        string pricingPath = Path.Combine(dir, "pricing.json");
        await File.WriteAllTextAsync(pricingPath, pricing);
        var clock = new ShiftedTimeProvider(PeriodEnd);
        CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            "--Collector:RequestLogs:Aggregation:AllowedLateness", "03:00:00", "--Analytics:PricingFile", pricingPath,
            "--Analytics:Api:Tokens:0:Name", "acme", "--Analytics:Api:Tokens:0:Tenant", "acme",
            "--Analytics:Api:Tokens:0:Sha256", ObservaCost.Analytics.Api.ApiAuthentication.HashToken(TenantApiToken),
            "--Analytics:Api:Tokens:1:Name", "admin", "--Analytics:Api:Tokens:1:Admin", "true",
            "--Analytics:Api:Tokens:1:Sha256", ObservaCost.Analytics.Api.ApiAuthentication.HashToken(AdminApiToken));
        var fleet = new TwoHourFleet(host, clock, dir, pricingPath);
        await fleet.PushAndBackfillAsync();
        return fleet;
    }

    private async Task PushAndBackfillAsync()
    {
        using (HttpResponseMessage requests = await Host.Client.SendAsync(RequestLogPosts.Post(RequestLog())))
        {
            string answer = await requests.Content.ReadAsStringAsync();
            Assert.True(requests.IsSuccessStatusCode, answer);
            using JsonDocument json = JsonDocument.Parse(answer);
            Assert.Equal(540, json.RootElement.GetProperty("accepted").GetInt32());
        }

        _clock.JumpTo(PeriodEnd.AddHours(4));
        (string lines, int samples) = Samples(b2Utilization: _ => 0);
        await WriteAsync(lines);
        QueryResult windows = await Host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Count(Fields.PromptTokens).Between(Previous, PeriodEnd).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == 540);
        Assert.Equal(540, windows.Series.Single().Rows[0][0].Integer);
        await WaitForSamplesAsync(samples);
        await BackfillAsync(Previous, PeriodEnd);
    }

    /// <summary>Rewrites GPU-B2's samples inside the period at 30 % (same series and times: they replace the 0 % ones) and recomputes the period.</summary>
    public async Task MakeB2BusyInPeriodAndRecomputeAsync()
    {
        var body = new StringBuilder();
        for (DateTimeOffset t = Period; t < PeriodEnd; t = t.AddSeconds(10))
        {
            body.Append(CultureInfo.InvariantCulture, $"gpu_sample,gpu=1,gpu_model=L40S,node=node-b,pool=batch-spot,uuid=GPU-B2 power_watts=60,utilization_percent=30 {t.ToUnixTimeSeconds()}\n");
        }

        await WriteAsync(body.ToString());
        QueryResult busy = await Host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Mean(Fields.UtilizationPercent).Between(Period, PeriodEnd).WhereTag(Tags.GpuUuid, "GPU-B2").Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].AsDouble() == 30);
        Assert.Equal(30, busy.Series.Single().Rows[0][0].AsDouble());
        await BackfillAsync(Period, PeriodEnd);
    }

    public Task BackfillAsync(DateTimeOffset from, DateTimeOffset to) =>
        Host.Services.GetRequiredService<AnalyticsBackfill>().RunAsync(from, to, new BackfillProgress(TextWriter.Null, redraw: false, _clock));

    private async Task WriteAsync(string lines)
    {
        using var write = new HttpRequestMessage(HttpMethod.Post, "/write?precision=s") { Content = new StringContent(lines, Encoding.UTF8) };
        write.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        using HttpResponseMessage written = await Host.Client.SendAsync(write);
        Assert.True(written.StatusCode == HttpStatusCode.NoContent, await written.Content.ReadAsStringAsync());
    }

    private async Task WaitForSamplesAsync(int samples)
    {
        QueryResult stored = await Host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(Previous.AddHours(-1), PeriodEnd.AddHours(1)).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == samples);
        Assert.Equal(samples, stored.Series.Single().Rows[0][0].Integer);
    }

    private static string RequestLog()
    {
        var body = new StringBuilder();
        for (int k = 0; k < 360; k++)
        {
            Append(body, Previous.AddSeconds(5 + (10 * k)), 800);
            if (k < 180)
            {
                Append(body, Period.AddSeconds(5 + (20 * k)), 600);
            }
        }

        return body.ToString();

        static void Append(StringBuilder body, DateTimeOffset t, int latencyMs) =>
            body.Append(CultureInfo.InvariantCulture,
                $"{{\"timestamp\":\"{t:yyyy-MM-ddTHH:mm:ssZ}\",\"model\":\"llama\",\"tenant\":\"acme\",\"usage\":{{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200}},\"latency_ms\":{latencyMs}}}\n");
    }

    private static (string Lines, int Samples) Samples(Func<DateTimeOffset, double> b2Utilization)
    {
        var body = new StringBuilder();
        int samples = 0;
        for (DateTimeOffset t = Previous.AddMinutes(-5); t < PeriodEnd.AddMinutes(5); t = t.AddSeconds(10))
        {
            bool before = t < Period;
            body.Append(CultureInfo.InvariantCulture,
                $"gpu_sample,gpu=0,gpu_model=H100,namespace=llm,node=node-a,pod=vllm-0,pool=chat-h100,served_model=llama,uuid=GPU-A1 power_watts={(before ? 500 : 400)},utilization_percent={(before ? 80 : 50)} {t.ToUnixTimeSeconds()}\n");
            body.Append(CultureInfo.InvariantCulture,
                $"gpu_sample,gpu=1,gpu_model=L40S,node=node-b,pool=batch-spot,uuid=GPU-B2 power_watts=60,utilization_percent={b2Utilization(t)} {t.ToUnixTimeSeconds()}\n");
            samples += 2;
        }

        return (body.ToString(), samples);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the temp folder's own clean-up.
        }
    }
}
