using ObservaCost.Collector.Scraping;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>The real exporter captures in the shared data folder, read in place.</summary>
internal static class Captures
{
    public const string T4 = "metrics_T4_busy_ericsson-ccd-conformance.prom";
    public const string L4 = "metrics_L4_single_gpu_kops-conformance.prom";
    public const string L40S = "metrics_L40S_idle_upcloud-conformance.prom";
    public const string VllmV1Idle = "vllm_metrics_idle_qwen2.5-0.5b_kops-conformance.prom";
    public const string VllmV0After4 = "vllm_v0_metrics_after4requests_qwen2.5-coder-1.5b_aibrix-docs.prom";
    public const string H100Idle = "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.metrics";
    public const string H100Load = "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.metrics";

    public static string Dcgm(string file) => RepoPaths.Data("dcgm-exporter", file);

    public static string Vllm(string file) => RepoPaths.Data("vllm-metrics", file);

    public static string NvidiaExporter(string file) => RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "exporter-metrics", file);

    /// <summary>A fixture kept in this test project (Fixtures/SOURCE.md names where each comes from).</summary>
    public static string Fixture(params string[] parts) => Path.Combine([RepoPaths.Root, "tests", "ObservaCost.Collector.Tests", "Fixtures", .. parts]);

    public static PrometheusParseResult Parse(string path) => PrometheusTextParser.ParseOnce(File.ReadAllBytes(path));

    public static string Text(string path) => File.ReadAllText(path);

    /// <summary>Every Prometheus exposition capture: the dcgm-exporter and vLLM <c>.prom</c> files and the nvidia_gpu_exporter <c>.metrics</c> files.</summary>
    public static IEnumerable<string> AllExpositionFiles() =>
        Directory.EnumerateFiles(RepoPaths.Data("dcgm-exporter"), "*.prom")
            .Concat(Directory.EnumerateFiles(RepoPaths.Data("vllm-metrics"), "*.prom"))
            .Concat(Directory.EnumerateFiles(RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "exporter-metrics"), "*.metrics"))
            .Order(StringComparer.Ordinal);
}
