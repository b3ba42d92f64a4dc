using System.Globalization;
using System.Text.RegularExpressions;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.NvidiaSmi;

/// <summary>
/// MIG instances from <c>nvidia-smi -q -x</c> (netdata's A100 MIG capture, read in place) and the profile derivation
/// checked against the real H100 and H200 MIG captures (their <c>-q</c> MIG devices against the names <c>-L</c>
/// prints); per-process utilization from the real <c>pmon</c> sections.
/// </summary>
public sealed partial class NvidiaSmiMigAndPmonTests
{
    private const long MiB = 1024 * 1024;
    private const string A100Uuid = "GPU-27b94a00-ed54-5c24-b1fd-1054085de32a";

    private static readonly GpuSample A100 = new()
    {
        Time = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero),
        Node = "gpu-node-1",
        Cluster = "lab",
        Pool = "a100",
        GpuIndex = 0,
        GpuUuid = A100Uuid,
        GpuModel = "NVIDIA A100-SXM4-40GB",
        PowerWatts = 61.2,
    };

    private static string Raw(string file) => File.ReadAllText(RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "raw", file));

    /// <summary>The lines of a capture's section, between its <c># phase :: name</c> banner and the next banner.</summary>
    private static string Section(string capture, string banner)
    {
        int start = capture.IndexOf("# " + banner, StringComparison.Ordinal);
        Assert.True(start >= 0, banner);
        int body = capture.IndexOf("\n####", start, StringComparison.Ordinal) + 1;
        body = capture.IndexOf('\n', body) + 1;
        int end = capture.IndexOf("\n####", body, StringComparison.Ordinal);
        return capture[body..end];
    }

    [Fact]
    public void Parse_A100MigXml_OneSamplePerGpuInstance_WithProfileAndMemory()
    {
        string xml = File.ReadAllText(RepoPaths.Data("nvidia-smi", "xml-csv-netdata", "a100-sxm4-mig.xml"));

        (IReadOnlyList<GpuSample> instances, IReadOnlyList<NvidiaSmiParseError> errors) =
            NvidiaSmiMigParser.Parse(xml, new Dictionary<string, GpuSample> { [A100Uuid] = A100 });

        Assert.Empty(errors);
        Assert.Equal(["1", "2"], instances.Select(i => i.MigInstance)); // <gpu_instance_id>1</…>, <gpu_instance_id>2</…>
        Assert.All(instances, i =>
        {
            // 42 multiprocessors / 14 per A100 slice = 3 slices; 19968 MiB × 8 / 40960 MiB = 3.9 → 4 eighths of 40 GB = 20 GB.
            Assert.Equal("3g.20gb", i.MigProfile);
            Assert.Equal(19 * MiB, i.MemoryUsedBytes);     // <used>19 MiB</used>
            Assert.Equal(19968 * MiB, i.MemoryTotalBytes); // <total>19968 MiB</total>
            Assert.Equal(A100Uuid, i.GpuUuid);
            Assert.Equal(0, i.GpuIndex);
            Assert.Equal("gpu-node-1", i.Node);
            Assert.Equal("a100", i.Pool);
            Assert.Equal(A100.Time, i.Time);
            Assert.Null(i.PowerWatts);                     // the GPU's power stays on its own sample
            Assert.Null(i.UtilizationPercent);             // nvidia-smi has no activity per instance
            Assert.Null(i.GraphicsEngineActivityRatio);
        });
    }

    [Fact]
    public void Parse_GpuNotAmongTheRows_IsSkipped_BadXmlIsAnError()
    {
        string xml = File.ReadAllText(RepoPaths.Data("nvidia-smi", "xml-csv-netdata", "a100-sxm4-mig.xml"));

        Assert.Empty(NvidiaSmiMigParser.Parse(xml, new Dictionary<string, GpuSample>()).Instances);
        (IReadOnlyList<GpuSample> none, IReadOnlyList<NvidiaSmiParseError> errors) = NvidiaSmiMigParser.Parse("<nvidia_smi_log><gpu", new Dictionary<string, GpuSample> { [A100Uuid] = A100 });
        Assert.Empty(none);
        Assert.Single(errors);
    }

    /// <summary>
    /// Every MIG device of the H100 and H200 captures' <c>-q</c>: the derived profile of its GPU instance equals the name
    /// <c>nvidia-smi -L</c> prints for it (without the compute-instance prefix, e.g. <c>1c.</c> of <c>1c.3g.71gb</c>).
    /// H100 (81559 MiB): GI 2 = 60 SMs, 40448 MiB → 3g.40gb; GI 3 = 32, 20096 → 2g.20gb; GI 9 and 10 = 16, 9984 → 1g.10gb.
    /// H200 (143771 MiB): GI 2 = two compute instances of 16 + 32 SMs, 71424 MiB → 3g.71gb (141 GB × 4/8 = 70.5 → 71);
    /// GI 3 = 32, 33280 → 2g.35gb; GI 9 and 10 = 16, 16384 → 1g.18gb.
    /// </summary>
    [Theory]
    [InlineData("linux-x86_64__nvidia-h100-mig__590.48.01.txt", "NVIDIA H100 80GB HBM3", "2=3g.40gb,3=2g.20gb,9=1g.10gb,10=1g.10gb")]
    [InlineData("linux-x86_64__nvidia-h200-mig__590.48.01.txt", "NVIDIA H200", "2=3g.71gb,3=2g.35gb,9=1g.18gb,10=1g.18gb")]
    public void Derive_RealH100AndH200MigDevices_MatchTheProfilesNvidiaSmiNames(string file, string model, string expected)
    {
        string capture = Raw(file);
        string query = Section(capture, "idle :: query (-q)");
        string[] listed = [.. ListedProfile().Matches(Section(capture, "capabilities :: list (-L)")).Select(m => m.Groups["profile"].Value)];
        long gpuMiB = long.Parse(GpuMemory().Match(query).Groups["mib"].Value, CultureInfo.InvariantCulture);
        var devices = MigDevice().Matches(query).Select(m => (
            Index: int.Parse(m.Groups["index"].Value, CultureInfo.InvariantCulture),
            Instance: int.Parse(m.Groups["gi"].Value, CultureInfo.InvariantCulture),
            Sms: int.Parse(m.Groups["sms"].Value, CultureInfo.InvariantCulture),
            MiB: long.Parse(m.Groups["mib"].Value, CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(listed.Length, devices.Count);

        var derived = devices.GroupBy(d => d.Instance).Select(g =>
            string.Create(CultureInfo.InvariantCulture, $"{g.Key}={MigProfiles.Derive(model, g.Sum(d => d.Sms), g.First().MiB, gpuMiB)}"));
        Assert.Equal(expected, string.Join(',', derived));
        foreach (var d in devices)
        {
            string gpuInstanceProfile = listed[d.Index].Contains("c.", StringComparison.Ordinal) ? listed[d.Index][(listed[d.Index].IndexOf('.', StringComparison.Ordinal) + 1)..] : listed[d.Index];
            Assert.Contains(d.Instance.ToString(CultureInfo.InvariantCulture) + "=" + gpuInstanceProfile, expected, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Derive_UnknownModelOrMissingReading_IsNull()
    {
        Assert.Null(MigProfiles.Derive("NVIDIA L40S", 42, 19968, 40960));
        Assert.Null(MigProfiles.Derive("NVIDIA A100-SXM4-40GB", 42, null, 40960));
        Assert.Null(MigProfiles.Derive("NVIDIA A100-SXM4-40GB", 0, 19968, 40960));
        Assert.Equal("7g.40gb", MigProfiles.Derive("NVIDIA A100-SXM4-40GB", 98, 40192, 40960)); // 98/14 = 7; 40192×8/40960 = 7.85 → 8 eighths
    }

    /// <summary>
    /// The H100 load capture's pmon (<c>-c 5</c>: five samples of pids 11327, 11328 memhog with sm "-", 11345 gpu_burn
    /// sm 99): one workload per GPU and process name, the last sample of each process; the two memhogs are one workload.
    /// </summary>
    [Fact]
    public void ParsePmon_RealH100Load_OneWorkloadPerProcessName()
    {
        string pmon = Section(Raw("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt"), "load :: pmon");
        GpuSample h100 = A100 with { GpuUuid = "GPU-h100", GpuModel = "NVIDIA H100 80GB HBM3" };

        (IReadOnlyList<GpuWorkloadSample> workloads, IReadOnlyList<NvidiaSmiParseError> errors, int overLimit) =
            NvidiaSmiPmonParser.Parse(pmon, new Dictionary<int, GpuSample> { [0] = h100 }, maxWorkloadsPerGpu: 64);

        Assert.Empty(errors);
        Assert.Equal(0, overLimit);
        Assert.Equal(["gpu_burn", "memhog"], workloads.Select(w => w.Workload));
        Assert.Equal([99.0, null], workloads.Select(w => w.UtilizationPercent));
        Assert.All(workloads, w =>
        {
            Assert.Equal("nvidia-smi-pmon", w.Source);
            Assert.Equal("GPU-h100", w.GpuUuid);
            Assert.Equal(0, w.GpuIndex);
            Assert.Equal("gpu-node-1", w.Node);
            Assert.Null(w.Pod);
            Assert.Equal(2, w.WorkloadsOnGpu);
        });
    }

    [Fact]
    public void ParsePmon_IdleMigGpuWithNoProcess_NoWorkloads_SameNameSummedAndCapped_Limit()
    {
        string idle = Section(Raw("linux-x86_64__nvidia-h100-mig__590.48.01.txt"), "idle :: pmon");
        Assert.Empty(NvidiaSmiPmonParser.Parse(idle, new Dictionary<int, GpuSample> { [0] = A100 }, 64).Workloads);

        const string pmon = """
            # gpu         pid   type     sm    mem    enc    dec    jpg    ofa    command
            # Idx           #    C/G      %      %      %      %      %      %    name
                0        101     C     70      1      -      -      -      -    python
                0        102     C     45      1      -      -      -      -    python
                0        103     C     10      1      -      -      -      -    worker
                0        104     C      5      1      -      -      -      -    other
                7        105     C      5      1      -      -      -      -    elsewhere
            """;
        (IReadOnlyList<GpuWorkloadSample> workloads, _, int overLimit) = NvidiaSmiPmonParser.Parse(pmon, new Dictionary<int, GpuSample> { [0] = A100 }, maxWorkloadsPerGpu: 2);

        // python: 70 + 45 = 115 → capped at 100; worker 10; "other" is the third name on GPU 0, over the limit of 2;
        // GPU 7 has no query-gpu row, so "elsewhere" is skipped.
        Assert.Equal(["python", "worker"], workloads.Select(w => w.Workload));
        Assert.Equal([100.0, 10], workloads.Select(w => w.UtilizationPercent));
        Assert.Equal(1, overLimit);
    }

    [GeneratedRegex(@"MIG (?<profile>\S+)\s+Device\s+\d+:")]
    private static partial Regex ListedProfile();

    [GeneratedRegex(@"^    FB Memory Usage\s*\n\s+Total\s+:\s+(?<mib>\d+) MiB", RegexOptions.Multiline)]
    private static partial Regex GpuMemory();

    [GeneratedRegex(@"MIG Device\s*\n\s+Index\s+:\s+(?<index>\d+)\s*\n\s+GPU Instance ID\s+:\s+(?<gi>\d+)[\s\S]*?Multiprocessor count\s+:\s+(?<sms>\d+)[\s\S]*?Shared FB Memory Usage\s*\n\s+Total\s+:\s+(?<mib>\d+) MiB")]
    private static partial Regex MigDevice();
}
