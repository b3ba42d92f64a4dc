using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Windows;

/// <summary>
/// Rolls raw GPU samples up per GPU, placement and minute into two measurements: <c>gpu_minute</c> (mean power,
/// utilization and graphics activity, the last energy reading and Xid code, the sample count; one point at the
/// minute's start, for dashboards, signals and long retention) and <c>gpu_trace</c> (the samples cost needs, at their
/// own times: see <see cref="GpuTrace"/>; which samples are kept depends on the idle threshold of the GPU's pool in the
/// pricing file, recorded on each minute's first kept sample as <c>idle_threshold_percent</c>). The raw samples of the
/// range are read once and summarised here. A range is replaced whole, so re-running is harmless; after changing a
/// pool's idle threshold, run <c>backfill</c> over the period to roll it up again.
/// </summary>
public sealed partial class GpuRollupService(ITimeSeriesStore store, PricingFile pricing, ILogger<GpuRollupService> logger)
{
    public static readonly TimeSpan Resolution = TimeSpan.FromMinutes(1);

    private static readonly string[] GroupTags = [Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.ServedModel, Tags.Namespace, Tags.Pod, Tags.Cluster, Tags.Tenant, Tags.MigInstance, Tags.MigProfile];

    /// <summary>Rolls up [start, end) (both on minute boundaries) and returns the number of minute points written.</summary>
    public async Task<int> RollupAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        if (start.Ticks % Resolution.Ticks != 0 || end.Ticks % Resolution.Ticks != 0 || end <= start)
        {
            throw new ArgumentException($"A rollup range must be whole minutes: [{start:o}, {end:o}).", nameof(start));
        }

        // Columns 0–3 are what FleetWindowReader.Reading reads; the Xid code is the fifth. Memory is read only so that a
        // sample with none of those still counts (the stores leave out rows whose selected fields are all empty):
        // nvidia-smi's MIG instance samples carry memory alone.
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Field(Fields.PowerWatts).Field(Fields.UtilizationPercent).Field(Fields.GraphicsEngineActivityRatio).Field(Fields.EnergyJoules).Field(Fields.XidErrors)
            .Field(Fields.MemoryUsedBytes)
            .Between(start, end)
            .GroupBy(GroupTags)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var minutes = new List<ILineProtocolPoint>();
        var trace = new List<ILineProtocolPoint>();
        var readings = new List<GpuReading>();
        foreach (ResultSeries series in result.Series)
        {
            double threshold = pricing.IdleThresholdsFor(series.Tags.TryGetValue(Tags.Pool, out string? pool) && pool.Length > 0 ? pool : null).UtilizationPercent;
            IReadOnlyList<ResultRow> rows = series.Rows;
            for (int first = 0; first < rows.Count;)
            {
                long minuteNs = rows[first].TimeNanoseconds - (((rows[first].TimeNanoseconds % MinuteNs) + MinuteNs) % MinuteNs);
                int next = first;
                readings.Clear();
                while (next < rows.Count && rows[next].TimeNanoseconds < minuteNs + MinuteNs)
                {
                    readings.Add(FleetWindowReader.Reading(rows[next]));
                    next++;
                }

                minutes.Add(new GpuMinutePoint(series.Tags, Summary.Of(rows, first, next), minuteNs));
                List<GpuTracePoint> kept = GpuTrace.Compress(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(readings), threshold);
                for (int k = 0; k < kept.Count; k++)
                {
                    trace.Add(new GpuTraceRecord(series.Tags, kept[k], k == 0 ? threshold : null));
                }

                first = next;
            }
        }

        // The store skips the delete of a range that holds no point (InfluxDbStore.DeleteAsync: influxd's range-delete bugs).
        var everything = new Dictionary<string, string>(StringComparer.Ordinal);
        await store.DeleteAsync(Measurements.GpuMinute, start, end, everything, cancellationToken);
        await store.DeleteAsync(Measurements.GpuTrace, start, end, everything, cancellationToken);
        await WindowWriter.WriteAsync(store, [.. minutes, .. trace], cancellationToken);
        LogRolledUp(logger, start, end, minutes.Count, trace.Count);
        return minutes.Count;
    }

    private const long MinuteNs = 60_000_000_000;

    /// <summary>One minute's means (of the values present), last energy reading and Xid code, and power sample count.</summary>
    private readonly record struct Summary(double? PowerWatts, double? UtilizationPercent, double? ActivityRatio, double? EnergyJoules, long Samples, long? Xid)
    {
        public static Summary Of(IReadOnlyList<ResultRow> rows, int from, int to)
        {
            double power = 0, util = 0, gr = 0;
            int powers = 0, utils = 0, grs = 0;
            double? energy = null;
            long? xid = null;
            for (int i = from; i < to; i++)
            {
                ResultRow row = rows[i];
                Add(row[0], ref power, ref powers);
                Add(row[1], ref util, ref utils);
                Add(row[2], ref gr, ref grs);
                energy = row[3].AsDouble() ?? energy;
                xid = row[4].IsNull ? xid : (long)row[4].Number;
            }

            return new Summary(Mean(power, powers), Mean(util, utils), Mean(gr, grs), energy, powers, xid);
        }

        private static void Add(ResultValue value, ref double sum, ref int count)
        {
            if (value.AsDouble() is double v)
            {
                sum += v;
                count++;
            }
        }

        private static double? Mean(double sum, int count) => count > 0 ? sum / count : null;
    }

    private sealed class GpuMinutePoint(IReadOnlyDictionary<string, string> tags, Summary summary, long timeNanoseconds) : ILineProtocolPoint
    {
        public bool WriteTo(LineProtocolWriter writer)
        {
            WriteTags(writer.Begin(Measurements.GpuMinute), tags);
            return writer
                .Field(Fields.EnergyJoules, summary.EnergyJoules)
                .Field(Fields.GraphicsEngineActivityRatio, summary.ActivityRatio)
                .Field(Fields.PowerWatts, summary.PowerWatts)
                .Field(Fields.SampleCount, summary.Samples)
                .Field(Fields.UtilizationPercent, summary.UtilizationPercent)
                .Field(Fields.XidErrors, summary.Xid)
                .End(timeNanoseconds);
        }
    }

    private sealed class GpuTraceRecord(IReadOnlyDictionary<string, string> tags, GpuTracePoint point, double? threshold) : ILineProtocolPoint
    {
        public bool WriteTo(LineProtocolWriter writer)
        {
            WriteTags(writer.Begin(Measurements.GpuTrace), tags);
            bool first = point.StepsSincePrevious == 0;
            bool dropped = point.StepsSincePrevious > 1;
            return writer
                .Field(Fields.CounterIncreaseSincePreviousJoules, first ? null : point.CounterIncreaseSincePreviousJoules)
                .Field(Fields.EnergyJoules, point.EnergyJoules)
                .Field(Fields.EnergySincePreviousJoules, first ? null : point.EnergySincePreviousJoules)
                .Field(Fields.HeldUtilizationPercent, dropped ? point.HeldUtilizationPercent : null)
                .Field(Fields.IdleThresholdPercent, threshold)
                .Field(Fields.PowerWatts, point.PowerWatts)
                .Field(Fields.SamplesSincePrevious, (long)point.StepsSincePrevious)
                .Field(Fields.UtilizationPercent, point.UtilizationPercent)
                .Field(Fields.UtilizationSamples, first ? point.UtilizationSamples : null)
                .Field(Fields.UtilizationSumPercent, first ? point.UtilizationSumPercent : null)
                .End(UnixTime.ToNanoseconds(point.Time));
        }
    }

    private static void WriteTags(LineProtocolWriter writer, IReadOnlyDictionary<string, string> tags)
    {
        foreach (string tag in SortedTags)
        {
            writer.Tag(tag, tags.TryGetValue(tag, out string? value) && value.Length > 0 ? value : null);
        }
    }

    private static readonly string[] SortedTags = [.. GroupTags.Order(StringComparer.Ordinal)];

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Rolled up [{Start:o}, {End:o}) into {Points} GPU minutes and {Kept} kept samples")]
    private static partial void LogRolledUp(ILogger logger, DateTimeOffset start, DateTimeOffset end, int points, int kept);
}
