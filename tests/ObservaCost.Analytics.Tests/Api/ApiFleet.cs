using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// A small fleet over <see cref="Hours"/> hours from <see cref="Start"/> (a UTC midnight): six GPUs on three nodes in
/// two pools, served to tenants acme and beta by turns, one GPU never allocated; request-log token windows per
/// minute. Written through the schema and priced by <see cref="CostWindowService"/>, hour by hour, as the scheduler does.
/// </summary>
internal static class ApiFleet
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    public const int Hours = 4;

    public static DateTimeOffset End => Start.AddHours(Hours);

    private const string PricingJson = """
        {
          "energy": { "pue": 1.3, "nodePowerWatts": 450,
                      "tariff": { "usdPerKilowattHour": 0.12, "timeZone": "UTC",
                                  "periods": [ { "name": "night", "usdPerKilowattHour": 0.07, "startHour": 0, "endHour": 2, "days": ["Mon"] } ] } },
          "carbon": { "gco2ePerKilowattHour": 400 },
          "gpus": {
            "H100": { "owned": { "purchaseUsd": 28000, "salvageUsd": 2000, "depreciationYears": 5, "opexUsdPerGpuHour": 0.3 }, "embodiedCarbon": { "kgCo2ePerGpu": 1200 } }
          },
          "pools": { "batch": { "rented": { "usdPerGpuHour": 0.9, "commitment": "on-demand", "energyIncluded": false } } },
          "poolModels": { "batch": "mistral" },
          "revenueUsdPerMillionTokens": { "llama": 1.2 },
          "capacity": { "maxTokensPerSecondPerGpu": { "llama": 2500, "mistral": 1800 } }
        }
        """;

    private static readonly (string Node, string Pool, string GpuModel)[] Gpus =
    [
        ("node-a", "chat", "H100"), ("node-a", "chat", "H100"),
        ("node-b", "chat", "H100"), ("node-b", "chat", "H100"),
        ("node-c", "batch", "L40S"), ("node-c", "batch", "L40S"),
    ];

    /// <summary>Writes the fleet into <paramref name="store"/>, computes every hour and returns the hours' reports.</summary>
    public static async Task<IReadOnlyList<WindowCostReport>> PopulateAsync(ITimeSeriesStore store)
    {
        await WriteSamplesAsync(store);
        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        var reports = new List<WindowCostReport>();
        for (int h = 0; h < Hours; h++)
        {
            reports.Add(await service.ComputeAndWriteAsync(Start.AddHours(h)));
        }

        return reports;
    }

    private static async Task WriteSamplesAsync(ITimeSeriesStore store)
    {
        var random = new Random(20260302);
        using var writer = new LineProtocolWriter();
        for (int g = 0; g < Gpus.Length; g++)
        {
            (string node, string pool, string gpuModel) = Gpus[g];
            string index = g.ToString(CultureInfo.InvariantCulture);
            double energy = 1e6 * (g + 1);
            for (DateTimeOffset t = Start.AddMinutes(-5); t < End.AddMinutes(5); t = t.AddSeconds(15))
            {
                int hour = (int)Math.Floor((t - Start).TotalHours);
                int minute = t.Minute;
                // GPU 3 is never allocated; the others are busy for a different part of every hour, tenant by turns.
                bool allocated = g != 3 && minute >= 8 * (g % 3) && minute < 30 + (8 * (g % 3));
                string tenant = ((g + hour) & 1) == 0 ? "acme" : "beta";
                double power = allocated ? 250 + random.Next(350) : 55 + random.Next(15);
                energy += power * 15;
                new GpuSample
                {
                    Time = t,
                    Node = node,
                    GpuIndex = g % 2,
                    GpuUuid = "GPU-api-" + index,
                    GpuModel = gpuModel,
                    Pool = pool,
                    Pod = allocated ? "infer-" + index : null,
                    Namespace = allocated ? tenant : null,
                    ServedModel = allocated && pool == "chat" ? "llama" : null,
                    PowerWatts = power,
                    UtilizationPercent = allocated ? 40 + random.Next(60) : random.Next(3),
                    EnergyJoules = g % 2 == 0 ? energy : null,
                }.WriteTo(writer);
            }
        }

        for (DateTimeOffset t = Start; t < End; t = t.AddMinutes(1))
        {
            foreach ((string model, string tenant) in new[] { ("llama", "acme"), ("llama", "beta"), ("mistral", "acme"), ("mistral", "beta") })
            {
                new InferenceWindow
                {
                    WindowStart = t,
                    WindowLength = TimeSpan.FromMinutes(1),
                    Model = model,
                    Tenant = tenant,
                    Source = "request_log",
                    Status = "ok",
                    RequestCount = 5 + random.Next(30),
                    PromptTokens = 2_000 + random.Next(8_000),
                    CompletionTokens = 500 + random.Next(3_000),
                    LatencyP50Ms = 150 + random.Next(150),
                    LatencyP95Ms = 600 + random.Next(600),
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}
