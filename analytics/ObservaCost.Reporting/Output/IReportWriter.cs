using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Output;

/// <summary>
/// One output format of the <see cref="EfficiencyReport"/>: JSON, CSV, Markdown, PDF… Every writer is registered in
/// dependency injection as an <see cref="IReportWriter"/> and found by its <see cref="Format"/> through
/// <see cref="ReportWriters"/>; the CLI verb, the API endpoint and the scheduled jobs all go through that one lookup,
/// so a new format is one more registered writer.
/// </summary>
public interface IReportWriter
{
    /// <summary>The format's name as the CLI, the API and the job options spell it, lower case: <c>json</c>, <c>csv</c>, <c>md</c>.</summary>
    string Format { get; }

    /// <summary>The HTTP content type, e.g. <c>text/csv; charset=utf-8</c>.</summary>
    string ContentType { get; }

    /// <summary>The file extension without the dot, e.g. <c>csv</c>.</summary>
    string FileExtension { get; }

    /// <summary>Writes the report to <paramref name="output"/> (which the caller owns and closes).</summary>
    Task WriteAsync(EfficiencyReport report, Stream output, CancellationToken cancellationToken);
}
