namespace ObservaCost.Analytics.Tests;

internal static class Precision
{
    /// <summary>Asserts <paramref name="actual"/> equals <paramref name="expected"/> to 1e-9 relative (absolute near 0).</summary>
    public static void Close(double expected, double actual)
    {
        double tolerance = 1e-9 * Math.Max(1.0, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R}, got {actual:R}");
    }
}
