using System.Globalization;

namespace ObservaCost.Hosting;

/// <summary>
/// The <c>--from &lt;ISO time&gt; --to &lt;ISO time&gt;</c> pair of the hosts' range verbs (analytics <c>backfill</c>,
/// collector <c>import-requests</c>): parsed out of the arguments, the rest (positional arguments and
/// <c>--Key value</c> configuration) kept in order.
/// </summary>
public sealed record TimeRangeArguments(DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<string> Rest, string? Error)
{
    /// <summary>Reads <c>--from</c> and <c>--to</c> (UTC when no zone is given); <see cref="Error"/> names a time that does not parse.</summary>
    public static TimeRangeArguments Parse(string verb, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        DateTimeOffset? from = null;
        DateTimeOffset? to = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if ((args[i] == "--from" || args[i] == "--to") && i + 1 < args.Count)
            {
                if (!DateTimeOffset.TryParse(args[i + 1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time))
                {
                    return new TimeRangeArguments(from, to, rest, $"{verb}: {args[i]} '{args[i + 1]}' is not an ISO 8601 time (e.g. 2026-11-21T00:00:00Z).");
                }

                if (args[i] == "--from")
                {
                    from = time;
                }
                else
                {
                    to = time;
                }

                i++;
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return new TimeRangeArguments(from, to, rest, null);
    }

    /// <summary>
    /// Parses like <see cref="Parse"/> and requires a range: on a bad time, or when a bound is missing or
    /// <c>--from</c> is not before <c>--to</c>, writes the error (or <paramref name="usage"/>) line and returns null.
    /// </summary>
    public static async Task<TimeRangeArguments?> ParseRangeAsync(string verb, IReadOnlyList<string> args, string usage, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        TimeRangeArguments range = Parse(verb, args);
        if (range.Error is not null || !range.IsRange)
        {
            await errors.WriteLineAsync(range.Error ?? usage);
            return null;
        }

        return range;
    }

    /// <summary>True when both bounds are given and <c>--from</c> is before <c>--to</c>.</summary>
    public bool IsRange => From is not null && To is not null && From < To;
}
