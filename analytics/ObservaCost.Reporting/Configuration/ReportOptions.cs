using Microsoft.Extensions.Options;

namespace ObservaCost.Reporting.Configuration;

/// <summary>Limits of the efficiency report. Bound from <c>Reports</c>.</summary>
public sealed class ReportOptions
{
    public const string SectionName = "Reports";

    /// <summary>The longest period one report covers (the previous period is as long again). Default 400 days.</summary>
    public TimeSpan MaxRange { get; set; } = TimeSpan.FromDays(400);

    /// <summary>The most anomaly events listed in a report (the counts cover them all). Default 200.</summary>
    public int MaxListedAnomalies { get; set; } = 200;
}

/// <summary>Checks <see cref="ReportOptions"/>, naming the key of each problem.</summary>
public sealed class ReportOptionsValidator : IValidateOptions<ReportOptions>
{
    public ValidateOptionsResult Validate(string? name, ReportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxRange <= TimeSpan.Zero || options.MaxRange > TimeSpan.FromDays(3660))
        {
            errors.Add($"{ReportOptions.SectionName}:{nameof(ReportOptions.MaxRange)} must be positive and at most 3660.00:00:00, not {options.MaxRange:c}.");
        }

        if (options.MaxListedAnomalies is < 0 or > 10_000)
        {
            errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ReportOptions.SectionName}:{nameof(ReportOptions.MaxListedAnomalies)} must be 0 to 10000, not {options.MaxListedAnomalies}."));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
