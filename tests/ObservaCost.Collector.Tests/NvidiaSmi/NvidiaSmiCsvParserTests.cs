using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.NvidiaSmi;

public sealed class NvidiaSmiCsvParserTests
{
    private const long MiB = 1024 * 1024;

    private static readonly NvidiaSmiSampleContext Context = new()
    {
        SampleTime = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero),
        Node = "node-a",
        Pool = "pool-1",
    };

    [Fact]
    public void Query_ArgumentsUseTheFieldConstant()
    {
        Assert.Equal(["--query-gpu=" + NvidiaSmiQuery.Fields, "--format=csv,noheader,nounits"], NvidiaSmiQuery.Arguments(NvidiaSmiQuery.Fields));
        IReadOnlyList<string> full = NvidiaSmiQuery.Split(NvidiaSmiQuery.Fields);
        IReadOnlyList<string> legacy = NvidiaSmiQuery.Split(NvidiaSmiQuery.LegacyFields);
        Assert.Equal(14, full.Count);
        Assert.Equal(full.Except(["power.draw.average", "power.draw.instant"]), legacy);
        Assert.Equal(["timestamp", "index", "uuid", "name", "pci.bus_id"], full.Take(5));
    }

    [Fact]
    public void Headerless_PollerOutput_MapsByTheFieldConstant()
    {
        string text =
            "2025/03/01 12:00:00.125, 0, GPU-aaaa, NVIDIA H100 80GB HBM3, 00000000:18:00.0, 87, 40000, 81559, 512.5, 500.25, 530.75, 700.00, 61, Disabled\n" +
            "2025/03/01 12:00:00.126, 1, GPU-bbbb, NVIDIA H100 80GB HBM3, 00000000:2A:00.0, 0, 0, 81559, 70.1, 69.9, 71.0, 700.00, 35, Disabled\n";

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        Assert.False(result.HadHeader);
        Assert.Equal(2, result.Samples.Count);
        GpuSample first = result.Samples[0];
        Assert.Equal(0, first.GpuIndex);
        Assert.Equal("GPU-aaaa", first.GpuUuid);
        Assert.Equal(87, first.UtilizationPercent);
        Assert.Equal(40000 * MiB, first.MemoryUsedBytes);
        Assert.Equal(81559 * MiB, first.MemoryTotalBytes);
        Assert.Equal(500.25, first.PowerWatts);
        Assert.Equal(NvidiaSmiPowerSource.Average, result.Rows[0].PowerSource);
        Assert.Equal(61, first.TemperatureCelsius);
        Assert.Equal("node-a", first.Node);
        Assert.Equal("pool-1", first.Pool);
        Assert.Equal(Context.SampleTime, first.Time);
        Assert.Equal(1, result.Samples[1].GpuIndex);
    }

    [Fact]
    public void Headerless_UnitsInValuesCrLfSpacesAndBlankLines_AreAccepted()
    {
        string text =
            "\r\n" +
            "  2025/03/01 12:00:00.125 ,  3 , GPU-cccc , NVIDIA L40S , 00000000:01:00.0 , 100 % , 19818 MiB , 46068 MiB , 631.95 W , [N/A] , [Not Supported] , 350.00 W , 63 , [N/A]  \r\n" +
            "\r\n";

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        NvidiaSmiGpuRow row = Assert.Single(result.Rows);
        Assert.Equal(2, row.LineNumber);
        Assert.Equal(3, row.Sample.GpuIndex);
        Assert.Equal("NVIDIA L40S", row.Sample.GpuModel);
        Assert.Equal(100, row.Sample.UtilizationPercent);
        Assert.Equal(19818 * MiB, row.Sample.MemoryUsedBytes);
        Assert.Equal(631.95, row.Sample.PowerWatts);
        Assert.Equal(NvidiaSmiPowerSource.Draw, row.PowerSource);
        Assert.Null(row.MigModeEnabled);
    }

    [Fact]
    public void NoUuidNoBusId_TwoGpus_KeyedByIndexOnTheNode()
    {
        string text =
            "2025/03/01 12:00:00.125, 0, [N/A], NVIDIA H100 80GB HBM3, [N/A], 87, 40000, 81559, 512.5, 500.25, 530.75, 700.00, 61, Disabled\n" +
            "2025/03/01 12:00:00.126, 1, [N/A], NVIDIA H100 80GB HBM3, [N/A], 0, 0, 81559, 70.1, 69.9, 71.0, 700.00, 35, Disabled\n";

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        Assert.Equal(["node-a/gpu0", "node-a/gpu1"], result.Samples.Select(s => s.GpuUuid));
    }

    [Fact]
    public void UnavailableMarkers_BecomeNullReadings()
    {
        string text =
            "[N/A], 0, [N/A], NVIDIA H100 80GB HBM3, 00000000:18:00.0, [N/A], [Requested functionality has been deprecated], N/A, [Not Supported], [Unknown Error], [GPU is lost], , Not Supported, Enabled\n";

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.Empty(result.Errors);
        NvidiaSmiGpuRow row = Assert.Single(result.Rows);
        // No uuid: the GPU is its bus id on the node (GpuIdentity), so two such GPUs of a node stay apart.
        Assert.Equal("node-a/pci:00000000:18:00.0", row.Sample.GpuUuid);
        Assert.Null(row.Sample.UtilizationPercent);
        Assert.Null(row.Sample.MemoryUsedBytes);
        Assert.Null(row.Sample.MemoryTotalBytes);
        Assert.Null(row.Sample.PowerWatts);
        Assert.Equal(NvidiaSmiPowerSource.None, row.PowerSource);
        Assert.Null(row.PowerLimitWatts);
        Assert.Null(row.Sample.TemperatureCelsius);
        Assert.Null(row.DeviceTimestamp);
        Assert.True(row.MigModeEnabled);
    }

    [Fact]
    public void PowerFallback_AverageThenDrawThenInstant()
    {
        const string fields = "index,power.draw,power.draw.average,power.draw.instant";
        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(
            "0, 100, 90, 110\n1, 100, [N/A], 110\n2, [N/A], [N/A], 110\n3, [N/A], [N/A], [N/A]\n", Context, fields);

        Assert.Empty(result.Errors);
        Assert.Equal(new double?[] { 90, 100, 110, null }, result.Samples.Select(s => s.PowerWatts));
        Assert.Equal(
            [NvidiaSmiPowerSource.Average, NvidiaSmiPowerSource.Draw, NvidiaSmiPowerSource.Instant, NvidiaSmiPowerSource.None],
            result.Rows.Select(r => r.PowerSource));
    }

    [Fact]
    public void MalformedLines_AreReportedWithLineNumberAndGoodLinesKept()
    {
        const string fields = "index,uuid,utilization.gpu,memory.used,power.draw";
        string text =
            "0, GPU-a, 10, 100, 50\n" +           // 1 good
            "1, GPU-b, 10, 100\n" +               // 2 too few cells
            "x, GPU-c, 10, 100, 50\n" +           // 3 index not a number
            "[N/A], GPU-d, 10, 100, 50\n" +       // 4 index unavailable
            "4, GPU-e, 10, 100, lots W\n" +       // 5 power not a number
            "5, GPU-f, 101, 100, 50\n" +          // 6 utilization out of range
            "6, GPU-g, 10, 100, -5\n" +           // 7 negative power
            "7, GPU-h, 10, 100 parsecs, 50\n" +   // 8 unknown memory unit
            "8, GPU-i, 10, 100, 50 V\n" +         // 9 wrong power unit
            "9, \"GPU-j, 10, 100, 50\n" +         // 10 unterminated quote
            "10, GPU-k, 10 %, 2 GiB, 1500 mW\n";  // 11 good, other units

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context, fields);

        Assert.Equal([0, 10], result.Samples.Select(s => s.GpuIndex));
        Assert.Equal(2L * 1024 * MiB, result.Samples[1].MemoryUsedBytes);
        Assert.Equal(1.5, result.Samples[1].PowerWatts);
        Assert.Equal([2, 3, 4, 5, 6, 7, 8, 9, 10], result.Errors.Select(e => e.LineNumber));
        Assert.Equal("expected 5 cells, found 4", result.Errors[0].Reason);
        Assert.Contains("index", result.Errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("index", result.Errors[2].Reason, StringComparison.Ordinal);
        Assert.Contains("power.draw: 'lots W' is not a number", result.Errors[3].Reason, StringComparison.Ordinal);
        Assert.Contains("outside 0-100", result.Errors[4].Reason, StringComparison.Ordinal);
        Assert.Contains("negative", result.Errors[5].Reason, StringComparison.Ordinal);
        Assert.Contains("memory.used: unexpected unit", result.Errors[6].Reason, StringComparison.Ordinal);
        Assert.Contains("power.draw: unexpected unit", result.Errors[7].Reason, StringComparison.Ordinal);
        Assert.Equal("unterminated quoted cell", result.Errors[8].Reason);
    }

    [Fact]
    public void Header_MapsColumnsByNameInAnyOrderAndUsesHeaderUnits()
    {
        string text =
            "power.draw [W], memory.used [GiB], name, index, uuid, clocks.sm [MHz]\r\n" +
            "250.5, 3, \"Odd, Name\", 2, GPU-z, 1980\r\n";

        NvidiaSmiParseResult result = NvidiaSmiCsvParser.Parse(text, Context);

        Assert.True(result.HadHeader);
        Assert.Empty(result.Errors);
        GpuSample sample = Assert.Single(result.Samples);
        Assert.Equal(2, sample.GpuIndex);
        Assert.Equal("Odd, Name", sample.GpuModel);
        Assert.Equal(3L * 1024 * MiB, sample.MemoryUsedBytes);
        Assert.Equal(250.5, sample.PowerWatts);
    }

    [Fact]
    public void GarbageAndEmptyInput_ProduceErrorsOrNothing()
    {
        Assert.Empty(NvidiaSmiCsvParser.Parse(string.Empty, Context).Rows);
        Assert.Empty(NvidiaSmiCsvParser.Parse("\n\r\n  \n", Context).Errors);

        NvidiaSmiParseResult garbage = NvidiaSmiCsvParser.Parse("Segmentation fault\nall your GPUs, are belong, to us\n", Context);
        Assert.Empty(garbage.Rows);
        Assert.Equal([1, 2], garbage.Errors.Select(e => e.LineNumber));
    }
}
