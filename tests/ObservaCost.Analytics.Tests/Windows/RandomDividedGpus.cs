using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>Random MIG and shared GPUs for the property tests, written through the schema.</summary>
internal static class RandomDividedGpus
{
    private static readonly (string Id, string Profile)[][] Layouts =
    [
        [("1", "3g.40gb"), ("2", "2g.20gb"), ("3", "1g.10gb")],
        [("1", "4g.40gb"), ("5", "2g.20gb")],
        [("0", "7g.80gb")],
        [("7", "1g.10gb"), ("8", "1g.10gb+me"), ("9", "1g.20gb"), ("10", "3g.40gb")],
        [("1", "3g.40gb"), ("2", "9x.big")], // a profile the table does not know: equal shares
    ];

    /// <summary>
    /// A MIG H100 alone on its node: the physical GPU's power and energy counter on its own samples, instances of a
    /// random layout (free slices where they leave some) each with its own activity, idle runs and pod (the second
    /// unallocated for a while), all sampled together every 10 s (with jitter and gaps when asked).
    /// </summary>
    public static void WriteMig(LineProtocolWriter writer, Random random, string uuid, string node, string pool, DateTimeOffset start, DateTimeOffset end, bool jitter, int? layout = 0)
    {
        (string Id, string Profile)[] instances = Layouts[layout ?? random.Next(Layouts.Length)];
        var idleUntil = new DateTimeOffset[instances.Length];
        var idle = new bool[instances.Length];
        double energy = random.Next(0, 5_000_000);
        DateTimeOffset previous = start, unallocatedFrom = start.AddMinutes(random.Next(20, 60));
        double? power = null;
        for (DateTimeOffset t = start; t < end; t = t.AddSeconds(10).AddMilliseconds(jitter ? random.Next(-1_500, 1_500) : 0))
        {
            if (jitter && random.Next(60) == 0)
            {
                t = t.AddSeconds(random.Next(30, 200)); // a gap
            }

            double watts = 80 + (random.NextDouble() * 500);
            energy += power is double p ? (p + watts) / 2 * (t - previous).TotalSeconds : 0;
            new GpuSample { Time = t, Node = node, GpuIndex = 0, GpuUuid = uuid, GpuModel = "H100", Pool = pool, PowerWatts = watts, EnergyJoules = energy }.WriteTo(writer);
            power = watts;
            previous = t;
            for (int i = 0; i < instances.Length; i++)
            {
                if (t >= idleUntil[i])
                {
                    idle[i] = !idle[i];
                    idleUntil[i] = t.AddSeconds(random.Next(20, 15 * 60));
                }

                bool allocated = i != 1 || t < unallocatedFrom || t >= unallocatedFrom.AddMinutes(35);
                new GpuSample
                {
                    Time = t, Node = node, GpuIndex = 0, GpuUuid = uuid, GpuModel = "H100", Pool = pool,
                    MigInstance = instances[i].Id, MigProfile = instances[i].Profile,
                    Pod = allocated ? uuid + "-pod-" + i : null, Namespace = allocated ? "team-" + i : null,
                    GraphicsEngineActivityRatio = idle[i] ? random.NextDouble() * 0.04 : 0.1 + (random.NextDouble() * 0.9),
                }.WriteTo(writer);
            }
        }
    }

    /// <summary>
    /// A GPU alone on its node shared by two or three pods: its own samples every 10 s, and per 30 s a
    /// <c>gpu_workload</c> point per pod present (pods come and go) with random signals: own utilization, requested
    /// fraction, both or neither; or (no <c>gpu_workload</c>) its samples repeated per pod as dcgm-exporter does.
    /// </summary>
    public static void WriteShared(LineProtocolWriter writer, Random random, string uuid, string node, string pool, DateTimeOffset start, DateTimeOffset end)
    {
        int pods = 2 + random.Next(2);
        bool utilization = random.Next(2) == 0, requested = random.Next(2) == 0, duplicated = random.Next(3) == 0;
        var from = Enumerable.Range(0, pods).Select(_ => start.AddMinutes(random.Next(0, 30))).ToArray();
        var to = from.Select(f => f.AddMinutes(random.Next(20, 90))).ToArray();
        for (DateTimeOffset t = start; t < end; t = t.AddSeconds(10))
        {
            double watts = 80 + (random.NextDouble() * 500), busy = random.NextDouble() < 0.3 ? random.NextDouble() * 3 : 20 + (random.NextDouble() * 80);
            if (!duplicated)
            {
                new GpuSample { Time = t, Node = node, GpuIndex = 0, GpuUuid = uuid, GpuModel = "H100", Pool = pool, PowerWatts = watts, UtilizationPercent = busy }.WriteTo(writer);
            }

            for (int p = 0; p < pods; p++)
            {
                if (t < from[p] || t >= to[p])
                {
                    continue;
                }

                if (duplicated)
                {
                    new GpuSample
                    {
                        Time = t, Node = node, GpuIndex = 0, GpuUuid = uuid, GpuModel = "H100", Pool = pool,
                        Pod = uuid + "-shared-" + p, Namespace = "team-" + p, ServedModel = p == 0 ? "llama" : null, PowerWatts = watts, UtilizationPercent = busy,
                    }.WriteTo(writer);
                }
                else if (t.Second % 30 == 0)
                {
                    new GpuWorkloadSample
                    {
                        Time = t, Node = node, GpuIndex = 0, GpuUuid = uuid, Source = "hami", Pod = uuid + "-shared-" + p, Namespace = "team-" + p,
                        ServedModel = p == 0 ? "llama" : null, UtilizationPercent = utilization ? random.NextDouble() * 60 : null,
                        RequestedFraction = requested ? random.NextDouble() * 0.7 : null, MemoryUsedBytes = 1L << 30,
                    }.WriteTo(writer);
                }
            }
        }
    }
}
