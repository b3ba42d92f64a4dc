namespace ObservaCost.Analytics.Windows;

/// <summary>Where the cost job reads GPU readings from.</summary>
public enum GpuReadingSource
{
    /// <summary>
    /// The samples the rollup job kept (<c>gpu_trace</c>: each minute's first and last sample and its idle-state
    /// changes), 3× fewer points than 10 s samples for steady GPUs, with the same cost, energy and idle as the raw samples.
    /// </summary>
    Rollup,

    /// <summary>Every raw sample (<c>gpu_sample</c>); allocations are taken per <see cref="AnalyticsWindowOptions.Resolution"/>.</summary>
    Raw,
}

/// <summary>How windows are cut and read. Bound from <c>Analytics:Windows</c>.</summary>
public sealed class AnalyticsWindowOptions
{
    public const string SectionName = "Analytics:Windows";

    /// <summary>The cost and idle window; a whole number of minutes that divides a day. Default 1 h.</summary>
    public TimeSpan WindowLength { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The buckets a GPU's allocation (pod, model, tenant) is taken in, from each bucket's first sample. Default 1 min.</summary>
    public TimeSpan Resolution { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Samples further apart than this are not bridged (energy, idle), and the sample before such a gap is not held.
    /// Default 2 min; at least 1 min with <see cref="GpuReadingSource.Rollup"/>.
    /// </summary>
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
