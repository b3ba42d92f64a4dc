using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Storage.Tests.Schema;

public sealed class SchemaTests
{
    private static string Encode(ILineProtocolPoint point)
    {
        using var writer = new LineProtocolWriter();
        Assert.True(point.WriteTo(writer), writer.LastRejection);
        return writer.ToString();
    }

    [Fact]
    public void GpuSample_MapsToTagsAndFieldsWithUnits()
    {
        string line = Encode(new GpuSample
        {
            Time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Cluster = "prod",
            Node = "gpu-node-1",
            GpuIndex = 3,
            GpuUuid = "GPU-abc",
            GpuModel = "NVIDIA H100 80GB HBM3",
            Pool = "h100",
            MigInstance = "1",
            MigProfile = "1g.10gb",
            Namespace = "llm",
            Pod = "vllm-0",
            Container = "vllm",
            ServedModel = "llama-3-70b",
            UtilizationPercent = 87,
            GraphicsEngineActivityRatio = 0.83,
            PowerWatts = 612.5,
            EnergyJoules = 123456.789,
            MemoryUsedBytes = 74_000_000_000,
            MemoryTotalBytes = 85_899_345_920,
            TemperatureCelsius = 71,
            XidErrors = 0,
        });
        Assert.Equal(
            "gpu_sample,cluster=prod,container=vllm,gpu=3,gpu_model=H100,mig_instance=1,mig_profile=1g.10gb,namespace=llm,node=gpu-node-1,pod=vllm-0,pool=h100,served_model=llama-3-70b,uuid=GPU-abc " +
            "energy_joules=123456.789,gpu_name=\"NVIDIA H100 80GB HBM3\",gr_engine_active_ratio=0.83,memory_total_bytes=85899345920i,memory_used_bytes=74000000000i,power_watts=612.5,temperature_celsius=71,utilization_percent=87,xid_errors=0i 1700000000000000000\n",
            line);
    }

    [Fact]
    public void GpuSample_Unallocated_HasNoPodTag_AndMissingReadingsAreAbsent()
    {
        string line = Encode(new GpuSample { Time = DateTimeOffset.UnixEpoch, Node = "n", GpuIndex = 0, Pod = "", PowerWatts = 70 });
        Assert.Equal("gpu_sample,gpu=0,node=n power_watts=70 0\n", line);
    }

    [Fact]
    public void InferenceWindow_CountsAreIntegers_TimeIsWindowStart()
    {
        string line = Encode(new InferenceWindow
        {
            WindowStart = DateTimeOffset.FromUnixTimeSeconds(1_700_000_010),
            WindowLength = TimeSpan.FromSeconds(10),
            Model = "llama",
            Tenant = "acme",
            Status = "ok",
            RequestCount = 12,
            PromptTokens = 4000,
            CompletionTokens = 900,
            LatencyP95Ms = 812.5,
        });
        Assert.Equal("inference_window,model=llama,status=ok,tenant=acme completion_tokens=900i,error_count=0i,latency_p95_ms=812.5,prompt_tokens=4000i,request_count=12i,window_seconds=10i 1700000010000000000\n", line);
    }

    [Theory]
    [InlineData(60, "1m")]
    [InlineData(3600, "1h")]
    [InlineData(86400, "1d")]
    [InlineData(90, "90s")]
    [InlineData(7200, "2h")]
    public void WindowTag_NamesTheLength(int seconds, string expected) =>
        Assert.Equal(expected, CostWindow.WindowTag(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void CostWindow_RentalApartOrAbsent_WritesRentalUsdOnlyWhenKnown()
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var window = new CostWindow
        {
            WindowStart = start, WindowLength = TimeSpan.FromHours(1), Pool = "p",
            GpuHours = 1, GpuEnergyJoules = 1, FacilityEnergyJoules = 1.2, CapexUsd = 0, OpexUsd = 0, RentalUsd = 2.5, EnergyCostUsd = 0.1, CostUsd = 2.6,
        };
        Assert.Contains(",rental_usd=2.5,", Encode(window), StringComparison.Ordinal);
        Assert.Contains(",rental_usd=0,", Encode(window with { RentalUsd = 0 }), StringComparison.Ordinal);

        // Null is a window computed before the split (rental inside opex): no field, never a written 0.
        Assert.DoesNotContain("rental_usd", Encode(window with { RentalUsd = null, OpexUsd = 2.5 }), StringComparison.Ordinal);
    }

    [Fact]
    public void AnalyticsRecords_Encode()
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        Assert.StartsWith("cost_window,model=m,pool=p,tenant=t,window=1h capex_usd=1.5,", Encode(new CostWindow
        {
            WindowStart = start, WindowLength = TimeSpan.FromHours(1), Model = "m", Tenant = "t", Pool = "p",
            GpuHours = 1, GpuEnergyJoules = 1, FacilityEnergyJoules = 1.2, CapexUsd = 1.5, OpexUsd = 0.5, EnergyCostUsd = 0.1, CostUsd = 2.1,
        }), StringComparison.Ordinal);
        Assert.Contains("idle_share=0.25", Encode(new IdleWindow
        {
            WindowStart = start, WindowLength = TimeSpan.FromHours(1), Pool = "p", GpuHours = 4, IdleGpuHours = 1, IdleCostUsd = 3, IdleEnergyJoules = 10,
        }), StringComparison.Ordinal);
        Assert.StartsWith("anomaly_event,detector=sr,entity=GPU-1,entity_kind=gpu,series=power_watts,severity=critical ", Encode(new AnomalyEvent
        {
            Time = start, Series = "power_watts", EntityKind = "gpu", Entity = "GPU-1", Detector = "sr", Severity = AnomalySeverity.Critical, Score = 0.9, Value = 700,
        }), StringComparison.Ordinal);
        Assert.Contains("issued_at_unix_s=1700000000i", Encode(new ForecastPoint
        {
            Time = start.AddHours(1), Series = "tokens_per_hour", Method = "ssa", IssuedAt = start, Value = 1e6,
        }), StringComparison.Ordinal);
    }
}
