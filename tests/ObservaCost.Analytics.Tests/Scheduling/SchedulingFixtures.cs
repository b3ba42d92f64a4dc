using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>Shared pieces of the scheduling tests: a fleet written to a store, stored windows read back, log lines.</summary>
internal static partial class SchedulingFixtures
{
    public static string PricingFile => Path.Combine(RepoPaths.Root, "docs", "pricing.example.json");

    /// <summary>Two H100 GPUs on one node, a sample every <paramref name="every"/> over [from, to).</summary>
    public static async Task WriteFleetAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, TimeSpan every)
    {
        using var writer = new LineProtocolWriter();
        int i = 0;
        for (DateTimeOffset t = from; t < to; t += every, i++)
        {
            for (int g = 0; g < 2; g++)
            {
                new GpuSample
                {
                    Time = t, Node = "node-0", GpuIndex = g, GpuUuid = "GPU-" + g.ToString(CultureInfo.InvariantCulture), GpuModel = "H100", Pool = "chat",
                    PowerWatts = 100 + (i % 7 * 50) + g, UtilizationPercent = i % 5 * 20,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }

    /// <summary>Every stored cost, idle and KPI point in [from, to), field by field, in a stable order.</summary>
    public static async Task<string> DumpAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to)
    {
        var lines = new List<string>();
        foreach (string measurement in new[] { Measurements.CostWindow, Measurements.IdleWindow, Measurements.KpiWindow, Measurements.GpuMinute })
        {
            foreach (string field in new[] { Fields.CostUsd, Fields.GpuHours, Fields.IdleCostUsd, Fields.FacilityEnergyJoules, Fields.PowerWatts, Fields.SampleCount })
            {
                QueryResult result = await store.QueryAsync(TimeSeriesQueryBuilder.From(measurement).Field(field).Between(from, to)
                    .GroupBy(Tags.Model, Tags.Pool, Tags.Node, Tags.GpuModel, Tags.GpuUuid, Tags.Scope, Tags.Key, Tags.Window).Build());
                foreach (ResultSeries series in result.Series)
                {
                    foreach (ResultRow row in series.Rows.Where(r => !r[0].IsNull))
                    {
                        lines.Add($"{measurement} {series.TagKey} {field}={row[0]} @{row.TimeNanoseconds}");
                    }
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }

    /// <summary>The GPU-hours stored per cost window start (window tag <paramref name="windowTag"/>).</summary>
    public static async Task<Dictionary<DateTimeOffset, double>> GpuHoursPerWindowAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, string windowTag)
    {
        QueryResult result = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.CostWindow).Field(Fields.GpuHours)
            .Between(from, to).WhereTag(Tags.Window, windowTag).GroupBy(Tags.Node, Tags.GpuModel, Tags.Pool, Tags.Model, Tags.Tenant).Build());
        var hours = new Dictionary<DateTimeOffset, double>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows.Where(r => !r[0].IsNull))
            {
                var start = DateTimeOffset.FromUnixTimeMilliseconds(row.TimeNanoseconds / 1_000_000);
                hours[start] = hours.GetValueOrDefault(start) + row[0].Number;
            }
        }

        return hours;
    }

    /// <summary>The periods a job logged as computed ("cost-window computed [start, end) ..."), in log order.</summary>
    public static List<DateTimeOffset> Computed(IEnumerable<string> lines, string job) =>
        lines.Select(l => ComputedLine().Match(l)).Where(m => m.Success && m.Groups["job"].Value == job)
            .Select(m => DateTimeOffset.Parse(m.Groups["start"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal))
            .ToList();

    [GeneratedRegex(@"(?<job>[a-z-]+) computed \[(?<start>[^,]+), ")]
    private static partial Regex ComputedLine();
}

/// <summary>Keeps the messages logged in the process under test (bounded), for tests that read the product's log.</summary>
internal sealed class CapturedLog : ILoggerProvider
{
    private const int Limit = 10_000;
    private readonly ConcurrentQueue<(string Category, string Message)> _entries = new();

    public IReadOnlyList<string> Lines => [.. _entries.Select(e => e.Message)];

    /// <summary>The messages with the category of the logger that wrote them.</summary>
    public IReadOnlyList<(string Category, string Message)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && owner._entries.Count < Limit)
            {
                owner._entries.Enqueue((category, formatter(state, exception)));
            }
        }
    }
}
