using System.Diagnostics;
using SkiaSharp;
using UglyToad.PdfPig.Content;
using PigDocument = UglyToad.PdfPig.PdfDocument;

namespace ObservaCost.Reporting.Tests.Pdf;

/// <summary>
/// Reads a PDF the way a person would see it: text through PdfPig and <c>pdftotext -layout</c>, pages rendered to PNG by
/// <c>pdftoppm</c> (Debian <c>poppler-utils</c>, installed by build/test.sh), pixels counted with SkiaSharp.
/// </summary>
internal static class PdfPages
{
    /// <summary>Each page's text as PdfPig extracts it, in page order.</summary>
    public static List<string> Texts(byte[] pdf)
    {
        using PigDocument document = PigDocument.Open(pdf);
        return [.. document.GetPages().Select(p => string.Join(' ', p.GetWords().Select(w => w.Text)))];
    }

    /// <summary>Each page's words with their boxes (PdfPig: points from the bottom-left corner).</summary>
    public static List<List<Word>> Words(byte[] pdf)
    {
        using PigDocument document = PigDocument.Open(pdf);
        return [.. document.GetPages().Select(p => p.GetWords().ToList())];
    }

    /// <summary>The whole document's text laid out as on the page (<c>pdftotext -layout</c>): a table row stays on one line.</summary>
    public static string LayoutText(byte[] pdf)
    {
        string directory = Directory.CreateTempSubdirectory("observacost-pdf-").FullName;
        try
        {
            string input = Path.Combine(directory, "in.pdf");
            string output = Path.Combine(directory, "out.txt");
            File.WriteAllBytes(input, pdf);
            Run("pdftotext", "-layout", input, output);
            return File.ReadAllText(output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Every page rendered by <c>pdftoppm -r <paramref name="dpi"/></c>, in page order.</summary>
    public static List<SKBitmap> Render(byte[] pdf, int dpi)
    {
        string directory = Directory.CreateTempSubdirectory("observacost-pdf-").FullName;
        try
        {
            string input = Path.Combine(directory, "in.pdf");
            File.WriteAllBytes(input, pdf);
            Run("pdftoppm", "-r", dpi.ToString(System.Globalization.CultureInfo.InvariantCulture), "-png", input, Path.Combine(directory, "page"));

            // pdftoppm numbers the files page-1.png … (zero-padded to the page count's digits): sort by the number.
            return [.. Directory.GetFiles(directory, "page-*.png")
                .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)["page-".Length..], System.Globalization.CultureInfo.InvariantCulture))
                .Select(f => SKBitmap.Decode(f))];
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Pixels that are not (near) white in the rectangle, or in the whole bitmap when none is given.</summary>
    public static int CountInk(SKBitmap bitmap, SKRectI? area = null) =>
        Count(bitmap, area, p => p.Red < 235 || p.Green < 235 || p.Blue < 235);

    /// <summary>Pixels within 24 of <paramref name="colour"/> on each channel (anti-aliasing and downscaling blur the edges).</summary>
    public static int CountColour(SKBitmap bitmap, SKColor colour, SKRectI? area = null) =>
        Count(bitmap, area, p => Math.Abs(p.Red - colour.Red) <= 24 && Math.Abs(p.Green - colour.Green) <= 24 && Math.Abs(p.Blue - colour.Blue) <= 24);

    /// <summary>
    /// Pixels of <paramref name="colour"/> blended with the white page by at least 30 %: a thin line scaled down to a
    /// low-resolution rendering keeps its hue but loses strength. A pixel is such a blend when every channel is the same
    /// fraction t of the way from white (255) to the colour, t ≥ 0.3 and within 0.12 across the channels.
    /// </summary>
    public static int CountTint(SKBitmap bitmap, SKColor colour, SKRectI? area = null) =>
        Count(bitmap, area, p =>
        {
            double[] t = [Fraction(p.Red, colour.Red), Fraction(p.Green, colour.Green), Fraction(p.Blue, colour.Blue)];
            double[] known = [.. t.Where(v => !double.IsNaN(v))];
            return known.Length > 0 && known.Min() >= 0.3 && known.Max() - known.Min() <= 0.12;
        });

    /// <summary>A rectangle in points from the top-left (as the layout reports it) in pixels of a page rendered at <paramref name="dpi"/>.</summary>
    public static SKRectI ToPixels(double left, double top, double width, double height, int dpi)
    {
        double scale = dpi / 72.0;
        return new SKRectI((int)Math.Ceiling(left * scale), (int)Math.Ceiling(top * scale), (int)Math.Floor((left + width) * scale), (int)Math.Floor((top + height) * scale));
    }

    // How far a channel is from white towards the colour's channel; NaN when the colour's channel is (nearly) white itself.
    private static double Fraction(byte pixel, byte colour) => colour > 215 ? double.NaN : (255.0 - pixel) / (255.0 - colour);

    private static int Count(SKBitmap bitmap, SKRectI? area, Func<SKColor, bool> match)
    {
        SKRectI rect = area ?? new SKRectI(0, 0, bitmap.Width, bitmap.Height);
        int count = 0;
        for (int y = Math.Max(0, rect.Top); y < Math.Min(bitmap.Height, rect.Bottom); y++)
        {
            for (int x = Math.Max(0, rect.Left); x < Math.Min(bitmap.Width, rect.Right); x++)
            {
                if (match(bitmap.GetPixel(x, y)))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static void Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start (Debian package poppler-utils).");
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {errors}");
        }
    }
}
