using System.Globalization;
using ObservaCost.Analytics.Windows;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>
/// Recomputes a time range with the same services as the jobs: the 1-minute rollup over the range (an hour per
/// store query), then every cost window the range touches, then every UTC day it touches. Each step replaces its
/// points, so a backfill can be run again, or over a range the jobs also compute, and leaves one computation's
/// points. It does not move the jobs' cursors. Progress goes to a writer (stderr from the command line).
/// </summary>
public sealed class AnalyticsBackfill(GpuRollupService rollup, CostWindowService costs, KpiRollupService kpis, AnalyticsWindowOptions windows)
{
    private static readonly TimeSpan RollupChunk = TimeSpan.FromHours(1);

    /// <summary>What a backfill computed.</summary>
    public sealed record Summary(int RollupRanges, int Windows, int Days, TimeSpan Elapsed);

    public async Task<Summary> RunAsync(DateTimeOffset from, DateTimeOffset to, BackfillProgress progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (to <= from)
        {
            throw new ArgumentException($"backfill needs --from before --to ({from:o} is not before {to:o}).", nameof(to));
        }

        DateTimeOffset windowStart = PeriodPlan.AlignDown(from, windows.WindowLength);
        DateTimeOffset windowEnd = PeriodPlan.AlignUp(to, windows.WindowLength);

        // The windows read their look-around on each side, so the rollup covers it too.
        DateTimeOffset rollupStart = PeriodPlan.AlignDown(windowStart - costs.LookAround, GpuRollupService.Resolution);
        DateTimeOffset rollupEnd = PeriodPlan.AlignUp(windowEnd + costs.LookAround, GpuRollupService.Resolution);
        DateTimeOffset dayStart = PeriodPlan.AlignDown(from, KpiRollupService.Day);
        DateTimeOffset dayEnd = PeriodPlan.AlignUp(to, KpiRollupService.Day);
        int rollupRanges = (int)Math.Ceiling((rollupEnd - rollupStart) / RollupChunk);
        int windowCount = (int)((windowEnd - windowStart) / windows.WindowLength);
        int dayCount = (int)((dayEnd - dayStart) / KpiRollupService.Day);
        progress.Begin(rollupRanges + windowCount + dayCount);

        for (DateTimeOffset start = rollupStart; start < rollupEnd; start += RollupChunk)
        {
            DateTimeOffset end = start + RollupChunk < rollupEnd ? start + RollupChunk : rollupEnd;
            await rollup.RollupAsync(start, end, cancellationToken);
            progress.Step("rollup", start);
        }

        for (DateTimeOffset start = windowStart; start < windowEnd; start += windows.WindowLength)
        {
            await costs.ComputeAndWriteAsync(start, cancellationToken);
            progress.Step("window", start);
        }

        for (DateTimeOffset start = dayStart; start < dayEnd; start += KpiRollupService.Day)
        {
            await kpis.RollupDayAsync(start, cancellationToken);
            progress.Step("day", start);
        }

        return new Summary(rollupRanges, windowCount, dayCount, progress.Elapsed);
    }
}

/// <summary>
/// A progress bar: step i/n, elapsed, ETA. On a terminal it redraws one line; when the writer is redirected it
/// writes a line per update, at most one every <see cref="MinInterval"/> (plus the last), so a log stays bounded.
/// </summary>
public sealed class BackfillProgress(TextWriter writer, bool redraw, TimeProvider clock)
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(500);
    private const int BarWidth = 30;

    private long _started;
    private long _lastWritten;
    private int _total;
    private int _done;

    public TimeSpan Elapsed => clock.GetElapsedTime(_started);

    public void Begin(int total)
    {
        _total = total;
        _done = 0;
        _started = clock.GetTimestamp();
        _lastWritten = long.MinValue;
    }

    public void Step(string unit, DateTimeOffset periodStart)
    {
        _done++;
        long now = clock.GetTimestamp();
        bool last = _done == _total;
        if (!last && _lastWritten != long.MinValue && clock.GetElapsedTime(_lastWritten, now) < MinInterval)
        {
            return;
        }

        _lastWritten = now;
        TimeSpan elapsed = clock.GetElapsedTime(_started, now);
        TimeSpan eta = TimeSpan.FromTicks(elapsed.Ticks / _done * (_total - _done));
        int filled = _total == 0 ? BarWidth : _done * BarWidth / _total;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', BarWidth - filled)}] {_done}/{_total} {unit} {periodStart:yyyy-MM-ddTHH:mm:ssZ} elapsed {elapsed:hh\\:mm\\:ss} ETA {eta:hh\\:mm\\:ss}");
        if (redraw)
        {
            writer.Write('\r' + line + (last ? Environment.NewLine : string.Empty));
        }
        else
        {
            writer.WriteLine(line);
        }

        writer.Flush();
    }
}
