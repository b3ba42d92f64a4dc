using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// A cost window recomputed on influxd 1.6.7 at the moment influxd writes a cache snapshot: the replace deletes the
/// window's rows while the snapshot is in flight, which drops from influxd's index every cost row series whose points
/// are all in it (InfluxDbRangeDeleteTests). The store writes back what must survive: the earlier window keeps every
/// row, value for value, and the recomputed window has its rows once.
/// </summary>
public sealed class CostWindowInfluxDeleteTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Earlier = T0.AddHours(-1);
    private const int Gpus = 4;

    private const string Pricing = """
        {
          "energy": { "pue": 1.25, "tariff": { "usdPerKilowattHour": 0.10, "timeZone": "UTC" } },
          "gpus": { "H100": { "rented": { "usdPerGpuHour": 2.0, "commitment": "reserved", "energyIncluded": true } } }
        }
        """;

    [Fact]
    public Task Recompute_DeleteDuringCacheSnapshot_EarlierWindowKeepsEveryRowAndWindowIsReplaced() => InfluxDbSnapshots.RetryWhenMissedAsync(async () =>
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        var handler = new FirstDeleteDuringSnapshotHandler(server);
        using var http = new HttpClient(handler);
        var log = new CapturedWarnings<InfluxDbStore>();
        var store = new InfluxDbStore(http, new InfluxDbOptions { Url = server.Url, Database = "observacost", RetryInitialDelay = TimeSpan.FromMilliseconds(100) }, TimeProvider.System, log);
        var service = new CostWindowService(store, PricingFileReader.Parse(Pricing), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        await WriteFleetAsync(store);

        // First computation of both windows: their ranges are empty, so the store sends no DELETE (the handler waits).
        await service.ComputeAndWriteAsync(Earlier);
        await service.ComputeAndWriteAsync(T0);
        Assert.False(handler.DeleteSent);

        // Each GPU served llama for acme through the earlier hour and nothing after T0: the earlier window has one
        // allocated row per GPU (model=llama), the window at T0 one unallocated row per GPU: 4 and 4.
        string earlierBefore = await DumpAsync(server, Earlier);
        Assert.Equal((Gpus, Gpus), (await CostRowsAsync(server, Earlier), await CostRowsAsync(server, T0)));
        Assert.Contains("\"model\":\"llama\"", earlierBefore, StringComparison.Ordinal);

        // The recompute's first DELETE (cost_window over [T0, T0 + 1 h)) is sent while influxd writes its snapshot,
        // which holds every point written so far.
        await service.ComputeAndWriteAsync(T0);
        Assert.True(handler.DeleteSent);

        // The earlier window's rows, all of them outside the deleted range, are still there with the same values;
        // the recomputed window has its 4 rows, not 8.
        Assert.Equal(earlierBefore, await DumpAsync(server, Earlier));
        Assert.Equal((Gpus, Gpus), (await CostRowsAsync(server, Earlier), await CostRowsAsync(server, T0)));

        // The delete did meet the snapshot: influxd dropped the 4 llama series (points only in the earlier window)
        // and the store wrote each back.
        Assert.Contains(log.Warnings, w => w.StartsWith("InfluxDB dropped 4 series of cost_window from its index", StringComparison.Ordinal));
    });

    /// <summary>Every cost, idle and KPI point of the window starting at <paramref name="windowStart"/>, as influxd answers.</summary>
    private static async Task<string> DumpAsync(InfluxDbServer server, DateTimeOffset windowStart)
    {
        var dump = new List<string>();
        foreach (string measurement in new[] { Measurements.CostWindow, Measurements.IdleWindow, Measurements.KpiWindow })
        {
            dump.Add(await server.QueryAsync(Select("*", measurement, windowStart) + " GROUP BY *", "observacost"));
        }

        return string.Join('\n', dump);
    }

    private static async Task<int> CostRowsAsync(InfluxDbServer server, DateTimeOffset windowStart)
    {
        using JsonDocument answer = JsonDocument.Parse(await server.QueryAsync(Select(Fields.CostUsd, Measurements.CostWindow, windowStart) + " GROUP BY *", "observacost"));
        JsonElement result = answer.RootElement.GetProperty("results")[0];
        return result.TryGetProperty("series", out JsonElement series) ? series.EnumerateArray().Sum(s => s.GetProperty("values").GetArrayLength()) : 0;
    }

    private static string Select(string what, string measurement, DateTimeOffset windowStart) => string.Create(CultureInfo.InvariantCulture,
        $"SELECT {what} FROM {measurement} WHERE time >= {UnixTime.ToNanoseconds(windowStart)} AND time < {UnixTime.ToNanoseconds(windowStart.AddHours(1))}");

    /// <summary>
    /// 4 H100s on one node, a sample every 10 s from 15 min before the earlier hour to 15 min after T0's hour (the
    /// windows' look-around), 300 W and 50 %; pod-g of acme serving llama until T0, nothing after.
    /// </summary>
    private static async Task WriteFleetAsync(InfluxDbStore store)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = Earlier.AddMinutes(-15); t < T0.AddMinutes(75); t = t.AddSeconds(10))
        {
            for (int g = 0; g < Gpus; g++)
            {
                bool allocated = t < T0;
                string gpu = g.ToString(CultureInfo.InvariantCulture);
                new GpuSample
                {
                    Time = t, Node = "node-0", GpuIndex = g, GpuUuid = "GPU-" + gpu, GpuModel = "H100", Pool = "chat",
                    Pod = allocated ? "pod-" + gpu : null, Namespace = allocated ? "acme" : null, ServedModel = allocated ? "llama" : null,
                    PowerWatts = 300, UtilizationPercent = 50,
                }.WriteTo(writer);
            }
        }

        WriteResult result = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, writer.Precision));
        Assert.Equal(0, result.PointsRejected);
    }
}
