namespace ObservaCost.Analytics.Windows;

/// <summary>Where the cost job reads GPU readings from.</summary>
public enum GpuReadingSource
{
    /// <summary>The 1-minute rollup (<c>gpu_minute</c>) the rollup job writes: 6× fewer points than 10 s samples.</summary>
    Rollup,

    /// <summary>The raw samples (<c>gpu_sample</c>), aggregated to <see cref="AnalyticsWindowOptions.Resolution"/> in the store.</summary>
    Raw,
}

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

    /// <summary>
    /// Raw samples or the 1-minute rollup. With <see cref="GpuReadingSource.Rollup"/> (default) the cost job waits until
    /// the rollup has covered the window and <see cref="MaxSampleGap"/> past it, and the resolution must be whole minutes.
    /// </summary>
    public GpuReadingSource GpuSource { get; set; } = GpuReadingSource.Rollup;

    /// <summary>The measurement the GPU readings are read from.</summary>
    public string GpuMeasurement => GpuSource == GpuReadingSource.Rollup ? ObservaCost.Storage.Schema.Measurements.GpuMinute : ObservaCost.Storage.Schema.Measurements.GpuSample;

    /// <summary>How long after a window ends it is first computed, so late samples are in. Default 5 min.</summary>
    public TimeSpan Lateness { get; set; } = TimeSpan.FromMinutes(5);
}
