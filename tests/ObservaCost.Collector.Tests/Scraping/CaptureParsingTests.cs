using ObservaCost.Collector.Scraping;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// Every real exposition capture parses without an error, with counts and values taken from the files
/// (counted independently with grep: sample lines are the non-comment, non-blank lines; families are the distinct
/// <c># TYPE</c> names, or each sample name on a page without TYPE lines). The L4 file holds two consecutive scrapes
/// of one exporter (the conformance log printed the page twice; its second copy starts at line 70 with the same HELP
/// and TYPE lines): the 23 samples of the second copy repeat series already on the page, and are refused as
/// duplicates, as Prometheus refuses them ("duplicate sample for timestamp"); no other capture has a refused line.
/// </summary>
public sealed class CaptureParsingTests
{
    public static TheoryData<string, string, int, int, int, int, int, int, int, int> Expectations => new()
    {
        // folder, file, lines, samples, families, counter, gauge, histogram, untyped samples, duplicates refused
        { "dcgm-exporter", Captures.T4, 20, 20, 20, 0, 0, 0, 20, 0 },
        // 46 sample lines, 23 of them the second copy of the page: 4 counters and 19 gauges kept.
        { "dcgm-exporter", Captures.L4, 138, 23, 23, 4, 19, 0, 0, 23 },
        { "dcgm-exporter", Captures.L40S, 69, 23, 23, 4, 19, 0, 0, 0 },
        { "vllm-metrics", Captures.VllmV1Idle, 562, 395, 83, 32, 51, 312, 0, 0 },
        { "vllm-metrics", Captures.VllmV0After4, 56, 29, 14, 4, 9, 16, 0, 0 },
        { "exporter-metrics", Captures.H100Idle, 396, 132, 132, 1, 131, 0, 0, 0 },
        { "exporter-metrics", Captures.H100Load, 406, 138, 134, 1, 137, 0, 0, 0 },
    };

    private static string PathOf(string folder, string file) => folder switch
    {
        "dcgm-exporter" => Captures.Dcgm(file),
        "vllm-metrics" => Captures.Vllm(file),
        _ => Captures.NvidiaExporter(file),
    };

    [Theory]
    [MemberData(nameof(Expectations))]
    public void Parse_RealCapture_CountsMatchTheFile(string folder, string file, int lines, int samples, int families, int counters, int gauges, int histograms, int untyped, int duplicates)
    {
        PrometheusParseResult result = Captures.Parse(PathOf(folder, file));

        Assert.All(result.Errors, e => Assert.Equal(PrometheusErrorKind.DuplicateSeries, e.Kind));
        Assert.Equal(duplicates, result.Rejections(PrometheusErrorKind.DuplicateSeries));
        Assert.Equal(duplicates, result.RejectedCount);
        Assert.Equal(lines, result.LineCount);
        Assert.Equal(samples, result.Samples.Count);
        Assert.Equal(families, result.Families.Count);
        Assert.Equal(counters, result.Samples.Count(s => s.Type == MetricType.Counter));
        Assert.Equal(gauges, result.Samples.Count(s => s.Type == MetricType.Gauge));
        Assert.Equal(histograms, result.Samples.Count(s => s.Type == MetricType.Histogram));
        Assert.Equal(untyped, result.Samples.Count(s => s.Type == MetricType.Untyped));
        Assert.Equal(samples, result.Families.Sum(f => f.SampleCount));
    }

    [Fact]
    public void Parse_EveryCaptureFileOnDisk_IsCoveredAndParsesCleanly()
    {
        string[] known = [.. Expectations.Select(row => (string)row[1])];
        foreach (string path in Captures.AllExpositionFiles())
        {
            Assert.Contains(Path.GetFileName(path), known);
            Assert.All(Captures.Parse(path).Errors, e => Assert.Equal(PrometheusErrorKind.DuplicateSeries, e.Kind));
        }

        Assert.Equal(known.Length, Captures.AllExpositionFiles().Count());
    }

    [Fact]
    public void Parse_T4Capture_ReadsUtilizationAndPowerFromSource()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Dcgm(Captures.T4));

        PrometheusSample util = result.Samples.Single(s => s.Name == "DCGM_FI_DEV_GPU_UTIL");
        Assert.Equal(91, util.Value);
        Assert.Equal(MetricType.Untyped, util.Type);
        Assert.Equal("DCGM_FI_DEV_GPU_UTIL", util.FamilyName);
        Assert.Null(util.TimestampMilliseconds);
        Assert.Equal(68.244, result.Samples.Single(s => s.Name == "DCGM_FI_DEV_POWER_USAGE").Value);
        Assert.Equal(15152422938, result.Samples.Single(s => s.Name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION").Value);
        Assert.Equal(0.156205, result.Samples.Single(s => s.Name == "DCGM_FI_PROF_GR_ENGINE_ACTIVE").Value);
        Assert.Equal(
            ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION"],
            util.Labels.Select(l => l.Name));
        Assert.Equal("GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a", util.Labels.Get("UUID"));
        Assert.Equal("Tesla T4", util.Labels.Get("modelName"));
        Assert.Equal("590.48.01", util.Labels.Get("DCGM_FI_DRIVER_VERSION"));
    }

    [Fact]
    public void Parse_T4Capture_SamplesOfOneGpuShareOneLabelArray()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Dcgm(Captures.T4));

        LabelSet first = result.Samples[0].Labels;
        Assert.All(result.Samples, s => Assert.Equal(first, s.Labels));
        Assert.All(result.Samples, s => Assert.True(s.Labels.AsSpan().Overlaps(first.AsSpan())));
    }

    [Fact]
    public void Parse_L40SCapture_ReadsTypesHelpAndValues()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Dcgm(Captures.L40S));

        MetricFamilyInfo? energy = result.Family("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
        Assert.NotNull(energy);
        Assert.Equal(MetricType.Counter, energy.Type);
        Assert.Equal("Total energy consumption since boot (in mJ).", energy.Help);
        Assert.Equal(1, energy.SampleCount);
        Assert.Equal(5551899580, result.Samples.Single(s => s.Name == energy.Name).Value);
        Assert.Equal(35.686, result.Samples.Single(s => s.Name == "DCGM_FI_DEV_POWER_USAGE").Value);
        Assert.Equal(45459, result.Samples.Single(s => s.Name == "DCGM_FI_DEV_FB_FREE").Value);
        Assert.Equal(608, result.Samples.Single(s => s.Name == "DCGM_FI_DEV_FB_RESERVED").Value);
        Assert.Equal(
            ["DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"],
            result.Families.Where(f => f.Type == MetricType.Counter).Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Parse_L4Capture_RepeatedPageKeepsTheFirstCopyAndRefusesTheSecond()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Dcgm(Captures.L4));

        Assert.All(result.Families, f => Assert.Equal(1, f.SampleCount));
        Assert.Equal([16.365], result.Samples.Where(s => s.Name == "DCGM_FI_DEV_POWER_USAGE").Select(s => s.Value));
        // The second copy starts at line 70 (HELP, TYPE, then the sample on line 72), three lines per metric.
        Assert.Equal(23, result.Rejections(PrometheusErrorKind.DuplicateSeries));
        Assert.Equal(72, result.Errors[0].Line);
        Assert.StartsWith("duplicate sample for the series DCGM_FI_DEV_SM_CLOCK{gpu=\"0\"", result.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Equal("i-030791dc5a37cd257", result.Samples[0].Labels.Get("Hostname"));
    }

    [Fact]
    public void Parse_VllmV1Capture_GroupsHistogramSamplesUnderTheirFamily()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Vllm(Captures.VllmV1Idle));

        Assert.Equal(17, result.Families.Count(f => f.Type == MetricType.Histogram));
        Assert.Equal(2, result.Families.Count(f => f.Type == MetricType.Summary));
        Assert.Equal(21, result.Families.Count(f => f.Type == MetricType.Counter));
        Assert.Equal(43, result.Families.Count(f => f.Type == MetricType.Gauge));

        PrometheusSample[] e2e = [.. result.Samples.Where(s => s.FamilyName == "vllm:e2e_request_latency_seconds")];
        Assert.Equal(24, e2e.Length);
        Assert.Equal(22, e2e.Count(s => s.Name == "vllm:e2e_request_latency_seconds_bucket"));
        Assert.All(e2e, s => Assert.Equal(MetricType.Histogram, s.Type));
        PrometheusSample inf = e2e.Single(s => s.Labels.Get("le") == "+Inf");
        Assert.Equal(["engine", "le", "model_name"], inf.Labels.Select(l => l.Name));
        Assert.Equal("Qwen/Qwen2.5-0.5B-Instruct", inf.Labels.Get("model_name"));

        MetricFamilyInfo created = result.Family("vllm:e2e_request_latency_seconds_created")!;
        Assert.Equal(MetricType.Gauge, created.Type);
        Assert.Equal(1.7740114612881637e+09, result.Samples.Single(s => s.Name == created.Name).Value);
        Assert.Equal(1048576, result.Samples.Single(s => s.Name == "process_max_fds").Value);
        Assert.Equal(5, result.Samples.Count(s => s.Name == "vllm:request_success_total"));
        Assert.Equal(MetricType.Histogram, result.Samples.Single(s => s.Name == "vllm:iteration_tokens_total_count").Type);
        Assert.Equal("vllm:iteration_tokens_total", result.Samples.Single(s => s.Name == "vllm:iteration_tokens_total_count").FamilyName);
    }

    [Fact]
    public void Parse_VllmV1Capture_KeepsHelpTextVerbatimAndEmptySummaries()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Vllm(Captures.VllmV1Idle));

        MetricFamilyInfo highr = result.Family("http_request_duration_highr_seconds")!;
        Assert.Equal("Latency with many buckets but no API specific labels. Made for more accurate percentile calculations. ", highr.Help);
        MetricFamilyInfo summary = result.Family("http_request_size_bytes")!;
        Assert.Equal(MetricType.Summary, summary.Type);
        Assert.Equal(0, summary.SampleCount);
        PrometheusSample config = result.Samples.Single(s => s.Name == "vllm:cache_config_info");
        Assert.Equal(25, config.Labels.Count);
        Assert.Equal("101625", config.Labels.Get("num_gpu_blocks"));
        Assert.Equal("set()", config.Labels.Get("cpu_offload_params"));
    }

    [Fact]
    public void Parse_VllmV0Capture_ReadsCountersAndTruncatedHistogram()
    {
        PrometheusParseResult result = Captures.Parse(Captures.Vllm(Captures.VllmV0After4));

        Assert.Equal(148, result.Samples.Single(s => s.Name == "vllm:prompt_tokens_total").Value);
        Assert.Equal(955, result.Samples.Single(s => s.Name == "vllm:generation_tokens_total").Value);
        PrometheusSample success = result.Samples.Single(s => s.Name == "vllm:request_success_total");
        Assert.Equal(4, success.Value);
        Assert.Equal("stop", success.Labels.Get("finished_reason"));
        Assert.Equal(-1, result.Samples.Single(s => s.Name == "vllm:gpu_prefix_cache_hit_rate").Value);
        Assert.Equal(1.7382173358407154e+09, result.Samples.Single(s => s.Name == "vllm:lora_requests_info").Value);
        Assert.Equal(string.Empty, result.Samples.Single(s => s.Name == "vllm:lora_requests_info").Labels.Get("running_lora_adapters"));
        Assert.Null(result.Family("vllm:cache_config_info")!.Help);
        Assert.Equal(MetricType.Gauge, result.Family("vllm:cache_config_info")!.Type);
        MetricFamilyInfo iteration = result.Family("vllm:iteration_tokens_total")!;
        Assert.Equal(MetricType.Histogram, iteration.Type);
        Assert.Equal(16, iteration.SampleCount);
        Assert.Equal(998, result.Samples[^1].Value);
        Assert.Equal("96.0", result.Samples[^1].Labels.Get("le"));
    }

    [Fact]
    public void Parse_NvidiaGpuExporterLoadCapture_ReadsValuesAndLabels()
    {
        PrometheusParseResult result = Captures.Parse(Captures.NvidiaExporter(Captures.H100Load));

        Assert.Equal(631.95, result.Samples.Single(s => s.Name == "nvidia_smi_power_draw_watts").Value);
        Assert.Equal(2.0780679168e+10, result.Samples.Single(s => s.Name == "nvidia_smi_memory_used_bytes").Value);
        Assert.Equal(1.98e+09, result.Samples.Single(s => s.Name == "nvidia_smi_clocks_current_graphics_clock_hz").Value);
        Assert.Equal(3, result.Family("nvidia_smi_compute_app_info")!.SampleCount);
        Assert.Equal(
            ["/root/tools/memhog", "/root/tools/memhog", "./gpu_burn"],
            result.Samples.Where(s => s.Name == "nvidia_smi_compute_app_info").Select(s => s.Labels.Get("process_name")));
        PrometheusSample info = result.Samples.Single(s => s.Name == "nvidia_smi_gpu_info");
        Assert.Equal("NVIDIA H100 80GB HBM3", info.Labels.Get("name"));
        Assert.Equal("[N/A]", info.Labels.Get("driver_model_current"));
        Assert.Equal(MetricType.Counter, result.Family("nvidia_smi_failed_scrapes_total")!.Type);
        Assert.Equal(LabelSet.Empty, result.Samples.Single(s => s.Name == "nvidia_smi_failed_scrapes_total").Labels);
    }

    [Fact]
    public void Parse_NvidiaGpuExporterIdleCapture_ReadsIdleValues()
    {
        PrometheusParseResult result = Captures.Parse(Captures.NvidiaExporter(Captures.H100Idle));

        Assert.Equal(69.85, result.Samples.Single(s => s.Name == "nvidia_smi_power_draw_watts").Value);
        Assert.Equal(0, result.Samples.Single(s => s.Name == "nvidia_smi_utilization_gpu_ratio").Value);
        Assert.Equal(0, result.Samples.Single(s => s.Name == "nvidia_smi_compute_apps").Value);
        Assert.Equal("accounting.buffer_size", result.Family("nvidia_smi_accounting_buffer_size")!.Help);
    }

    [Fact]
    public void Parse_SameParserTwice_ReturnsEqualResultsAndReusesStrings()
    {
        byte[] page = File.ReadAllBytes(Captures.Vllm(Captures.VllmV1Idle));
        var parser = new PrometheusTextParser();

        PrometheusParseResult first = parser.Parse(page);
        PrometheusParseResult second = parser.Parse(page);

        Assert.Equal(first.Samples, second.Samples);
        Assert.Same(first.Samples[0].Name, second.Samples[0].Name);
        PrometheusSample firstRunning = first.Samples.Single(s => s.Name == "vllm:num_requests_running");
        PrometheusSample secondRunning = second.Samples.Single(s => s.Name == "vllm:num_requests_running");
        Assert.Same(firstRunning.Labels.Get("model_name"), secondRunning.Labels.Get("model_name"));
    }

    [Fact]
    public void Parse_RepeatedPageOnReusedParser_AllocatesLittleBeyondTheSampleList()
    {
        byte[] page = File.ReadAllBytes(Captures.Vllm(Captures.VllmV1Idle));
        var parser = new PrometheusTextParser();
        parser.Parse(page);

        long before = GC.GetAllocatedBytesForCurrentThread();
        PrometheusParseResult result = parser.Parse(page);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The sample list alone is 395 samples of 64 bytes (about 25 KB); families and their list make up most of the rest.
        Assert.Equal(395, result.Samples.Count);
        Assert.True(allocated < 50_000, $"allocated {allocated} bytes");
    }
}
