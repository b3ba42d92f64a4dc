using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// The query shape the anomaly signals read GPU minutes with (the cost window reads samples at their own times,
/// <see cref="FleetWindowReader"/>), columns in this order: mean power, mean utilization, mean
/// graphics activity, then the last value of <c>lastField</c> (the energy counter, the Xid code). From the raw
/// samples the store aggregates per <c>resolution</c>; from the 1-minute rollup (<c>gpu_minute</c>) at 1 minute the
/// points already are those minutes and are read as they are — InfluxDB answers that plain select far faster than
/// the same data through GROUP BY time (docs/performance.md).
/// </summary>
public static class GpuReadingQuery
{
    public static TimeSeriesQuery Build(string measurement, TimeSpan resolution, DateTimeOffset from, DateTimeOffset to, string lastField, params string[] groupBy)
    {
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(measurement);
        if (measurement == Measurements.GpuMinute && resolution == TimeSpan.FromMinutes(1))
        {
            builder.Field(Fields.PowerWatts, "power").Field(Fields.UtilizationPercent, "util").Field(Fields.GraphicsEngineActivityRatio, "gr")
                .Field(lastField, "last");
        }
        else
        {
            builder.Mean(Fields.PowerWatts, "power").Mean(Fields.UtilizationPercent, "util").Mean(Fields.GraphicsEngineActivityRatio, "gr")
                .Last(lastField, "last")
                .GroupByTime(resolution);
        }

        return builder.Between(from, to).GroupBy(groupBy).Build();
    }
}
