using System.Globalization;
using Microsoft.AspNetCore.Http;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>A validated API query: [from, to), an optional step and the tag keys to group by.</summary>
public sealed record ApiQuery(DateTimeOffset From, DateTimeOffset To, TimeSpan? Step, IReadOnlyList<string> GroupBy)
{
    /// <summary>The step as written in responses (<c>1h</c>, <c>1d</c>), null for one bucket.</summary>
    public string? StepText => Step is TimeSpan step ? CostWindow.WindowTag(step) : null;
}

/// <summary>A validated [from, to); <see cref="OpenEnded"/> when no <c>to</c> was given and <see cref="To"/> is the furthest read.</summary>
public sealed record ApiRange(DateTimeOffset From, DateTimeOffset To, bool OpenEnded);

/// <summary>A refusal to send as RFC 7807 problem details.</summary>
public sealed record ApiProblem(int Status, string Title, string Detail);

/// <summary>The request limits in force: the options and the computed window length.</summary>
public sealed record ApiLimits(TimeSpan MaxRange, int MaxBuckets, TimeSpan MinStep, TimeSpan WindowLength);

/// <summary>
/// Parses and checks <c>from</c>, <c>to</c>, <c>step</c> and <c>groupBy</c>, explaining every refusal. A stored window
/// is in a bucket when its start is; buckets are aligned to the Unix epoch (whole UTC days for <c>1d</c>).
/// </summary>
public static class ApiQueryParser
{
    /// <summary>The earliest time served: the stores hold times as signed 64-bit Unix nanoseconds.</summary>
    public static readonly DateTimeOffset MinTime = new(1677, 9, 22, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The latest time served (the end of the stores' signed 64-bit nanosecond range, to the day).</summary>
    public static readonly DateTimeOffset MaxTime = new(2262, 4, 11, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Rfc3339Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    public static ApiQuery? Parse(string? from, string? to, string? step, string? groupBy, IReadOnlyList<string> allowedGroupBy, ApiLimits limits, out ApiProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(allowedGroupBy);
        ArgumentNullException.ThrowIfNull(limits);
        if (ParseRange(from, to, limits, out problem) is not ApiRange range)
        {
            return null;
        }

        (DateTimeOffset start, DateTimeOffset end) = (range.From, range.To);
        TimeSpan? bucket = null;
        if (!string.IsNullOrEmpty(step))
        {
            if (!TryParseStep(step, out TimeSpan parsed))
            {
                problem = BadRequest("Invalid step", $"'step' must be a whole number of minutes, hours or days such as 15m, 1h or 1d; got '{step}'.");
                return null;
            }

            TimeSpan minimum = limits.MinStep > limits.WindowLength ? limits.MinStep : limits.WindowLength;
            if (parsed < minimum)
            {
                problem = BadRequest("Step too fine", $"'step' {step} is finer than the smallest step served, {CostWindow.WindowTag(minimum)}: cost and idle are computed in {CostWindow.WindowTag(limits.WindowLength)} windows (Analytics:Windows:WindowLength, Analytics:Api:MinStep), which cannot be split.");
                return null;
            }

            if (parsed.Ticks % limits.WindowLength.Ticks != 0)
            {
                problem = BadRequest("Step not a whole number of windows", $"'step' {step} must be a multiple of the computed window length {CostWindow.WindowTag(limits.WindowLength)}, so every bucket holds whole windows.");
                return null;
            }

            long buckets = BucketCount(start, end, parsed);
            if (buckets > limits.MaxBuckets)
            {
                problem = BadRequest("Too many buckets", string.Create(CultureInfo.InvariantCulture, $"The range at step {step} makes {buckets} buckets; the limit is {limits.MaxBuckets} (Analytics:Api:MaxBuckets). Ask for a coarser step or a shorter range."));
                return null;
            }

            bucket = parsed;
        }

        var keys = new List<string>();
        if (groupBy is not null)
        {
            foreach (string raw in groupBy.Split(','))
            {
                string key = raw.Trim();
                if (!allowedGroupBy.Contains(key, StringComparer.Ordinal))
                {
                    problem = NotOneOf("groupBy", key, allowedGroupBy);
                    return null;
                }

                if (!keys.Contains(key, StringComparer.Ordinal))
                {
                    keys.Add(key);
                }
            }
        }

        return new ApiQuery(start, end, bucket, keys);
    }

    /// <summary>A required [from, to): both given, to after from, no longer than <see cref="ApiLimits.MaxRange"/>.</summary>
    public static ApiRange? ParseRange(string? from, string? to, ApiLimits limits, out ApiProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(limits);
        problem = null;
        return TryParseTime("from", from, out DateTimeOffset start, ref problem) && TryParseTime("to", to, out DateTimeOffset end, ref problem)
            ? CheckRange(start, end, limits, ref problem)
            : null;
    }

    /// <summary>
    /// An optional [from, to): a missing <c>from</c> is <paramref name="now"/>; a missing <c>to</c> leaves the range
    /// open-ended, read up to <see cref="ApiLimits.MaxRange"/> after <c>from</c>.
    /// </summary>
    public static ApiRange? ParseOptionalRange(string? from, string? to, DateTimeOffset now, ApiLimits limits, out ApiProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(limits);
        problem = null;
        DateTimeOffset start = now.ToUniversalTime();
        if (!string.IsNullOrEmpty(from) && !TryParseTime("from", from, out start, ref problem))
        {
            return null;
        }

        if (string.IsNullOrEmpty(to))
        {
            DateTimeOffset furthest = limits.MaxRange.Ticks >= MaxTime.UtcTicks - start.UtcTicks ? MaxTime : start + limits.MaxRange;
            return new ApiRange(start, furthest, OpenEnded: true);
        }

        return TryParseTime("to", to, out DateTimeOffset end, ref problem) ? CheckRange(start, end, limits, ref problem) : null;
    }

    /// <summary>An optional parameter that must be one of <paramref name="allowed"/>; absent (null or empty) is null.</summary>
    public static bool TryParseChoice(string name, string? value, IReadOnlyList<string> allowed, out string? choice, out ApiProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        problem = null;
        choice = string.IsNullOrEmpty(value) ? null : value;
        if (choice is not null && !allowed.Contains(choice, StringComparer.Ordinal))
        {
            problem = NotOneOf(name, choice, allowed);
            choice = null;
            return false;
        }

        return true;
    }

    /// <summary>How many epoch-aligned buckets of <paramref name="step"/> [from, to) touches.</summary>
    public static long BucketCount(DateTimeOffset from, DateTimeOffset to, TimeSpan step)
    {
        long first = FloorDiv(from.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, step.Ticks);
        long last = FloorDiv(to.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks - 1, step.Ticks);
        return last - first + 1;
    }

    /// <summary>Parses <c>15m</c>, <c>1h</c>, <c>1d</c>: a positive whole number of minutes, hours or days.</summary>
    public static bool TryParseStep(string text, out TimeSpan step)
    {
        ArgumentNullException.ThrowIfNull(text);
        step = TimeSpan.Zero;
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count <= 0 || count > 100_000)
        {
            return false;
        }

        TimeSpan? unit = text[^1] switch
        {
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            _ => null,
        };
        if (unit is null)
        {
            return false;
        }

        step = unit.Value * count;
        return true;
    }

    private static ApiRange? CheckRange(DateTimeOffset start, DateTimeOffset end, ApiLimits limits, ref ApiProblem? problem)
    {
        if (end <= start)
        {
            problem = BadRequest("Invalid range", $"'to' ({Format(end)}) must be after 'from' ({Format(start)}).");
            return null;
        }

        if (end - start > limits.MaxRange)
        {
            problem = BadRequest("Range too long", $"The range {Format(start)} to {Format(end)} is {Describe(end - start)}; the limit is {Describe(limits.MaxRange)} (Analytics:Api:MaxRange). Ask for a shorter range.");
            return null;
        }

        return new ApiRange(start, end, OpenEnded: false);
    }

    private static bool TryParseTime(string name, string? text, out DateTimeOffset time, ref ApiProblem? problem)
    {
        time = default;
        if (string.IsNullOrEmpty(text))
        {
            problem = BadRequest($"Missing '{name}'", $"'{name}' is required: an RFC 3339 time such as 2026-11-21T10:00:00Z, or Unix seconds.");
            return false;
        }

        if (text.All(char.IsAsciiDigit))
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            {
                time = DateTimeOffset.FromUnixTimeSeconds(seconds);
                return InStoreRange(name, time, ref problem);
            }
        }
        else if ((text[^1] == 'Z' || HasOffset(text)) && DateTimeOffset.TryParseExact(text, Rfc3339Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out time))
        {
            time = time.ToUniversalTime();
            return InStoreRange(name, time, ref problem);
        }

        problem = BadRequest($"Invalid '{name}'", $"'{name}' must be an RFC 3339 time with a zone (2026-11-21T10:00:00Z, 2026-11-21T11:00:00+01:00) or Unix seconds; got '{text}'.");
        return false;
    }

    private static bool InStoreRange(string name, DateTimeOffset time, ref ApiProblem? problem)
    {
        if (time >= MinTime && time <= MaxTime)
        {
            return true;
        }

        problem = BadRequest($"Invalid '{name}'", $"'{name}' ({Format(time)}) is outside the times the store can hold, {Format(MinTime)} to {Format(MaxTime)}.");
        return false;
    }

    /// <summary>RFC 3339 requires the zone: <c>Z</c> or <c>±hh:mm</c> at the end (a bare local time is refused).</summary>
    private static bool HasOffset(string text) =>
        text.Length > 6 && text[^3] == ':' && text[^6] is '+' or '-';

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static ApiProblem NotOneOf(string name, string value, IReadOnlyList<string> allowed) =>
        BadRequest($"Invalid {name}", $"{name} '{value}' is not one of: {string.Join(", ", allowed)}.");

    private static ApiProblem BadRequest(string title, string detail) => new(StatusCodes.Status400BadRequest, title, detail);

    private static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Describe(TimeSpan span) => span.Ticks % TimeSpan.TicksPerDay == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:0} days")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.##} hours");
}
