using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>
/// The same client writes to VictoriaMetrics through both the v2 endpoint (<c>/api/v2/write</c>, token, gzip) and
/// the v1 endpoint: InfluxDB 1.6 has no v2 API, VictoriaMetrics has both.
/// </summary>
public sealed class VictoriaMetricsWriteTests
{
    [Theory]
    [InlineData(InfluxApiVersion.V2, true)]
    [InlineData(InfluxApiVersion.V2, false)]
    [InlineData(InfluxApiVersion.V1, true)]
    public async Task GpuSamples_WrittenThroughEitherEndpoint_ArriveWithTheirTagsValuesAndTimes(InfluxApiVersion version, bool gzip)
    {
        await using VictoriaMetricsServer vm = await VictoriaMetricsServer.StartAsync();
        var options = new InfluxDbOptions
        {
            Url = vm.Url,
            ApiVersion = version,
            Org = "acme",
            Bucket = "gpu",
            Token = "not-checked-by-victoria-metrics",
            Database = "observacost",
            CreateDatabase = false,
            StartupChecks = false, // VictoriaMetrics takes /api/v2/write but has no v2 management API.
            Gzip = gzip,
            Precision = WritePrecision.Milliseconds,
        };
        var store = new InfluxDbStore(new HttpClient(), options, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        var start = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        WriteResult written = await PointBatches.WriteAllAsync(
            store,
            Enumerable.Range(0, 1000).Select(i => new GpuSample
            {
                Time = start.AddSeconds(i),
                Node = "node a",
                GpuIndex = i % 4,
                GpuUuid = "GPU-" + (i % 4),
                PowerWatts = 100 + i,
                XidErrors = 0,
            }),
            options.Precision,
            batchPoints: 250);
        Assert.Equal(1000, written.PointsWritten);

        string[] lines = await vm.ExportAsync("{__name__=\"gpu_sample_power_watts\"}");
        Assert.Equal(4, lines.Length);
        double total = 0;
        int samples = 0;
        foreach (string line in lines)
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement metric = doc.RootElement.GetProperty("metric");
            Assert.Equal("node a", metric.GetProperty("node").GetString());
            string uuid = metric.GetProperty("uuid").GetString()!;
            int gpu = int.Parse(uuid[4..], System.Globalization.CultureInfo.InvariantCulture);
            long[] times = doc.RootElement.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToArray();
            double[] values = doc.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (int k = 0; k < times.Length; k++)
            {
                int i = (int)((times[k] - start.ToUnixTimeMilliseconds()) / 1000);
                Assert.Equal(gpu, i % 4);
                Assert.Equal(100 + i, values[k]);
            }

            total += values.Sum();
            samples += values.Length;
        }

        Assert.Equal(1000, samples);
        Assert.Equal(Enumerable.Range(0, 1000).Sum(i => 100.0 + i), total);
    }
}
