using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Signals;

namespace ObservaCost.Analytics.Hosting;

/// <summary>Shared checks that name the configuration key of each problem.</summary>
internal static class OptionChecks
{
    public static void Positive(List<string> errors, string section, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{section}:{key} must be positive, not {value:c}.");
        }
    }

    public static void Between(List<string> errors, string section, string key, double value, double low, double high)
    {
        if (!(value >= low && value <= high))
        {
            errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{section}:{key} must be between {low} and {high}, not {value}."));
        }
    }

    public static ValidateOptionsResult Result(List<string> errors) => errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}

public sealed class AnomalyOptionsValidator : IValidateOptions<AnomalyOptions>
{
    public ValidateOptionsResult Validate(string? name, AnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = AnomalyOptions.SectionName;
        OptionChecks.Positive(errors, S, nameof(options.MinuteHistory), options.MinuteHistory);
        OptionChecks.Positive(errors, S, nameof(options.WindowHistory), options.WindowHistory);
        OptionChecks.Between(errors, S, nameof(options.Threshold), options.Threshold, 0, 1);
        OptionChecks.Between(errors, S, nameof(options.ResonanceThreshold), options.ResonanceThreshold, 0, 1);
        if (!Enum.IsDefined(options.Detector))
        {
            errors.Add($"{S}:{nameof(options.Detector)} must be {string.Join(" or ", Enum.GetNames<AnomalyDetectorKind>())}, not {options.Detector}.");
        }
        OptionChecks.Between(errors, S, nameof(options.Sensitivity), options.Sensitivity, 0, 100);
        OptionChecks.Between(errors, S, nameof(options.CriticalScore), options.CriticalScore, 0, 1);
        if (options.MinuteHistory.Ticks % TimeSpan.TicksPerMinute != 0)
        {
            errors.Add($"{S}:{nameof(options.MinuteHistory)} must be whole minutes, not {options.MinuteHistory:c}.");
        }

        return OptionChecks.Result(errors);
    }
}

public sealed class CrossSignalOptionsValidator : IValidateOptions<CrossSignalOptions>
{
    public ValidateOptionsResult Validate(string? name, CrossSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = CrossSignalOptions.SectionName;
        OptionChecks.Positive(errors, S, nameof(options.ZombieMinimumDuration), options.ZombieMinimumDuration);
        OptionChecks.Positive(errors, S, nameof(options.UnusedAllocationDuration), options.UnusedAllocationDuration);
        OptionChecks.Positive(errors, S, nameof(options.XidComparisonSpan), options.XidComparisonSpan);
        OptionChecks.Between(errors, S, nameof(options.HighPowerFraction), options.HighPowerFraction, 0, 1);
        OptionChecks.Between(errors, S, nameof(options.MinimumPowerRangeWatts), options.MinimumPowerRangeWatts, 0, 10_000);
        OptionChecks.Between(errors, S, nameof(options.DriftWindows), options.DriftWindows, 4, 10_000);
        OptionChecks.Between(errors, S, nameof(options.DriftRelativeChange), options.DriftRelativeChange, 0, 100);
        OptionChecks.Between(errors, S, nameof(options.SteadyUtilizationVariation), options.SteadyUtilizationVariation, 0, 10);
        OptionChecks.Between(errors, S, nameof(options.XidThroughputDrop), options.XidThroughputDrop, 0, 1);
        return OptionChecks.Result(errors);
    }
}

public sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = AlertOptions.SectionName;
        if (options.WebhookUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{S}:{nameof(options.WebhookUrl)} must be an absolute http(s) URL, not '{url}'.");
        }

        OptionChecks.Positive(errors, S, nameof(options.Cooldown), options.Cooldown);
        OptionChecks.Positive(errors, S, nameof(options.Timeout), options.Timeout);
        OptionChecks.Between(errors, S, nameof(options.MaxTrackedKeys), options.MaxTrackedKeys, 1, 10_000_000);
        OptionChecks.Between(errors, S, nameof(options.MaxAlertsPerMessage), options.MaxAlertsPerMessage, 1, 1_000);
        return OptionChecks.Result(errors);
    }
}

public sealed class ForecastOptionsValidator : IValidateOptions<ForecastOptions>
{
    public ValidateOptionsResult Validate(string? name, ForecastOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string S = ForecastOptions.SectionName;
        OptionChecks.Positive(errors, S, nameof(options.History), options.History);
        OptionChecks.Between(errors, S, nameof(options.HorizonHours), options.HorizonHours, 1, ForecastOptions.MaxHorizonHours);
        OptionChecks.Between(errors, S, nameof(options.TargetUtilization), options.TargetUtilization, 0.01, 1);
        OptionChecks.Between(errors, S, nameof(options.MinimumHistoryHours), options.MinimumHistoryHours, 24, 24 * 366);
        if (options.RetrainInterval < TimeSpan.FromHours(1) || options.RetrainInterval > TimeSpan.FromDays(366))
        {
            errors.Add($"{S}:{nameof(options.RetrainInterval)} must be between 01:00:00 and 366.00:00:00, not {options.RetrainInterval:c}.");
        }

        if (string.IsNullOrWhiteSpace(options.ModelDirectory))
        {
            errors.Add($"{S}:{nameof(options.ModelDirectory)} is empty: the directory the global forecast model is kept in.");
        }

        if (options.History.TotalHours < options.MinimumHistoryHours)
        {
            errors.Add($"{S}:{nameof(options.History)} ({options.History:c}) is shorter than {nameof(options.MinimumHistoryHours)} ({options.MinimumHistoryHours} h).");
        }

        return OptionChecks.Result(errors);
    }
}
