using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Idle;

/// <summary>A stretch of time, [Start, End).</summary>
public readonly record struct TimeInterval(DateTimeOffset Start, DateTimeOffset End)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>What one GPU did in one window: how long it was observed and when it sat idle.</summary>
public sealed record IdleResult(TimeSpan ObservedDuration, TimeSpan IdleDuration, IReadOnlyList<TimeInterval> IdleIntervals)
{
    /// <summary>Idle time over observed time, 0–1 (0 when nothing was observed).</summary>
    public double IdleShare => ObservedDuration > TimeSpan.Zero ? IdleDuration / ObservedDuration : 0;
}

/// <summary>
/// Finds idle GPU time: utilization (graphics-engine activity where the source has it, else GPU utilization, in %)
/// below <see cref="IdleThresholds.UtilizationPercent"/> without a break for at least
/// <see cref="IdleThresholds.MinimumDuration"/>. Idle is found whether or not the GPU is allocated.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A sample holds until the next one when that comes within <c>maxGap</c>. The last sample before a longer gap,
/// and the last sample of all, is not held: the time after it is unobserved, neither idle nor busy, and it breaks an
/// idle run — the same edge rule as energy, which is the trapezoid over the actual sample times. A GPU sampled every
/// 10 s at 2 % from 10:00:00 to 10:59:50 is idle 10:00:00–10:59:50 (59 min 50 s).</item>
/// <item>A run is qualified on its whole length, then clipped to the window: a GPU idle from 09:58 to 10:10 with a
/// 5-minute minimum is idle 09:58–10:00 in the 09:00 window and 10:00–10:10 in the 10:00 window. Pass samples from
/// <c>MinimumDuration</c> (and at least <c>maxGap</c>) before the window to as much after it so runs at the edges are
/// judged whole.</item>
/// </list>
/// </remarks>
public static class IdleDetector
{
    public static IdleResult Detect(ReadOnlySpan<TimedValue> utilizationPercent, DateTimeOffset windowStart, DateTimeOffset windowEnd, IdleThresholds thresholds, TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        if (windowEnd <= windowStart)
        {
            throw new ArgumentException("The window must end after it starts.", nameof(windowEnd));
        }

        if (maxGap <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(maxGap), maxGap, "The gap limit must be positive.");
        }

        var idle = new List<TimeInterval>();
        TimeSpan observed = TimeSpan.Zero;
        DateTimeOffset? runStart = null;
        DateTimeOffset runEnd = default;
        for (int i = 0; i < utilizationPercent.Length; i++)
        {
            TimedValue sample = utilizationPercent[i];
            if (i > 0 && sample.Time < utilizationPercent[i - 1].Time)
            {
                throw new ArgumentException("Samples must be in time order.", nameof(utilizationPercent));
            }

            DateTimeOffset next = i + 1 < utilizationPercent.Length ? utilizationPercent[i + 1].Time : sample.Time;
            DateTimeOffset heldUntil = next - sample.Time > maxGap ? sample.Time : next; // not held across a gap, nor after the last sample

            observed += Overlap(sample.Time, heldUntil, windowStart, windowEnd);
            bool below = double.IsFinite(sample.Value) && sample.Value < thresholds.UtilizationPercent;
            if (below && runStart is not null && sample.Time <= runEnd)
            {
                runEnd = heldUntil > runEnd ? heldUntil : runEnd;
            }
            else
            {
                Close(runStart, runEnd);
                runStart = below ? sample.Time : null;
                runEnd = heldUntil;
            }

            if (heldUntil < next)
            {
                // Unobserved time follows: the run cannot continue across it.
                Close(runStart, runEnd);
                runStart = null;
            }
        }

        Close(runStart, runEnd);
        TimeSpan idleDuration = idle.Aggregate(TimeSpan.Zero, (sum, interval) => sum + interval.Duration);
        return new IdleResult(observed, idleDuration, idle);

        void Close(DateTimeOffset? start, DateTimeOffset end)
        {
            if (start is not { } s || end - s < thresholds.MinimumDuration)
            {
                return;
            }

            DateTimeOffset clippedStart = s > windowStart ? s : windowStart;
            DateTimeOffset clippedEnd = end < windowEnd ? end : windowEnd;
            if (clippedEnd > clippedStart)
            {
                idle.Add(new TimeInterval(clippedStart, clippedEnd));
            }
        }
    }

    private static TimeSpan Overlap(DateTimeOffset start, DateTimeOffset end, DateTimeOffset windowStart, DateTimeOffset windowEnd)
    {
        DateTimeOffset s = start > windowStart ? start : windowStart;
        DateTimeOffset e = end < windowEnd ? end : windowEnd;
        return e > s ? e - s : TimeSpan.Zero;
    }
}
