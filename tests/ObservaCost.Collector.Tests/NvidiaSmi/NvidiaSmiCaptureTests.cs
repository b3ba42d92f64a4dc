using System.Globalization;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.NvidiaSmi;

/// <summary>The parser on real <c>nvidia-smi --query-gpu --format=csv</c> captures, read in place from the shared data folder.</summary>
public sealed class NvidiaSmiCaptureTests
{
    private const long MiB = 1024 * 1024;

    private static readonly NvidiaSmiSampleContext Context = new()
    {
        SampleTime = new DateTimeOffset(2026, 7, 14, 8, 12, 53, TimeSpan.Zero),
        Node = "gpu-node-1",
        Cluster = "lab",
        Pool = "h100",
    };

    private static string CaptureDir => RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "query-gpu-csv");

    private static string[] CaptureFiles() =>
        Directory.GetFiles(CaptureDir, "*.csv")
            .Where(f => f.EndsWith("__idle.csv", StringComparison.Ordinal) || f.EndsWith("__load.csv", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();

    public static TheoryData<string> EveryCapture()
    {
        var data = new TheoryData<string>();
        foreach (string file in CaptureFiles())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void CaptureFolder_HasTheTwentyIdleAndLoadFiles()
    {
        // Ten captures, each with an idle and a load phase: the theory below covers every one of them.
        Assert.Equal(20, CaptureFiles().Length);
    }

    /// <summary>
    /// Every capture: the row count equals the GPU count the file itself reports, and every reading equals the raw
    /// cell, decoded independently here (split on ", ", strip the unit).
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryCapture))]
    public void Capture_ParsesEveryGpuRowAndMatchesTheRawCells(string fileName)
    {
        string text = File.ReadAllText(Path.Combine(CaptureDir, fileName));
        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        Assert.True(result.HadHeader);
        List<Dictionary<string, string>> raw = RawRows(text);
        int gpuCount = int.Parse(raw[0]["count"], CultureInfo.InvariantCulture);
        Assert.Equal(gpuCount, result.Samples.Count);
        Assert.Equal(raw.Count, result.Samples.Count);

        for (int i = 0; i < raw.Count; i++)
        {
            Dictionary<string, string> cells = raw[i];
            NvidiaSmiGpuRow row = result.Rows[i];
            GpuSample sample = row.Sample;
            Assert.Equal(int.Parse(cells["index"], CultureInfo.InvariantCulture), sample.GpuIndex);
            Assert.Equal(cells["uuid"], sample.GpuUuid);
            Assert.Equal(cells["name"], sample.GpuModel);
            Assert.Equal(cells["pci.bus_id"], row.PciBusId);
            Assert.Equal(Number(cells["utilization.gpu [%]"]), sample.UtilizationPercent);
            Assert.Equal(Number(cells["power.draw.average [W]"]) ?? Number(cells["power.draw [W]"]), sample.PowerWatts);
            Assert.Equal((long?)(Number(cells["memory.used [MiB]"]) * MiB), sample.MemoryUsedBytes);
            Assert.Equal((long?)(Number(cells["memory.total [MiB]"]) * MiB), sample.MemoryTotalBytes);
            Assert.Equal(Number(cells["temperature.gpu"]), sample.TemperatureCelsius);
            Assert.Equal(Number(cells["power.limit [W]"]), row.PowerLimitWatts);
            Assert.Equal(
                DateTime.ParseExact(cells["timestamp"], "yyyy/MM/dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
                row.DeviceTimestamp);

            Assert.Equal(Context.SampleTime, sample.Time);
            Assert.Equal("gpu-node-1", sample.Node);
            Assert.Equal("lab", sample.Cluster);
            Assert.Equal("h100", sample.Pool);
            Assert.Null(sample.MigInstance);
        }
    }

    /// <summary>Values read by hand from the files (load and idle of the H100, H200, L40S and both MIG captures).</summary>
    [Theory]
    [InlineData("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv", "NVIDIA H100 80GB HBM3", "00000000:00:09.0", 631.95, 100.0, 19818, 81559, 59.0, "Disabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.csv", "NVIDIA H100 80GB HBM3", "00000000:00:09.0", 69.85, 0.0, 0, 81559, 41.0, "Disabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h200__590.48.01__load.csv", "NVIDIA H200", "00000000:83:00.0", 627.40, 100.0, 32362, 143771, 52.0, "Disabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h200__590.48.01__idle.csv", "NVIDIA H200", "00000000:83:00.0", 77.71, 0.0, 0, 143771, 28.0, "Disabled", "Average")]
    [InlineData("linux-x86_64__nvidia-l40s__595.80__idle.csv", "NVIDIA L40S", "00000000:01:00.0", 144.97, 100.0, 0, 46068, 63.0, "N/A", "Average")]
    [InlineData("linux-x86_64__nvidia-l40s__595.80__load.csv", "NVIDIA L40S", "00000000:01:00.0", 110.23, 9.0, 1235, 46068, 54.0, "N/A", "Average")]
    [InlineData("linux-x86_64__nvidia-h100-mig__590.48.01__idle.csv", "NVIDIA H100 80GB HBM3", "00000000:00:09.0", 71.15, null, 59, 81559, 42.0, "Enabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h100-mig__590.48.01__load.csv", "NVIDIA H100 80GB HBM3", "00000000:00:09.0", 433.78, null, 11125, 81559, 53.0, "Enabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h200-mig__590.48.01__idle.csv", "NVIDIA H200", "00000000:83:00.0", 78.28, null, 55, 143771, 28.0, "Enabled", "Average")]
    [InlineData("linux-x86_64__nvidia-h200-mig__590.48.01__load.csv", "NVIDIA H200", "00000000:83:00.0", 295.01, null, 16959, 143771, 36.0, "Enabled", "Average")]
    [InlineData("linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load.csv", "NVIDIA GeForce RTX 2080 SUPER", "00000000:0C:00.0", 111.50, 8.0, 819, 8192, 45.0, "N/A", "Draw")]
    [InlineData("windows-x86_64__nvidia-geforce-rtx-2080-super__610.62__idle.csv", "NVIDIA GeForce RTX 2080 SUPER", "00000000:0C:00.0", 39.25, 0.0, 797, 8192, 40.0, "N/A", "Draw")]
    public void Capture_HandCheckedReadings(
        string fileName, string name, string busId, double powerWatts, double? utilizationPercent, long memoryUsedMiB, long memoryTotalMiB,
        double temperatureCelsius, string migMode, string powerSource)
    {
        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(File.ReadAllText(Path.Combine(CaptureDir, fileName)), Context);

        Assert.Empty(result.Errors);
        NvidiaSmiGpuRow row = Assert.Single(result.Rows);
        GpuSample sample = row.Sample;
        Assert.Equal(0, sample.GpuIndex);
        Assert.Equal("GPU-00000000-0000-0000-0000-000000000000", sample.GpuUuid);
        Assert.Equal(name, sample.GpuModel);
        Assert.Equal(busId, row.PciBusId);
        Assert.Equal(powerWatts, sample.PowerWatts);
        Assert.Equal(utilizationPercent, sample.UtilizationPercent);
        Assert.Equal(memoryUsedMiB * MiB, sample.MemoryUsedBytes);
        Assert.Equal(memoryTotalMiB * MiB, sample.MemoryTotalBytes);
        Assert.Equal(temperatureCelsius, sample.TemperatureCelsius);
        Assert.Equal(migMode switch { "Enabled" => true, "Disabled" => false, _ => (bool?)null }, row.MigModeEnabled);
        Assert.Equal(Enum.Parse<NvidiaSmiPowerSource>(powerSource), row.PowerSource);
        Assert.Null(sample.EnergyJoules);
    }

    [Fact]
    public void H100Load_DeviceTimestampAndPowerLimit()
    {
        NvidiaSmiGpuRow row = Assert.Single(NvidiaSmiCsvParser.Parse(
            File.ReadAllText(Path.Combine(CaptureDir, "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv")), Context).Rows);
        Assert.Equal(new DateTime(2026, 7, 14, 8, 12, 53, 353, DateTimeKind.Unspecified), row.DeviceTimestamp);
        Assert.Equal(700.00, row.PowerLimitWatts);
        Assert.Equal(2, row.LineNumber);
    }

    [Fact]
    public void SubsetAllCaptures_TwentyRowsEachEqualToItsCaptureFile()
    {
        string path = RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "nvidia-smi-query-gpu__subset_all_captures.csv");
        string text = File.ReadAllText(path);
        NvidiaSmiParseResult subset = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(subset.Errors);
        Assert.True(subset.HadHeader);
        Assert.Equal(20, subset.Rows.Count);

        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < subset.Rows.Count; i++)
        {
            string[] cells = lines[i + 1].Split(',');
            string captureFile = Path.Combine(CaptureDir, $"{cells[0]}__{cells[1]}.csv");
            GpuSample fromCapture = Assert.Single(NvidiaSmiCsvParser.Parse(File.ReadAllText(captureFile), Context).Samples);
            Assert.Equal(fromCapture, subset.Rows[i].Sample);
        }

        GpuSample h100Load = subset.Rows[7].Sample;
        Assert.Equal("NVIDIA H100 80GB HBM3", h100Load.GpuModel);
        Assert.Equal(631.95, h100Load.PowerWatts);
        Assert.Equal(100, h100Load.UtilizationPercent);
        Assert.True(subset.Rows[9].MigModeEnabled);
        Assert.Null(subset.Rows[9].Sample.UtilizationPercent);
    }

    [Fact]
    public void NetdataTeslaP100_NounitsWithHeaderAndNoIndexColumn()
    {
        string text = File.ReadAllText(RepoPaths.Data("nvidia-smi", "xml-csv-netdata", "tesla-p100.csv"));
        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        NvidiaSmiGpuRow row = Assert.Single(result.Rows);
        GpuSample sample = row.Sample;
        Assert.Equal(0, sample.GpuIndex);
        Assert.Equal("Tesla P100-PCIE-16GB", sample.GpuModel);
        Assert.Equal("GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6", sample.GpuUuid);
        Assert.Equal(28.16, sample.PowerWatts);
        Assert.Equal(NvidiaSmiPowerSource.Draw, row.PowerSource);
        Assert.Equal(0, sample.UtilizationPercent);
        Assert.Equal(0, sample.MemoryUsedBytes);
        Assert.Null(sample.MemoryTotalBytes);
        Assert.Equal(37, sample.TemperatureCelsius);
        Assert.Null(row.MigModeEnabled);
    }

    /// <summary>The capture files, decoded the simple way: header and rows split on ", ".</summary>
    private static List<Dictionary<string, string>> RawRows(string text)
    {
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] header = lines[0].Split(", ");
        return lines.Skip(1)
            .Select(line => header.Zip(line.Split(", ")).ToDictionary(pair => pair.First, pair => pair.Second))
            .ToList();
    }

    /// <summary>The number in a cell such as <c>631.95 W</c>; null for bracketed text.</summary>
    private static double? Number(string cell) =>
        cell.StartsWith('[') ? null : double.Parse(cell.Split(' ')[0], CultureInfo.InvariantCulture);
}
