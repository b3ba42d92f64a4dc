using System.Collections.Concurrent;

namespace ObservaCost.Collector.Pipeline;

/// <summary>
/// Rate-limits warnings about repeated bad input: at most one per key per interval, with the number suppressed since.
/// </summary>
public sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private readonly ConcurrentDictionary<string, (long LastTimestamp, long Suppressed)> _keys = new(StringComparer.Ordinal);

    /// <summary>True if a warning for <paramref name="key"/> may be logged now; <paramref name="suppressed"/> tells how many were held back.</summary>
    public bool ShouldLog(string key, out long suppressed)
    {
        long now = time.GetTimestamp();
        bool log = false;
        long held = 0;
        _keys.AddOrUpdate(
            key,
            _ =>
            {
                log = true;
                return (now, 0);
            },
            (_, state) =>
            {
                if (time.GetElapsedTime(state.LastTimestamp, now) >= interval)
                {
                    log = true;
                    held = state.Suppressed;
                    return (now, 0);
                }

                log = false;
                return (state.LastTimestamp, state.Suppressed + 1);
            });
        suppressed = held;
        return log;
    }
}
