using ObservaCost.Testing;
using UglyToad.PdfPig;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary><c>report --format pdf</c>: the PDF writer reached through the CLI's format lookup, end to end.</summary>
public sealed class ReportPdfTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-report-pdf-" + Guid.NewGuid().ToString("N")[..12]);

    public ReportPdfTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Report_FormatPdf_WritesAReadablePdfOfThePeriod()
    {
        string output = Path.Combine(_dir, "out", "report.pdf");

        CliRun run = await CliRun.RunAsync(
            "report", "--from", "2026-11-16T00:00:00Z", "--to", "2026-11-23T00:00:00Z", "--compare-previous", "--format", "pdf", "--out", output,
            "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"));

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains("(pdf) written to " + output, run.Output, StringComparison.Ordinal);
        byte[] pdf = await File.ReadAllBytesAsync(output);
        Assert.Equal("%PDF-"u8.ToArray(), pdf[..5]);
        using PdfDocument document = PdfDocument.Open(pdf);
        string cover = string.Join(' ', document.GetPage(1).GetWords().Select(w => w.Text));
        Assert.Contains("Period: 2026-11-16 00:00 UTC – 2026-11-23 00:00 UTC", cover, StringComparison.Ordinal);
        Assert.Contains("Previous period: 2026-11-09 00:00 UTC – 2026-11-16 00:00 UTC", cover, StringComparison.Ordinal);
        // The store is empty: the summary says so rather than printing zeros, and the last page still carries the hashes.
        Assert.Contains("no cost windows are stored: there is nothing to report.", cover, StringComparison.Ordinal);
        string last = string.Join(' ', document.GetPage(document.NumberOfPages).GetWords().Select(w => w.Text));
        Assert.Contains("Pricing file SHA-256", last, StringComparison.Ordinal);
        Assert.Equal("ObservaCost efficiency report", document.Information.Title);
    }
}
