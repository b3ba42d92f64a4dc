using ObservaCost.Storage.Schema;

namespace ObservaCost.Storage.Tests.Schema;

/// <summary>Every GPU name in the real captures (../shared/data: dcgm-exporter, nvidia-smi XML/CSV/exporter, AMD) maps to its documented key.</summary>
public sealed class GpuModelNameTests
{
    [Theory]
    // dcgm-exporter modelName
    [InlineData("NVIDIA L4", "L4")]
    [InlineData("NVIDIA L40S", "L40S")]
    [InlineData("Tesla T4", "T4")]
    [InlineData("NVIDIA TITAN V", "TITAN V")]
    // nvidia-smi name / product_name (Telegraf nvidia_smi tag name), nvidia_gpu_exporter
    [InlineData("NVIDIA H100 80GB HBM3", "H100")]
    [InlineData("NVIDIA H200", "H200")]
    [InlineData("NVIDIA A100-SXM4-40GB", "A100")]
    [InlineData("NVIDIA A100-SXM4-80GB", "A100")]
    [InlineData("NVIDIA A10G", "A10G")]
    [InlineData("Tesla P100-PCIE-16GB", "P100")]
    [InlineData("GeForce GTX 1070 Ti", "GTX 1070")]
    [InlineData("NVIDIA GeForce RTX 2080", "RTX 2080")]
    [InlineData("NVIDIA GeForce RTX 3060 Laptop GPU", "RTX 3060")]
    [InlineData("NVIDIA GeForce RTX 4090", "RTX 4090")]
    [InlineData("NVIDIA RTX 4000 SFF Ada Generation", "RTX 4000")]
    [InlineData("Quadro P2000", "P2000")]
    [InlineData("Quadro P400", "P400")]
    [InlineData("Graphics Device", "Graphics Device")]
    // AMD device-metrics-exporter
    [InlineData("MI300X", "MI300X")]
    [InlineData("AMD Instinct MI300X", "MI300X")]
    // already canonical: unchanged
    [InlineData("H100", "H100")]
    [InlineData("  NVIDIA   H100 80GB HBM3 ", "H100")]
    public void Canonical_RealCaptureName_IsTheDocumentedKey(string name, string key) =>
        Assert.Equal(key, GpuModelName.Canonical(name));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Canonical_NoName_IsNull(string? name) => Assert.Null(GpuModelName.Canonical(name));

    [Fact]
    public void Canonical_OnlyBrandWords_KeepsTheNameTrimmed() => Assert.Equal("NVIDIA", GpuModelName.Canonical(" NVIDIA "));
}
