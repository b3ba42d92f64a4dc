namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>
/// The <c>nvidia-smi --query-gpu</c> command the poller runs. The field lists here are the single source of truth: the
/// poller builds its command line from them and <see cref="NvidiaSmiCsvParser"/> maps header-less output by them.
/// </summary>
/// <remarks>
/// <para>Fields, in order:</para>
/// <list type="table">
/// <item><term><c>timestamp</c></term><description>nvidia-smi's own clock, <c>YYYY/MM/DD HH:MM:SS.mmm</c>, local time with no zone; kept for diagnosis only, the sample time comes from the caller.</description></item>
/// <item><term><c>index</c></term><description>GPU index (required).</description></item>
/// <item><term><c>uuid</c>, <c>name</c>, <c>pci.bus_id</c></term><description>identity.</description></item>
/// <item><term><c>utilization.gpu</c></term><description>% of time a kernel ran; <c>[N/A]</c> under MIG.</description></item>
/// <item><term><c>memory.used</c>, <c>memory.total</c></term><description>MiB, converted to bytes.</description></item>
/// <item><term><c>power.draw</c>, <c>power.draw.average</c>, <c>power.draw.instant</c></term><description>watts; see <see cref="NvidiaSmiPowerSource"/> for the choice.</description></item>
/// <item><term><c>power.limit</c></term><description>watts.</description></item>
/// <item><term><c>temperature.gpu</c></term><description>°C.</description></item>
/// <item><term><c>mig.mode.current</c></term><description><c>Enabled</c>, <c>Disabled</c> or <c>[N/A]</c>.</description></item>
/// </list>
/// <para>
/// Drivers older than the R530 family reject <c>power.draw.average</c> and <c>power.draw.instant</c> with
/// <c>Field "power.draw.average" is not a valid field to query.</c> and a non-zero exit. The poller then falls back to
/// <see cref="LegacyFields"/> (the same list without those two) and keeps using it.
/// </para>
/// </remarks>
public static class NvidiaSmiQuery
{
    /// <summary>The full field list, for current drivers.</summary>
    public const string Fields =
        "timestamp,index,uuid,name,pci.bus_id,utilization.gpu,memory.used,memory.total,power.draw,power.draw.average,power.draw.instant,power.limit,temperature.gpu,mig.mode.current";

    /// <summary>The field list for drivers that do not know <c>power.draw.average</c> / <c>power.draw.instant</c>.</summary>
    public const string LegacyFields =
        "timestamp,index,uuid,name,pci.bus_id,utilization.gpu,memory.used,memory.total,power.draw,power.limit,temperature.gpu,mig.mode.current";

    /// <summary>The output format the poller asks for. Real drivers may still print units; the parser copes.</summary>
    public const string Format = "csv,noheader,nounits";

    /// <summary>The arguments of the MIG read: the full XML report, whose <c>&lt;mig_devices&gt;</c> list each GPU's MIG devices.</summary>
    public static IReadOnlyList<string> MigArguments { get; } = ["-q", "-x"];

    /// <summary>The arguments of the per-process read: one pmon sample of the utilization group.</summary>
    public static IReadOnlyList<string> PmonArguments { get; } = ["pmon", "-c", "1", "-s", "u"];

    /// <summary>The text nvidia-smi prints when a field is unknown to the installed driver.</summary>
    public const string InvalidFieldMessage = "is not a valid field to query";

    /// <summary>Field names of a comma-separated list, trimmed.</summary>
    public static IReadOnlyList<string> Split(string fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return fields.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The arguments after the command path: <c>--query-gpu=&lt;fields&gt;</c> and <c>--format=csv,noheader,nounits</c>.</summary>
    public static IReadOnlyList<string> Arguments(string fields)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fields);
        return ["--query-gpu=" + fields, "--format=" + Format];
    }
}
