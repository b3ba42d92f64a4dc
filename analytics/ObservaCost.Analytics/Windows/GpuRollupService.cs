using Microsoft.Extensions.Logging;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Windows;

/// <summary>
/// Rolls raw GPU samples up to 1-minute aggregates (<c>gpu_minute</c>: mean power, utilization and graphics
/// activity, the last energy reading and Xid code, the sample count) per GPU and placement, computed in the store. Dashboards
/// and long retention read these instead of the raw samples; a range is replaced whole, so re-running is harmless.
/// </summary>
public sealed partial class GpuRollupService(ITimeSeriesStore store, ILogger<GpuRollupService> logger)
{
    public static readonly TimeSpan Resolution = TimeSpan.FromMinutes(1);

    private static readonly string[] GroupTags = [Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.ServedModel, Tags.Namespace, Tags.Pod, Tags.Cluster, Tags.Tenant];

    /// <summary>Rolls up [start, end) (both on minute boundaries) and returns the number of minute points written.</summary>
    public async Task<int> RollupAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        if (start.Ticks % Resolution.Ticks != 0 || end.Ticks % Resolution.Ticks != 0 || end <= start)
        {
            throw new ArgumentException($"A rollup range must be whole minutes: [{start:o}, {end:o}).", nameof(start));
        }

        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Mean(Fields.PowerWatts, "power").Mean(Fields.UtilizationPercent, "util").Mean(Fields.GraphicsEngineActivityRatio, "gr")
            .Last(Fields.EnergyJoules, "energy").Count(Fields.PowerWatts, "samples").Last(Fields.XidErrors, "xid")
            .Between(start, end)
            .GroupByTime(Resolution)
            .GroupBy(GroupTags)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var minutes = new List<ILineProtocolPoint>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                minutes.Add(new GpuMinutePoint(series.Tags, row));
            }
        }

        await store.DeleteAsync(Measurements.GpuMinute, start, end, new Dictionary<string, string>(StringComparer.Ordinal), cancellationToken);
        await WindowWriter.WriteAsync(store, minutes, cancellationToken);
        LogRolledUp(logger, start, end, minutes.Count);
        return minutes.Count;
    }

    private sealed class GpuMinutePoint(IReadOnlyDictionary<string, string> tags, ResultRow row) : ILineProtocolPoint
    {
        public bool WriteTo(LineProtocolWriter writer)
        {
            writer.Begin(Measurements.GpuMinute);
            foreach (string tag in GroupTags.Order(StringComparer.Ordinal))
            {
                writer.Tag(tag, tags.TryGetValue(tag, out string? value) && value.Length > 0 ? value : null);
            }

            return writer
                .Field(Fields.EnergyJoules, row[3].AsDouble())
                .Field(Fields.GraphicsEngineActivityRatio, row[2].AsDouble())
                .Field(Fields.PowerWatts, row[0].AsDouble())
                .Field(Fields.SampleCount, row[4].IsNull ? 0 : (long)row[4].Number)
                .Field(Fields.UtilizationPercent, row[1].AsDouble())
                .Field(Fields.XidErrors, row[5].IsNull ? null : (long)row[5].Number)
                .End(row.TimeNanoseconds);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Rolled up [{Start:o}, {End:o}) into {Points} GPU minutes")]
    private static partial void LogRolledUp(ILogger logger, DateTimeOffset start, DateTimeOffset end, int points);
}
