using Microsoft.Extensions.Options;
using ObservaCost.Reporting.Output;
using Quartz;

namespace ObservaCost.Analytics.Scheduling.Reports;

/// <summary>Which report a scheduled job writes: the previous complete UTC week (Monday to Monday) or month.</summary>
public enum ReportCadence
{
    Weekly,
    Monthly,
}

/// <summary>The scheduled report jobs. Bound from <c>Reports:Schedule</c>; both off by default.</summary>
public sealed class ReportScheduleOptions
{
    public const string SectionName = "Reports:Schedule";

    /// <summary>The weekly report (<c>Reports:Schedule:Weekly</c>): the previous Monday-to-Monday UTC week, Mondays at 06:00 UTC by default.</summary>
    public ScheduledReportOptions Weekly { get; set; } = new() { Cron = "0 0 6 ? * MON" };

    /// <summary>The monthly report (<c>Reports:Schedule:Monthly</c>): the previous UTC calendar month, on the 1st at 06:00 UTC by default.</summary>
    public ScheduledReportOptions Monthly { get; set; } = new() { Cron = "0 0 6 1 * ?" };

    public ScheduledReportOptions For(ReportCadence cadence) => cadence == ReportCadence.Weekly ? Weekly : Monthly;
}

/// <summary>One scheduled report.</summary>
public sealed class ScheduledReportOptions
{
    /// <summary>Off by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>Quartz cron (seconds first, UTC) of the job.</summary>
    public string Cron { get; set; } = "0 0 6 ? * MON";

    /// <summary>The formats written, comma-separated (any registered report format). Default <c>json,csv,md</c>.</summary>
    public string Formats { get; set; } = "json,csv,md";

    /// <summary>The directory the files go to (created when missing); required when enabled.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Optional: each file is also POSTed here (body = the file, its content type, <c>Content-Disposition</c> with the file name).</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Tries per file when the webhook fails (1–10). Default 3.</summary>
    public int WebhookAttempts { get; set; } = 3;

    /// <summary>The wait between tries. Default 5 s.</summary>
    public TimeSpan WebhookRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time limit of one POST. Default 30 s.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The formats, trimmed and lower case.</summary>
    public IReadOnlyList<string> FormatList => [.. Formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => f.ToLowerInvariant()).Distinct(StringComparer.Ordinal)];
}

/// <summary>Checks <see cref="ReportScheduleOptions"/>, naming the key of every problem; the formats against the registered writers.</summary>
public sealed class ReportScheduleOptionsValidator(ReportWriters writers) : IValidateOptions<ReportScheduleOptions>
{
    public ValidateOptionsResult Validate(string? name, ReportScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        Check(errors, nameof(ReportScheduleOptions.Weekly), options.Weekly);
        Check(errors, nameof(ReportScheduleOptions.Monthly), options.Monthly);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private void Check(List<string> errors, string cadence, ScheduledReportOptions o)
    {
        string key = $"{ReportScheduleOptions.SectionName}:{cadence}";
        if (string.IsNullOrWhiteSpace(o.Cron) || !CronExpression.TryParse(o.Cron, out _))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.Cron)} is not a valid Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year]): '{o.Cron}'.");
        }

        if (!o.Enabled)
        {
            return;
        }

        if (o.FormatList.Count == 0)
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.Formats)} must name at least one format ({string.Join(", ", writers.Formats)}).");
        }

        foreach (string format in o.FormatList.Where(f => !writers.TryGet(f, out _)))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.Formats)}: {writers.UnknownFormatMessage(format)}.");
        }

        if (string.IsNullOrWhiteSpace(o.OutputDirectory))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.OutputDirectory)} must name the directory the reports are written to when {key}:{nameof(ScheduledReportOptions.Enabled)} is true.");
        }

        if (o.WebhookUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.WebhookUrl)} must be an absolute http(s) URL, not '{url}'.");
        }

        if (o.WebhookAttempts is < 1 or > 10)
        {
            errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{key}:{nameof(ScheduledReportOptions.WebhookAttempts)} must be 1 to 10, not {o.WebhookAttempts}."));
        }

        if (o.WebhookRetryDelay < TimeSpan.Zero || o.WebhookRetryDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.WebhookRetryDelay)} must be between 0 and 00:10:00, not {o.WebhookRetryDelay:c}.");
        }

        if (o.WebhookTimeout <= TimeSpan.Zero || o.WebhookTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{key}:{nameof(ScheduledReportOptions.WebhookTimeout)} must be positive and at most 00:10:00, not {o.WebhookTimeout:c}.");
        }
    }
}
