namespace ObservaCost.Analytics.Scheduling;

/// <summary>
/// The periods a cursor job computes on one fire: from the one after its cursor up to the last due period, bounded
/// by the maximum catch-up. Periods are aligned to the Unix epoch (so days start at UTC midnight).
/// </summary>
/// <param name="Start">The first period's start.</param>
/// <param name="Step">The period length.</param>
/// <param name="Count">How many periods are due (0: nothing to do).</param>
/// <param name="SkippedFrom">Set when the cursor was older than the catch-up bound: periods from here to <paramref name="Start"/> are skipped.</param>
public readonly record struct PeriodPlan(DateTimeOffset Start, TimeSpan Step, int Count, DateTimeOffset? SkippedFrom)
{
    public DateTimeOffset End => Start + (Step * Count);

    public DateTimeOffset PeriodStart(int index) => Start + (Step * index);

    /// <summary>Plans the periods due at <paramref name="dueUntil"/> (the end of the last period that may be computed).</summary>
    /// <param name="completedUntil">The cursor: every period ending at or before it is done; null when the job never ran.</param>
    /// <param name="dueUntil">Periods must end at or before this time.</param>
    /// <param name="step">The period length.</param>
    /// <param name="initialLookback">With no cursor, start this long before <paramref name="dueUntil"/>.</param>
    /// <param name="maxCatchUp">Never start more than this long before <paramref name="dueUntil"/>.</param>
    public static PeriodPlan Create(DateTimeOffset? completedUntil, DateTimeOffset dueUntil, TimeSpan step, TimeSpan initialLookback, TimeSpan maxCatchUp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        DateTimeOffset due = AlignDown(dueUntil, step);
        DateTimeOffset start = completedUntil is { } cursor ? AlignDown(cursor, step) : AlignDown(due - initialLookback, step);
        DateTimeOffset floor = AlignDown(due - maxCatchUp, step);
        DateTimeOffset? skipped = null;
        if (start < floor)
        {
            skipped = start;
            start = floor;
        }

        long count = due > start ? (due - start).Ticks / step.Ticks : 0;
        return new PeriodPlan(start, step, (int)Math.Min(count, int.MaxValue), skipped);
    }

    /// <summary>The start of the period of length <paramref name="step"/> that holds <paramref name="time"/> (UTC, epoch-aligned).</summary>
    public static DateTimeOffset AlignDown(DateTimeOffset time, TimeSpan step)
    {
        long sinceEpoch = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long aligned = sinceEpoch - (((sinceEpoch % step.Ticks) + step.Ticks) % step.Ticks);
        return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + aligned, TimeSpan.Zero);
    }

    /// <summary>The first period boundary at or after <paramref name="time"/>.</summary>
    public static DateTimeOffset AlignUp(DateTimeOffset time, TimeSpan step)
    {
        DateTimeOffset down = AlignDown(time, step);
        return down == time ? down : down + step;
    }
}
