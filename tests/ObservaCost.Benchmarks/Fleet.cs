using ObservaCost.Storage.Schema;

namespace ObservaCost.Benchmarks;

/// <summary>GPU samples shaped like the real dcgm-exporter captures: H100/L40S/L4 nodes, 8 GPUs each, every label set.</summary>
internal static class Fleet
{
    private static readonly string[] Models = ["NVIDIA H100 80GB HBM3", "NVIDIA L40S", "NVIDIA L4"];

    public static GpuSample[] Samples(int count, DateTimeOffset start)
    {
        var samples = new GpuSample[count];
        const int Gpus = 1000;
        for (int i = 0; i < count; i++)
        {
            int gpu = i % Gpus;
            int step = i / Gpus;
            samples[i] = new GpuSample
            {
                Time = start.AddSeconds(step * 10),
                Cluster = "prod-eu-1",
                Node = "gpu-node-" + (gpu / 8),
                GpuIndex = gpu % 8,
                GpuUuid = "GPU-" + gpu.ToString("x8", System.Globalization.CultureInfo.InvariantCulture) + "-5c1b-4f0e-9d3a-7e2b1c0d9e8f",
                GpuModel = Models[gpu % Models.Length],
                Pool = "pool-" + (gpu % 5),
                Namespace = gpu % 3 == 0 ? null : "inference",
                Pod = gpu % 3 == 0 ? null : "vllm-" + (gpu / 2),
                Container = gpu % 3 == 0 ? null : "vllm",
                ServedModel = gpu % 3 == 0 ? null : "llama-3.1-70b-instruct",
                UtilizationPercent = (gpu * 7 + step) % 101,
                GraphicsEngineActivityRatio = ((gpu * 7 + step) % 101) / 100.0,
                PowerWatts = 70.25 + ((gpu * 13 + step * 7) % 630),
                EnergyJoules = 1.0e9 + (step * 4000.125),
                MemoryUsedBytes = 40L * 1024 * 1024 * 1024,
                MemoryTotalBytes = 80L * 1024 * 1024 * 1024,
                TemperatureCelsius = 35 + (gpu % 40),
                XidErrors = 0,
            };
        }

        return samples;
    }
}
