using ObservaCost.Reporting.Pdf;
using PdfSharp.Fonts;

namespace ObservaCost.Reporting.Tests.Pdf;

public sealed class DejaVuFontResolverTests
{
    [Fact]
    public void Constructor_MissingDirectory_NamesTheFileAndThePackage()
    {
        string missing = Path.Combine(Path.GetTempPath(), "observacost-no-fonts-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<FileNotFoundException>(() => new DejaVuFontResolver(missing));

        Assert.Contains(Path.Combine(missing, "DejaVuSans.ttf"), error.Message, StringComparison.Ordinal);
        Assert.Contains("fonts-dejavu-core", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false, "DejaVuSans.ttf")]
    [InlineData(true, false, "DejaVuSans-Bold.ttf")]
    [InlineData(false, true, "DejaVuSans-Oblique.ttf")]
    [InlineData(true, true, "DejaVuSans-BoldOblique.ttf")]
    public void ResolveTypeface_EachStyle_IsItsOwnFaceFile(bool bold, bool italic, string face)
    {
        var resolver = new DejaVuFontResolver();

        FontResolverInfo? info = resolver.ResolveTypeface("DejaVu Sans", bold, italic);

        Assert.NotNull(info);
        Assert.Equal(face, info.FaceName);
        byte[]? bytes = resolver.GetFont(face);
        Assert.NotNull(bytes);
        // A TrueType file starts with the sfnt version 0x00010000.
        Assert.Equal(new byte[] { 0, 1, 0, 0 }, bytes[..4]);
    }

    [Fact]
    public void ResolveTypeface_OtherFamily_IsNotResolved()
    {
        Assert.Null(new DejaVuFontResolver().ResolveTypeface("Arial", bold: false, italic: false));
    }

    [Fact]
    public void EnsureRegistered_ManyThreadsAtOnce_OneDejaVuResolver()
    {
        Parallel.For(0, 16, _ => DejaVuFontResolver.EnsureRegistered());
        IFontResolver? first = GlobalFontSettings.FontResolver;

        DejaVuFontResolver.EnsureRegistered();

        Assert.IsType<DejaVuFontResolver>(first);
        Assert.Same(first, GlobalFontSettings.FontResolver);
    }
}
