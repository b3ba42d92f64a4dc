using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;

namespace ObservaCost.Analytics.Hosting;

/// <summary>The analytics feature as a whole. Bound from <c>Analytics</c>.</summary>
public sealed class AnalyticsOptions
{
    public const string SectionName = "Analytics";

    /// <summary>
    /// The pricing file (format in docs/pricing.md), required. A relative path is looked up in the current directory,
    /// then beside the application's binaries (where the collector ships its example file).
    /// </summary>
    public string? PricingFile { get; set; }

    /// <summary>Resolves <see cref="PricingFile"/> to the file that is read.</summary>
    public string ResolvePricingPath()
    {
        string path = PricingFile ?? throw new InvalidOperationException($"{SectionName}:{nameof(PricingFile)} is not set.");
        if (Path.IsPathRooted(path) || File.Exists(path))
        {
            return Path.GetFullPath(path);
        }

        string besideBinaries = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(besideBinaries) ? besideBinaries : Path.GetFullPath(path);
    }
}

/// <summary>
/// Checks <see cref="AnalyticsOptions"/>: the pricing file must exist and be valid, and every error the pricing
/// reader finds is listed with its JSON path, so a bad file stops the start with all of its problems at once.
/// </summary>
public sealed class AnalyticsOptionsValidator : IValidateOptions<AnalyticsOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalyticsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Key = AnalyticsOptions.SectionName + ":" + nameof(AnalyticsOptions.PricingFile);
        if (string.IsNullOrWhiteSpace(options.PricingFile))
        {
            return ValidateOptionsResult.Fail($"{Key} must name the pricing file (see docs/pricing.md).");
        }

        string path = options.ResolvePricingPath();
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ValidateOptionsResult.Fail($"{Key}: the pricing file {path} cannot be read: {ex.Message}");
        }

        return PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors, Path.GetDirectoryName(Path.GetFullPath(path)))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => $"{Key}: {path}: {e}"));
    }
}

/// <summary>Checks <see cref="AnalyticsWindowOptions"/> with the configuration key of each problem.</summary>
public sealed class AnalyticsWindowOptionsValidator : IValidateOptions<AnalyticsWindowOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalyticsWindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Section = AnalyticsWindowOptions.SectionName;
        var errors = new List<string>();
        if (options.WindowLength <= TimeSpan.Zero || options.WindowLength.Ticks % TimeSpan.TicksPerSecond != 0 || TimeSpan.TicksPerDay % options.WindowLength.Ticks != 0)
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.WindowLength)} must be a whole number of seconds that divides a day, not {options.WindowLength:c}.");
        }

        if (options.Resolution <= TimeSpan.Zero || options.Resolution > options.WindowLength
            || (options.WindowLength > TimeSpan.Zero && options.WindowLength.Ticks % options.Resolution.Ticks != 0))
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.Resolution)} must be positive and divide {nameof(AnalyticsWindowOptions.WindowLength)} ({options.WindowLength:c}), not {options.Resolution:c}.");
        }

        if (options.GpuSource == GpuReadingSource.Rollup && options.Resolution.Ticks % TimeSpan.TicksPerMinute != 0)
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.Resolution)} must be whole minutes when {Section}:{nameof(AnalyticsWindowOptions.GpuSource)} is Rollup (the rollup is per minute), not {options.Resolution:c}; set GpuSource to Raw for finer windows.");
        }

        if (options.MaxSampleGap <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.MaxSampleGap)} must be positive, not {options.MaxSampleGap:c}.");
        }
        else if (options.GpuSource == GpuReadingSource.Rollup && options.MaxSampleGap < TimeSpan.FromMinutes(1))
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.MaxSampleGap)} must be at least 00:01:00 when {Section}:{nameof(AnalyticsWindowOptions.GpuSource)} is Rollup (the rollup bridges every step inside a minute), not {options.MaxSampleGap:c}; set GpuSource to Raw for a shorter gap limit.");
        }

        if (options.Lateness < TimeSpan.Zero)
        {
            errors.Add($"{Section}:{nameof(AnalyticsWindowOptions.Lateness)} must not be negative, not {options.Lateness:c}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
