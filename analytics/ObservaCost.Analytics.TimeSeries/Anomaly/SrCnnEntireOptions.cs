namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>What the batch spectral-residual detector computes besides the flag and score (ML.NET's SrCnnDetectMode).</summary>
public enum SrCnnDetectMode
{
    /// <summary>IsAnomaly, RawScore, Magnitude.</summary>
    AnomalyOnly = 0,

    /// <summary>Also the expected value, the boundary unit and the upper and lower boundaries.</summary>
    AnomalyAndMargin = 1,

    /// <summary>Also the expected value.</summary>
    AnomalyAndExpectedValue = 2,
}

/// <summary>How a seasonal component is removed before the spectral residual when a period is given.</summary>
public enum SrCnnDeseasonalityMode
{
    /// <summary>Subtract the mean of each phase of the period.</summary>
    Mean = 1,

    /// <summary>Subtract the median of each phase of the period.</summary>
    Median = 2,
}

/// <summary>
/// Options of <see cref="SrCnnEntireDetector"/>, named as in ML.NET's <c>DetectEntireAnomalyBySrCnn</c>.
/// </summary>
public sealed record SrCnnEntireOptions
{
    /// <summary>Score above which a point is flagged, in [0, 1].</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>Points per independently processed batch: −1 for the whole series, otherwise at least 12.</summary>
    public int BatchSize { get; init; } = 1024;

    /// <summary>Sensitivity of the boundaries in [0, 100]: higher means narrower margins and more anomalies.</summary>
    public double Sensitivity { get; init; } = 99;

    /// <summary>Which outputs to compute.</summary>
    public SrCnnDetectMode DetectMode { get; init; } = SrCnnDetectMode.AnomalyOnly;

    /// <summary>Season length in points; 0 for none. With a period the series is deseasonalised first.</summary>
    public int Period { get; init; }

    /// <summary>How the season is removed when <see cref="Period"/> is positive.</summary>
    public SrCnnDeseasonalityMode DeseasonalityMode { get; init; } = SrCnnDeseasonalityMode.Median;

    /// <summary>Smallest allowed batch.</summary>
    public const int MinimumBatchSize = 12;

    /// <summary>Throws for values outside their ranges, naming every failure.</summary>
    public void Validate()
    {
        var failures = new List<string>();
        if (!(Threshold >= 0 && Threshold <= 1))
        {
            failures.Add($"{nameof(Threshold)} must be in [0, 1] (got {Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }

        if (BatchSize != -1 && BatchSize < MinimumBatchSize)
        {
            failures.Add($"{nameof(BatchSize)} must be -1 or at least {MinimumBatchSize} (got {BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }

        if (!(Sensitivity >= 0 && Sensitivity <= 100))
        {
            failures.Add($"{nameof(Sensitivity)} must be in [0, 100] (got {Sensitivity.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }

        if (Period < 0)
        {
            failures.Add($"{nameof(Period)} must not be negative (got {Period.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }

        if (failures.Count > 0)
        {
            throw new ArgumentException("Invalid spectral residual options: " + string.Join("; ", failures) + ".");
        }
    }
}

/// <summary>
/// One point's result, with ML.NET's output columns. <see cref="ExpectedValue"/>, <see cref="BoundaryUnit"/>,
/// <see cref="UpperBoundary"/> and <see cref="LowerBoundary"/> are 0 unless the mode computes them.
/// </summary>
/// <param name="IsAnomaly">The point is flagged.</param>
/// <param name="RawScore">Anomaly score in [0, 1].</param>
/// <param name="Magnitude">Saliency (spectral-residual magnitude) of the point.</param>
/// <param name="ExpectedValue">The value the series would have had without anomalies.</param>
/// <param name="BoundaryUnit">The margin per unit of sensitivity factor.</param>
/// <param name="UpperBoundary">Expected value plus the margin.</param>
/// <param name="LowerBoundary">Expected value minus the margin.</param>
public readonly record struct SrAnomalyPoint(
    bool IsAnomaly,
    double RawScore,
    double Magnitude,
    double ExpectedValue,
    double BoundaryUnit,
    double UpperBoundary,
    double LowerBoundary);
