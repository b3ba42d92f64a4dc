using PdfSharp.Fonts;

namespace ObservaCost.Reporting.Pdf;

/// <summary>
/// Resolves DejaVu Sans (regular, bold, oblique, bold-oblique) from the system fonts for PDFsharp, which on Linux has
/// no font source of its own. The files come from Debian's <c>fonts-dejavu-core</c>
/// (<c>/usr/share/fonts/truetype/dejavu</c>); a missing file fails at construction with a message naming the package,
/// never later in the middle of a report.
/// </summary>
public sealed class DejaVuFontResolver : IFontResolver
{
    /// <summary>The family the PDF's text is set in (the charts use the same, see <c>ChartRenderer.FontFamily</c>).</summary>
    public const string FamilyName = "DejaVu Sans";

    /// <summary>The Debian package that installs the font files.</summary>
    public const string DebianPackage = "fonts-dejavu-core";

    /// <summary>Where Debian installs the font files.</summary>
    public const string DefaultDirectory = "/usr/share/fonts/truetype/dejavu";

    private const string Regular = "DejaVuSans.ttf";
    private const string Bold = "DejaVuSans-Bold.ttf";
    private const string Oblique = "DejaVuSans-Oblique.ttf";
    private const string BoldOblique = "DejaVuSans-BoldOblique.ttf";

    private static readonly Lock RegistrationLock = new();

    private readonly Dictionary<string, byte[]> _faces = new(StringComparer.Ordinal);

    /// <summary>Reads the four faces from <paramref name="directory"/> (Debian's location when not given).</summary>
    /// <exception cref="FileNotFoundException">A face is missing; the message names the file and the package.</exception>
    public DejaVuFontResolver(string? directory = null)
    {
        Directory = directory ?? DefaultDirectory;
        foreach (string face in new[] { Regular, Bold, Oblique, BoldOblique })
        {
            string path = Path.Combine(Directory, face);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"The PDF report needs the font DejaVu Sans: {path} does not exist. Install the Debian package {DebianPackage} (apt-get install {DebianPackage}).",
                    path);
            }

            _faces[face] = File.ReadAllBytes(path);
        }
    }

    /// <summary>The directory the faces were read from.</summary>
    public string Directory { get; }

    /// <summary>
    /// Makes DejaVu Sans PDFsharp's font resolver for this process. PDFsharp's resolver is one global setting that
    /// must not change once fonts were used, so the first call sets it and later calls (from any thread) check that it is
    /// still a <see cref="DejaVuFontResolver"/>; a different resolver set by other code is reported, not replaced.
    /// </summary>
    public static void EnsureRegistered()
    {
        lock (RegistrationLock)
        {
            switch (GlobalFontSettings.FontResolver)
            {
                case null:
                    GlobalFontSettings.FontResolver = new DejaVuFontResolver();
                    break;
                case DejaVuFontResolver:
                    break;
                case IFontResolver other:
                    throw new InvalidOperationException(
                        $"PDFsharp's global font resolver is already {other.GetType().FullName}; the report needs {nameof(DejaVuFontResolver)}.");
            }
        }
    }

    /// <inheritdoc />
    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic)
    {
        if (!string.Equals(familyName, FamilyName, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string face = (bold, italic) switch
        {
            (false, false) => Regular,
            (true, false) => Bold,
            (false, true) => Oblique,
            (true, true) => BoldOblique,
        };
        return new FontResolverInfo(face);
    }

    /// <inheritdoc />
    public byte[]? GetFont(string faceName) => _faces.TryGetValue(faceName, out byte[]? bytes) ? bytes : null;
}
