namespace ObservaCost.Analytics.Windows;

/// <summary>How windows are cut and read. Bound from <c>Analytics:Windows</c>.</summary>
public sealed class AnalyticsWindowOptions
{
    public const string SectionName = "Analytics:Windows";

    /// <summary>The cost and idle window; a whole number of minutes that divides a day. Default 1 h.</summary>
    public TimeSpan WindowLength { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The resolution the store aggregates raw GPU samples to before they are read. Default 1 min.</summary>
    public TimeSpan Resolution { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Samples further apart than this are not bridged (energy, idle). Default 2 min.</summary>
    public TimeSpan MaxSampleGap { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long after a window ends it is first computed, so late samples are in. Default 5 min.</summary>
    public TimeSpan Lateness { get; set; } = TimeSpan.FromMinutes(5);
}
