namespace ObservaCost.Storage.LineProtocol;

/// <summary>Timestamp precision of written line protocol.</summary>
public enum WritePrecision
{
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
}

public static class WritePrecisionExtensions
{
    /// <summary>The v1 <c>precision</c> query value (n, u, ms, s).</summary>
    public static string ToV1Parameter(this WritePrecision precision) => precision switch
    {
        WritePrecision.Nanoseconds => "n",
        WritePrecision.Microseconds => "u",
        WritePrecision.Milliseconds => "ms",
        WritePrecision.Seconds => "s",
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };

    /// <summary>The v2 <c>precision</c> query value (ns, us, ms, s).</summary>
    public static string ToV2Parameter(this WritePrecision precision) => precision switch
    {
        WritePrecision.Nanoseconds => "ns",
        WritePrecision.Microseconds => "us",
        WritePrecision.Milliseconds => "ms",
        WritePrecision.Seconds => "s",
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };

    /// <summary>Nanoseconds in one unit of the precision.</summary>
    public static long NanosecondsPerUnit(this WritePrecision precision) => precision switch
    {
        WritePrecision.Nanoseconds => 1,
        WritePrecision.Microseconds => 1_000,
        WritePrecision.Milliseconds => 1_000_000,
        WritePrecision.Seconds => 1_000_000_000,
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };

    /// <summary>Converts nanoseconds to this precision, rounding toward negative infinity.</summary>
    public static long FromNanoseconds(this WritePrecision precision, long nanoseconds)
    {
        long unit = precision.NanosecondsPerUnit();
        return unit == 1 ? nanoseconds : Math.DivRem(nanoseconds, unit) is var (q, r) && r < 0 ? q - 1 : q;
    }

    /// <summary>Parses n|ns|u|us|µs|ms|s (the v1 and v2 spellings).</summary>
    public static bool TryParse(string? text, out WritePrecision precision)
    {
        switch (text)
        {
            case null or "" or "n" or "ns":
                precision = WritePrecision.Nanoseconds;
                return true;
            case "u" or "us" or "µs":
                precision = WritePrecision.Microseconds;
                return true;
            case "ms":
                precision = WritePrecision.Milliseconds;
                return true;
            case "s":
                precision = WritePrecision.Seconds;
                return true;
            default:
                precision = default;
                return false;
        }
    }
}

/// <summary>Conversions between time values and nanoseconds since the Unix epoch.</summary>
public static class UnixTime
{
    private const long NanosecondsPerTick = 100;

    public static long ToNanoseconds(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * NanosecondsPerTick;

    public static DateTimeOffset FromNanoseconds(long nanoseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / NanosecondsPerTick);
}
