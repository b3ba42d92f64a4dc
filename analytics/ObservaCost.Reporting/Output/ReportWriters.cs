using System.Diagnostics.CodeAnalysis;

namespace ObservaCost.Reporting.Output;

/// <summary>The registered <see cref="IReportWriter"/>s by format: the one place a format name is looked up.</summary>
public sealed class ReportWriters
{
    private readonly Dictionary<string, IReportWriter> _writers;

    public ReportWriters(IEnumerable<IReportWriter> writers)
    {
        ArgumentNullException.ThrowIfNull(writers);
        _writers = new Dictionary<string, IReportWriter>(StringComparer.OrdinalIgnoreCase);
        foreach (IReportWriter writer in writers)
        {
            // The last registration of a format wins, as with any DI override.
            _writers[writer.Format] = writer;
        }
    }

    /// <summary>The formats available, sorted: e.g. <c>csv, json, md</c>.</summary>
    public IReadOnlyList<string> Formats => [.. _writers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The writer of <paramref name="format"/> (case-insensitive), or false.</summary>
    public bool TryGet(string? format, [NotNullWhen(true)] out IReportWriter? writer)
    {
        writer = null;
        return format is not null && _writers.TryGetValue(format.Trim(), out writer);
    }

    /// <summary>The one-line error for a format nobody writes, listing the available ones.</summary>
    public string UnknownFormatMessage(string? format) =>
        $"report format '{format}' is not available; the formats available are {string.Join(", ", Formats)}";

    /// <summary>The file name of a report of [from, to) in a format: <c>observacost-report-2026-11-16_2026-11-23.csv</c>.</summary>
    public static string FileName(DateTimeOffset from, DateTimeOffset to, IReportWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return $"observacost-report-{Stamp(from)}_{Stamp(to)}.{writer.FileExtension}";
    }

    private static string Stamp(DateTimeOffset time)
    {
        DateTimeOffset utc = time.ToUniversalTime();
        return utc.TimeOfDay == TimeSpan.Zero
            ? utc.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-ddTHHmmssZ", System.Globalization.CultureInfo.InvariantCulture);
    }
}
