using Microsoft.Extensions.Options;
using Quartz;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>When the analytics jobs run and where Quartz keeps its state. Bound from <c>Analytics:Scheduler</c>.</summary>
public sealed class SchedulerOptions
{
    public const string SectionName = "Analytics:Scheduler";

    /// <summary>Quartz cron (seconds first, UTC) of the 1-minute GPU rollup. Default every minute.</summary>
    public string RollupCron { get; set; } = "0 * * * * ?";

    /// <summary>Quartz cron of the cost and idle window job. Default every 5 minutes.</summary>
    public string CostCron { get; set; } = "0 0/5 * * * ?";

    /// <summary>Quartz cron of the daily KPI rollup. Default hourly at minute 20.</summary>
    public string KpiCron { get; set; } = "0 20 * * * ?";

    /// <summary>Quartz cron of the anomaly job (after each cost window). Default every 5 minutes, a minute after the cost job.</summary>
    public string AnomalyCron { get; set; } = "0 1/5 * * * ?";

    /// <summary>Quartz cron of the demand forecast. Default daily at 00:30 UTC.</summary>
    public string ForecastCron { get; set; } = "0 30 0 * * ?";

    /// <summary>How far back a job catches up after downtime; older missed periods are left to <c>backfill</c>. Default 7 days.</summary>
    public TimeSpan MaxCatchUp { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Where a job with no cursor (first run; every start on the in-memory scheduler) begins: this long before the
    /// last due period. Default 1 day, so a single machine restarted within a day computes what it missed.
    /// </summary>
    public TimeSpan InitialLookback { get; set; } = TimeSpan.FromDays(1);

    /// <summary>PostgreSQL connection string: set, Quartz runs clustered on the ADO job store; unset, in memory.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>How often a clustered node records that it is alive. Default 7.5 s.</summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(7.5);

    /// <summary>How long past a missed check-in the other nodes wait before recovering a node's work. Default 7.5 s.</summary>
    public TimeSpan ClusterCheckinMisfireThreshold { get; set; } = TimeSpan.FromSeconds(7.5);

    /// <summary>How late a fire may be before it is a misfire (then fired once, see docs/analytics.md). Default 1 min.</summary>
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Checks <see cref="SchedulerOptions"/>, reporting every problem with its configuration key.</summary>
public sealed class SchedulerOptionsValidator : IValidateOptions<SchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        CheckCron(errors, nameof(SchedulerOptions.RollupCron), options.RollupCron);
        CheckCron(errors, nameof(SchedulerOptions.CostCron), options.CostCron);
        CheckCron(errors, nameof(SchedulerOptions.KpiCron), options.KpiCron);
        CheckCron(errors, nameof(SchedulerOptions.AnomalyCron), options.AnomalyCron);
        CheckCron(errors, nameof(SchedulerOptions.ForecastCron), options.ForecastCron);
        Positive(errors, nameof(SchedulerOptions.MaxCatchUp), options.MaxCatchUp);
        if (options.InitialLookback < TimeSpan.Zero || options.InitialLookback > options.MaxCatchUp)
        {
            errors.Add($"{SchedulerOptions.SectionName}:{nameof(SchedulerOptions.InitialLookback)} must be between 0 and {nameof(SchedulerOptions.MaxCatchUp)} ({options.MaxCatchUp:c}), not {options.InitialLookback:c}.");
        }

        Positive(errors, nameof(SchedulerOptions.ClusterCheckinInterval), options.ClusterCheckinInterval);
        Positive(errors, nameof(SchedulerOptions.ClusterCheckinMisfireThreshold), options.ClusterCheckinMisfireThreshold);
        Positive(errors, nameof(SchedulerOptions.MisfireThreshold), options.MisfireThreshold);
        if (options.PostgresConnectionString is { } connection)
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(connection);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{SchedulerOptions.SectionName}:{nameof(SchedulerOptions.PostgresConnectionString)} is not a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckCron(List<string> errors, string key, string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron) || !CronExpression.TryParse(cron, out _))
        {
            errors.Add($"{SchedulerOptions.SectionName}:{key} is not a valid Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year]): '{cron}'.");
        }
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{SchedulerOptions.SectionName}:{key} must be positive, not {value:c}.");
        }
    }
}
