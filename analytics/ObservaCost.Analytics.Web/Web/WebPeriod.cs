using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// The period a view shows, [From, To) in UTC, and its bucket: from the query's <c>from</c> and <c>to</c> (RFC 3339
/// with a zone, <c>yyyy-MM-ddTHH:mm</c> or <c>yyyy-MM-dd</c> read as UTC), else the last <c>last</c> hours or days
/// (24h, 7d, 30d) up to the start of the current hour (the current hour's windows are not computed until it ends).
/// Up to 3 days is shown hour by hour, longer day by day.
/// </summary>
public sealed record WebPeriod(DateTimeOffset From, DateTimeOffset To, TimeSpan Step, string? Last)
{
    public static readonly TimeSpan DefaultLast = TimeSpan.FromHours(24);

    /// <summary>The longest period a view reads (the API's default MaxRange is longer; pages stay fast).</summary>
    public static readonly TimeSpan MaxLength = TimeSpan.FromDays(92);

    /// <summary>The quick choices the views offer.</summary>
    public static readonly IReadOnlyList<string> Choices = ["24h", "48h", "7d", "30d"];

    public TimeSpan Length => To - From;

    /// <summary>The period as the views write it in every heading: its UTC bounds and bucket.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{From:yyyy-MM-dd HH:mm} – {To:yyyy-MM-dd HH:mm} UTC, {(Step == TimeSpan.FromDays(1) ? "daily" : "hourly")} buckets");

    /// <summary>The period as <c>from=…&amp;to=…</c> RFC 3339 UTC, for the API and CSV links.</summary>
    public string Query() =>
        string.Create(CultureInfo.InvariantCulture, $"from={From:yyyy-MM-ddTHH:mm:ssZ}&to={To:yyyy-MM-ddTHH:mm:ssZ}");

    /// <summary>The period of the same length just before this one (for comparisons).</summary>
    public WebPeriod Previous() => this with { From = From - Length, To = From, Last = null };

    public static WebPeriod? Parse(IQueryCollection query, DateTimeOffset now, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(query);
        problem = null;
        string? fromText = NullIfEmpty(query["from"]), toText = NullIfEmpty(query["to"]), lastText = NullIfEmpty(query["last"]);
        var startOfHour = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        DateTimeOffset from, to;
        string? last = null;
        if (fromText is null && toText is null)
        {
            TimeSpan length = DefaultLast;
            if (lastText is not null && !TryParseLength(lastText, out length))
            {
                problem = "last must be a number of hours or days, e.g. 24h or 7d.";
                return null;
            }

            last = lastText ?? "24h";
            to = startOfHour;
            from = to - length;
        }
        else if (!TryParseTime(fromText, out from) || !TryParseTime(toText, out to))
        {
            problem = "from and to must both be UTC times: 2026-11-30, 2026-11-30T10:00 or 2026-11-30T10:00:00Z.";
            return null;
        }

        if (to <= from)
        {
            problem = "to must be after from.";
            return null;
        }

        if (to - from > MaxLength)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"The period is at most {MaxLength.TotalDays:0} days.");
            return null;
        }

        // Buckets are whole hours or days (the stored windows are hourly).
        TimeSpan step = to - from > TimeSpan.FromDays(3) ? TimeSpan.FromDays(1) : TimeSpan.FromHours(1);
        from = new DateTimeOffset(from.UtcTicks - (from.UtcTicks % step.Ticks), TimeSpan.Zero);
        long remainder = to.UtcTicks % step.Ticks;
        to = remainder == 0 ? to : new DateTimeOffset(to.UtcTicks - remainder, TimeSpan.Zero) + step;
        return new WebPeriod(from, to, step, last);
    }

    private static bool TryParseLength(string text, out TimeSpan length)
    {
        length = TimeSpan.Zero;
        if (text.Length < 2 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            return false;
        }

        length = text[^1] switch
        {
            'h' => TimeSpan.FromHours(count),
            'd' => TimeSpan.FromDays(count),
            _ => TimeSpan.Zero,
        };
        return length > TimeSpan.Zero && length <= MaxLength;
    }

    private static readonly string[] TimeFormats = ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK", "yyyy-MM-ddTHH:mmK"];

    private static bool TryParseTime(string? text, out DateTimeOffset time)
    {
        time = default;
        return text is not null
            && DateTimeOffset.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time)
            && time.Year is > 1970 and < 2200;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
