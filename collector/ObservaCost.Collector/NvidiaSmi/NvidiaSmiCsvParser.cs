using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.NvidiaSmi;

/// <summary>Who, where and when: what the CSV does not say about its own rows.</summary>
public sealed record NvidiaSmiSampleContext
{
    /// <summary>The time of the query; becomes <see cref="GpuSample.Time"/> (nvidia-smi's own timestamp has no zone).</summary>
    public required DateTimeOffset SampleTime { get; init; }

    public required string Node { get; init; }

    public string? Cluster { get; init; }

    public string? Pool { get; init; }
}

/// <summary>Which nvidia-smi column gave <see cref="GpuSample.PowerWatts"/>.</summary>
/// <remarks>
/// The order of preference is <see cref="Average"/>, then <see cref="Draw"/>, then <see cref="Instant"/>. Cost turns
/// periodic power samples into energy, and an average over the last second estimates energy better than one
/// instantaneous reading. On R530+ drivers with Ampere or newer GPUs <c>power.draw</c> already is that average (the
/// H100/H200/L40S captures show <c>power.draw</c> equal to <c>power.draw.average</c>); on older GPUs
/// <c>power.draw.average</c> is <c>[N/A]</c> and <c>power.draw</c> equals <c>power.draw.instant</c>.
/// </remarks>
public enum NvidiaSmiPowerSource
{
    None,
    Average,
    Draw,
    Instant,
}

/// <summary>One parsed GPU row: the sample and the readings the store schema has no field for.</summary>
public sealed record NvidiaSmiGpuRow
{
    /// <summary>1-based line number in the parsed text.</summary>
    public required int LineNumber { get; init; }

    public required GpuSample Sample { get; init; }

    public string? PciBusId { get; init; }

    /// <summary><c>mig.mode.current</c>: true for <c>Enabled</c>, false for <c>Disabled</c>, null when unavailable.</summary>
    public bool? MigModeEnabled { get; init; }

    public double? PowerLimitWatts { get; init; }

    public NvidiaSmiPowerSource PowerSource { get; init; }

    /// <summary>nvidia-smi's own <c>timestamp</c>, in the node's local time (kind unspecified).</summary>
    public DateTime? DeviceTimestamp { get; init; }
}

/// <summary>A line that could not be turned into a sample.</summary>
public sealed record NvidiaSmiParseError(int LineNumber, string Reason);

/// <summary>The good rows and the errors of one parse.</summary>
public sealed class NvidiaSmiParseResult
{
    internal NvidiaSmiParseResult(List<NvidiaSmiGpuRow> rows, List<NvidiaSmiParseError> errors, bool hadHeader)
    {
        Rows = rows;
        Samples = rows.ConvertAll(row => row.Sample);
        Errors = errors;
        HadHeader = hadHeader;
    }

    public IReadOnlyList<NvidiaSmiGpuRow> Rows { get; }

    public IReadOnlyList<GpuSample> Samples { get; }

    public IReadOnlyList<NvidiaSmiParseError> Errors { get; }

    /// <summary>True when the first non-blank line was a header row and columns were mapped by name.</summary>
    public bool HadHeader { get; }
}

/// <summary>
/// Parses <c>nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]</c> output into <see cref="GpuSample"/>s.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Columns are mapped by name. If the first non-blank line is a header (every cell looks like a query field
/// name, optionally with a unit such as <c>power.draw [W]</c>, and at least one is a field this parser reads), its
/// names are used; otherwise the caller's field list (by default <see cref="NvidiaSmiQuery.Fields"/>) is. Columns the
/// parser does not read are ignored, so the 200+ column captures and the poller's short output go through the same
/// code.</item>
/// <item>Cells are separated by <c>,</c> and trimmed (nvidia-smi writes <c>, </c>). A cell in double quotes may
/// contain commas.</item>
/// <item>Units inside values (<c>631.95 W</c>, <c>100 %</c>, <c>19818 MiB</c>) are accepted even under
/// <c>nounits</c>. Memory is converted to bytes from the value's unit, else the header's, else MiB (nvidia-smi's
/// unit for <c>memory.*</c>).</item>
/// <item>Bracketed text (<c>[N/A]</c>, <c>[Not Supported]</c>, <c>[Requested functionality has been deprecated]</c>,
/// <c>[GPU is lost]</c>, ...), bare <c>N/A</c> or an empty cell is "no reading" (null). Any other text where a
/// number is expected, a missing <c>index</c>, a cell count that differs from the header's, or a reading out of range
/// (utilization outside 0–100, negative power or memory) rejects the line with its number and reason; the other lines
/// are kept.</item>
/// <item><c>\n</c>, <c>\r\n</c>, blank lines and extra spaces are accepted. Without an <c>index</c> column (as in
/// some captures), a row's position among the data rows is its index.</item>
/// </list>
/// </remarks>
public static class NvidiaSmiCsvParser
{
    private const long BytesPerKibibyte = 1024;
    private const long BytesPerMebibyte = 1024 * 1024;
    private const long BytesPerGibibyte = 1024 * 1024 * 1024;

    private enum Column
    {
        Timestamp,
        Index,
        Uuid,
        Name,
        PciBusId,
        UtilizationGpu,
        MemoryUsed,
        MemoryTotal,
        PowerDraw,
        PowerDrawAverage,
        PowerDrawInstant,
        PowerLimit,
        TemperatureGpu,
        MigModeCurrent,
    }

    private static readonly Dictionary<string, Column> KnownFields = new(StringComparer.OrdinalIgnoreCase)
    {
        ["timestamp"] = Column.Timestamp,
        ["index"] = Column.Index,
        ["uuid"] = Column.Uuid,
        ["name"] = Column.Name,
        ["gpu_name"] = Column.Name,
        ["pci.bus_id"] = Column.PciBusId,
        ["gpu_bus_id"] = Column.PciBusId,
        ["utilization.gpu"] = Column.UtilizationGpu,
        ["memory.used"] = Column.MemoryUsed,
        ["memory.total"] = Column.MemoryTotal,
        ["power.draw"] = Column.PowerDraw,
        ["power.draw.average"] = Column.PowerDrawAverage,
        ["power.draw.instant"] = Column.PowerDrawInstant,
        ["power.limit"] = Column.PowerLimit,
        ["temperature.gpu"] = Column.TemperatureGpu,
        ["mig.mode.current"] = Column.MigModeCurrent,
    };

    private static readonly int ColumnCount = Enum.GetValues<Column>().Length;

    /// <summary>Parses CSV text; see the type's remarks for the rules.</summary>
    /// <param name="text">The command output or capture file content.</param>
    /// <param name="context">Sample time, node, cluster and pool for every row.</param>
    /// <param name="headerlessFields">The field list when the text has no header; default <see cref="NvidiaSmiQuery.Fields"/>.</param>
    public static NvidiaSmiParseResult Parse(string text, NvidiaSmiSampleContext context, string? headerlessFields = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(context.Node);

        var rows = new List<NvidiaSmiGpuRow>();
        var errors = new List<NvidiaSmiParseError>();
        var cells = new List<string>();
        ColumnMap? map = null;
        bool hadHeader = false;
        int lineNumber = 0;
        int dataRow = 0;

        foreach (ReadOnlySpan<char> rawLine in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            ReadOnlySpan<char> line = rawLine.Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            if (!SplitCells(line, cells))
            {
                errors.Add(new NvidiaSmiParseError(lineNumber, "unterminated quoted cell"));
                continue;
            }

            if (map is null)
            {
                if (LooksLikeHeader(cells))
                {
                    map = ColumnMap.FromNames(cells);
                    hadHeader = true;
                    continue;
                }

                map = ColumnMap.FromNames(NvidiaSmiQuery.Split(headerlessFields ?? NvidiaSmiQuery.Fields));
            }

            int ordinal = dataRow++;
            if (cells.Count != map.CellCount)
            {
                errors.Add(new NvidiaSmiParseError(
                    lineNumber,
                    string.Create(CultureInfo.InvariantCulture, $"expected {map.CellCount} cells, found {cells.Count}")));
                continue;
            }

            if (TryReadRow(cells, map, context, lineNumber, ordinal, out NvidiaSmiGpuRow? row, out string? reason))
            {
                rows.Add(row);
            }
            else
            {
                errors.Add(new NvidiaSmiParseError(lineNumber, reason));
            }
        }

        return new NvidiaSmiParseResult(rows, errors, hadHeader);
    }

    private static bool TryReadRow(
        List<string> cells,
        ColumnMap map,
        NvidiaSmiSampleContext context,
        int lineNumber,
        int ordinal,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NvidiaSmiGpuRow? row,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
    {
        row = null;
        var reader = new CellReader(cells, map);

        int gpuIndex = ordinal;
        if (map.Has(Column.Index))
        {
            string indexText = reader.Text(Column.Index);
            if (IsUnavailable(indexText)
                || !int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out gpuIndex))
            {
                reason = $"index: '{indexText}' is not a GPU index";
                return false;
            }
        }

        if (!reader.TryQuantity(Column.UtilizationGpu, ["%"], out double? utilization, out reason)
            || !reader.TryQuantity(Column.PowerDraw, ["W"], out double? powerDraw, out reason)
            || !reader.TryQuantity(Column.PowerDrawAverage, ["W"], out double? powerAverage, out reason)
            || !reader.TryQuantity(Column.PowerDrawInstant, ["W"], out double? powerInstant, out reason)
            || !reader.TryQuantity(Column.PowerLimit, ["W"], out double? powerLimit, out reason)
            || !reader.TryQuantity(Column.TemperatureGpu, ["C"], out double? temperature, out reason)
            || !reader.TryMemoryBytes(Column.MemoryUsed, out long? memoryUsed, out reason)
            || !reader.TryMemoryBytes(Column.MemoryTotal, out long? memoryTotal, out reason)
            || !reader.TryDeviceTimestamp(out DateTime? deviceTimestamp, out reason))
        {
            return false;
        }

        if (utilization is < 0 or > 100)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"utilization.gpu: {utilization} is outside 0-100 %");
            return false;
        }

        foreach ((string name, double? watts) in (ReadOnlySpan<(string, double?)>)[("power.draw", powerDraw), ("power.draw.average", powerAverage), ("power.draw.instant", powerInstant), ("power.limit", powerLimit)])
        {
            if (watts < 0)
            {
                reason = string.Create(CultureInfo.InvariantCulture, $"{name}: {watts} W is negative");
                return false;
            }
        }

        if (memoryUsed < 0 || memoryTotal < 0)
        {
            reason = "memory: negative size";
            return false;
        }

        (double? powerWatts, NvidiaSmiPowerSource powerSource) =
            powerAverage is not null ? (powerAverage, NvidiaSmiPowerSource.Average)
            : powerDraw is not null ? (powerDraw, NvidiaSmiPowerSource.Draw)
            : powerInstant is not null ? (powerInstant, NvidiaSmiPowerSource.Instant)
            : ((double?)null, NvidiaSmiPowerSource.None);

        string? migMode = reader.Optional(Column.MigModeCurrent);
        bool? migEnabled = migMode is null ? null
            : migMode.Equals("Enabled", StringComparison.OrdinalIgnoreCase) ? true
            : migMode.Equals("Disabled", StringComparison.OrdinalIgnoreCase) ? false
            : null;

        string? pciBusId = reader.Optional(Column.PciBusId);
        row = new NvidiaSmiGpuRow
        {
            LineNumber = lineNumber,
            Sample = new GpuSample
            {
                Time = context.SampleTime,
                Cluster = context.Cluster,
                Node = context.Node,
                Pool = context.Pool,
                GpuIndex = gpuIndex,
                // The uuid column when it has one; else the identity from the bus id or index on the node (GpuIdentity).
                GpuUuid = GpuIdentity.Of(reader.Optional(Column.Uuid), pciBusId, context.Node, gpuIndex.ToString(CultureInfo.InvariantCulture)),
                GpuModel = reader.Optional(Column.Name),
                UtilizationPercent = utilization,
                PowerWatts = powerWatts,
                MemoryUsedBytes = memoryUsed,
                MemoryTotalBytes = memoryTotal,
                TemperatureCelsius = temperature,
            },
            PciBusId = pciBusId,
            MigModeEnabled = migEnabled,
            PowerLimitWatts = powerLimit,
            PowerSource = powerSource,
            DeviceTimestamp = deviceTimestamp,
        };
        return true;
    }

    /// <summary>True for a cell that says "no reading": empty, bracketed text, or bare N/A / Not Supported.</summary>
    internal static bool IsUnavailable(ReadOnlySpan<char> cell) =>
        cell.IsEmpty
        || (cell.Length >= 2 && cell[0] == '[' && cell[^1] == ']')
        || cell.Equals("N/A", StringComparison.OrdinalIgnoreCase)
        || cell.Equals("Not Supported", StringComparison.OrdinalIgnoreCase);

    /// <summary>Splits a number and its optional unit: <c>631.95 W</c> → 631.95, <c>W</c>.</summary>
    internal static bool TrySplitQuantity(ReadOnlySpan<char> cell, out double value, out ReadOnlySpan<char> unit)
    {
        int end = 0;
        while (end < cell.Length && (char.IsAsciiDigit(cell[end]) || cell[end] is '.' or '-' or '+' or 'e' or 'E'))
        {
            end++;
        }

        unit = cell[end..].Trim();
        return double.TryParse(cell[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static bool LooksLikeHeader(List<string> cells)
    {
        bool anyKnown = false;
        foreach (string cell in cells)
        {
            ReadOnlySpan<char> name = FieldName(cell);
            if (name.IsEmpty || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
            {
                return false;
            }

            foreach (char c in name)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
                {
                    return false;
                }
            }

            anyKnown |= KnownFields.GetAlternateLookup<ReadOnlySpan<char>>().ContainsKey(name);
        }

        return anyKnown;
    }

    /// <summary>The field name of a header cell: <c>power.draw [W]</c> → <c>power.draw</c>.</summary>
    private static ReadOnlySpan<char> FieldName(string headerCell)
    {
        ReadOnlySpan<char> cell = headerCell.AsSpan();
        int bracket = cell.IndexOf('[');
        if (bracket > 0 && cell[^1] == ']')
        {
            cell = cell[..bracket];
        }

        return cell.Trim();
    }

    /// <summary>The unit of a header cell: <c>memory.used [MiB]</c> → <c>MiB</c>; null without one.</summary>
    private static string? HeaderUnit(string headerCell)
    {
        int bracket = headerCell.IndexOf('[', StringComparison.Ordinal);
        return bracket > 0 && headerCell.EndsWith(']') ? headerCell[(bracket + 1)..^1].Trim() : null;
    }

    private static bool SplitCells(ReadOnlySpan<char> line, List<string> cells)
    {
        cells.Clear();
        int i = 0;
        while (true)
        {
            while (i < line.Length && line[i] is ' ' or '\t')
            {
                i++;
            }

            if (i < line.Length && line[i] == '"')
            {
                var quoted = new System.Text.StringBuilder();
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        return false;
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            quoted.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    quoted.Append(line[i++]);
                }

                int comma = line[i..].IndexOf(',');
                cells.Add(quoted.ToString());
                if (comma < 0)
                {
                    return true;
                }

                i += comma + 1;
                continue;
            }

            int next = line[i..].IndexOf(',');
            if (next < 0)
            {
                cells.Add(line[i..].Trim().ToString());
                return true;
            }

            cells.Add(line.Slice(i, next).Trim().ToString());
            i += next + 1;
        }
    }

    /// <summary>Column positions and header units of one parse.</summary>
    private sealed class ColumnMap
    {
        private readonly int[] _positions;
        private readonly string?[] _units;

        private ColumnMap(int cellCount, int[] positions, string?[] units)
        {
            CellCount = cellCount;
            _positions = positions;
            _units = units;
        }

        public int CellCount { get; }

        public static ColumnMap FromNames(IReadOnlyList<string> names)
        {
            int[] positions = new int[ColumnCount];
            Array.Fill(positions, -1);
            string?[] units = new string?[ColumnCount];
            Dictionary<string, Column>.AlternateLookup<ReadOnlySpan<char>> lookup = KnownFields.GetAlternateLookup<ReadOnlySpan<char>>();
            for (int i = 0; i < names.Count; i++)
            {
                if (lookup.TryGetValue(FieldName(names[i]), out Column column) && positions[(int)column] < 0)
                {
                    positions[(int)column] = i;
                    units[(int)column] = HeaderUnit(names[i]);
                }
            }

            return new ColumnMap(names.Count, positions, units);
        }

        public bool Has(Column column) => _positions[(int)column] >= 0;

        public int Position(Column column) => _positions[(int)column];

        public string? Unit(Column column) => _units[(int)column];
    }

    private readonly struct CellReader(List<string> cells, ColumnMap map)
    {
        public string Text(Column column) => map.Has(column) ? cells[map.Position(column)] : string.Empty;

        public string? Optional(Column column)
        {
            string text = Text(column);
            return IsUnavailable(text) ? null : text;
        }

        public bool TryQuantity(Column column, string[] units, out double? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            value = null;
            reason = null;
            string text = Text(column);
            if (IsUnavailable(text))
            {
                return true;
            }

            if (!TrySplitQuantity(text, out double number, out ReadOnlySpan<char> unit))
            {
                reason = $"{FieldNameOf(column)}: '{text}' is not a number";
                return false;
            }

            if (!unit.IsEmpty && !units.AsSpan().Contains(unit.ToString()))
            {
                if (unit.Equals("mW", StringComparison.Ordinal) && units.AsSpan().Contains("W"))
                {
                    value = number / 1000;
                    return true;
                }

                reason = $"{FieldNameOf(column)}: unexpected unit in '{text}'";
                return false;
            }

            value = number;
            return true;
        }

        public bool TryMemoryBytes(Column column, out long? bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            bytes = null;
            reason = null;
            string text = Text(column);
            if (IsUnavailable(text))
            {
                return true;
            }

            if (!TrySplitQuantity(text, out double number, out ReadOnlySpan<char> unit))
            {
                reason = $"{FieldNameOf(column)}: '{text}' is not a number";
                return false;
            }

            ReadOnlySpan<char> effectiveUnit = unit.IsEmpty ? (map.Unit(column) ?? "MiB") : unit;
            long? multiplier = effectiveUnit switch
            {
                "MiB" => BytesPerMebibyte,
                "GiB" => BytesPerGibibyte,
                "KiB" => BytesPerKibibyte,
                "B" => 1,
                _ => null,
            };
            if (multiplier is null)
            {
                reason = $"{FieldNameOf(column)}: unexpected unit in '{text}'";
                return false;
            }

            bytes = (long)Math.Round(number * multiplier.Value);
            return true;
        }

        public bool TryDeviceTimestamp(out DateTime? timestamp, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
        {
            timestamp = null;
            reason = null;
            string text = Text(Column.Timestamp);
            if (IsUnavailable(text))
            {
                return true;
            }

            if (!DateTime.TryParseExact(text, ["yyyy/MM/dd HH:mm:ss.fff", "yyyy/MM/dd HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime parsed))
            {
                reason = $"timestamp: '{text}' is not YYYY/MM/DD HH:MM:SS.mmm";
                return false;
            }

            timestamp = parsed;
            return true;
        }

        private static string FieldNameOf(Column column) =>
            KnownFields.First(pair => pair.Value == column).Key;
    }
}
