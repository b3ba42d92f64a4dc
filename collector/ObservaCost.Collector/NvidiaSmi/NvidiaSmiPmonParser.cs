using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>
/// Reads <c>nvidia-smi pmon -c 1 -s u</c> into one <see cref="GpuWorkloadSample"/> per GPU and process name (source
/// <c>nvidia-smi-pmon</c>): the workload is the process's command name, its utilization the <c>sm</c> column (%).
/// </summary>
/// <remarks>
/// <para>
/// The columns are found by the header (<c># gpu pid type sm mem enc dec jpg ofa command</c>; older drivers print
/// fewer). <c>-</c> means no sample in the interval: the process is kept with no utilization (nvidia-smi prints it
/// for every process of a MIG GPU). Processes of one GPU with the same command name are one workload: their sm % are
/// summed, at most 100. A process printed several times (<c>-c N</c>) keeps its last sample. A row whose GPU index
/// has no query-gpu row is skipped.
/// </para>
/// <para>
/// Processes are not mapped to pods: the collector knows the PID, not the pod (that needs the node's
/// <c>/proc/&lt;pid&gt;/cgroup</c> and the kubelet's pod list), so the command name is the workload.
/// </para>
/// </remarks>
public static class NvidiaSmiPmonParser
{
    /// <summary>The <c>source</c> tag of the workloads read from pmon.</summary>
    public const string WorkloadSourceTag = "nvidia-smi-pmon";

    public static (IReadOnlyList<GpuWorkloadSample> Workloads, IReadOnlyList<NvidiaSmiParseError> Errors, int OverLimit) Parse(
        string text, IReadOnlyDictionary<int, GpuSample> gpusByIndex, int maxWorkloadsPerGpu)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(gpusByIndex);
        var errors = new List<NvidiaSmiParseError>();
        var byProcess = new Dictionary<(int Gpu, int Pid), (string Command, double? Sm)>();
        int gpuColumn = -1, pidColumn = -1, smColumn = -1, commandColumn = -1, lineNumber = 0, overLimit = 0;
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            ReadOnlySpan<char> line = raw.Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            string[] cells = line.TrimStart('#').ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line[0] == '#')
            {
                if (cells.Length > 0 && cells[0] == "gpu")
                {
                    gpuColumn = 0;
                    pidColumn = Array.IndexOf(cells, "pid");
                    smColumn = Array.IndexOf(cells, "sm");
                    commandColumn = Array.IndexOf(cells, "command");
                }

                continue;
            }

            if (gpuColumn < 0 || pidColumn < 0 || smColumn < 0 || commandColumn < 0)
            {
                errors.Add(new NvidiaSmiParseError(lineNumber, "pmon row before a '# gpu pid ... sm ... command' header"));
                continue;
            }

            if (cells.Length <= commandColumn || cells[pidColumn] == "-")
            {
                continue; // "    0          -     -      -  ..." : no process on that GPU
            }

            if (!int.TryParse(cells[gpuColumn], NumberStyles.None, CultureInfo.InvariantCulture, out int gpu)
                || !int.TryParse(cells[pidColumn], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                errors.Add(new NvidiaSmiParseError(lineNumber, $"pmon row with GPU '{cells[gpuColumn]}' and PID '{cells[pidColumn]}' is not numbers"));
                continue;
            }

            double? sm = null;
            if (cells[smColumn] != "-")
            {
                if (!double.TryParse(cells[smColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value is < 0 or > 100)
                {
                    errors.Add(new NvidiaSmiParseError(lineNumber, $"pmon sm '{cells[smColumn]}' is not a percentage"));
                    continue;
                }

                sm = value;
            }

            if (!gpusByIndex.ContainsKey(gpu))
            {
                continue;
            }

            // A process seen again (pmon -c N prints N samples) keeps its last sample.
            byProcess[(gpu, pid)] = (string.Join(' ', cells, commandColumn, cells.Length - commandColumn), sm);
        }

        var byWorkload = new Dictionary<(int Gpu, string Command), double?>();
        var perGpu = new Dictionary<int, int>();
        foreach (((int gpu, _), (string command, double? sm)) in byProcess)
        {
            if (byWorkload.TryGetValue((gpu, command), out double? known))
            {
                byWorkload[(gpu, command)] = known is null && sm is null ? null : Math.Min(100, (known ?? 0) + (sm ?? 0));
                continue;
            }

            int count = perGpu.GetValueOrDefault(gpu);
            if (count >= maxWorkloadsPerGpu)
            {
                overLimit++;
                continue;
            }

            perGpu[gpu] = count + 1;
            byWorkload.Add((gpu, command), sm);
        }

        var workloads = new List<GpuWorkloadSample>(byWorkload.Count);
        foreach (KeyValuePair<(int Gpu, string Command), double?> w in byWorkload.OrderBy(w => w.Key.Gpu).ThenBy(w => w.Key.Command, StringComparer.Ordinal))
        {
            GpuSample gpu = gpusByIndex[w.Key.Gpu];
            workloads.Add(new GpuWorkloadSample
            {
                Time = gpu.Time,
                Cluster = gpu.Cluster,
                Node = gpu.Node,
                GpuIndex = gpu.GpuIndex,
                GpuUuid = gpu.GpuUuid ?? string.Empty,
                Workload = w.Key.Command,
                Source = WorkloadSourceTag,
                UtilizationPercent = w.Value,
                WorkloadsOnGpu = perGpu[w.Key.Gpu],
            });
        }

        return (workloads, errors, overLimit);
    }
}
