namespace ObservaCost.Collector.Tests.Support;

/// <summary>
/// A clock that reads a chosen instant and runs on from it at wall-clock speed, and that a test can move forward
/// (<see cref="JumpTo"/>). Timers and timestamps are the system's, so delays inside the host still elapse: only what
/// the host reads as "now" (close watermarks, ingest time limits) is moved.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public ShiftedTimeProvider(DateTimeOffset now) => _offsetTicks = now.UtcTicks - System.GetUtcNow().UtcTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>Makes "now" <paramref name="now"/>; never backwards.</summary>
    public void JumpTo(DateTimeOffset now)
    {
        long offset = now.UtcTicks - System.GetUtcNow().UtcTicks;
        ArgumentOutOfRangeException.ThrowIfLessThan(offset, Interlocked.Read(ref _offsetTicks), nameof(now));
        Interlocked.Exchange(ref _offsetTicks, offset);
    }
}
