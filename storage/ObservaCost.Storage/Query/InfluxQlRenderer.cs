using System.Globalization;
using System.Text;

namespace ObservaCost.Storage.Query;

/// <summary>
/// Renders a <see cref="TimeSeriesQuery"/> as InfluxQL. Every identifier is double-quoted and every literal
/// single-quoted with InfluxQL's escapes, so names and tag values are always matched literally.
/// </summary>
public static class InfluxQlRenderer
{
    public static string Render(TimeSeriesQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sb = new StringBuilder(256);
        sb.Append("SELECT ");
        for (int i = 0; i < query.Selections.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            AppendSelection(sb, query.Selections[i]);
        }

        sb.Append(" FROM ");
        AppendIdentifier(sb, query.Measurement);
        sb.Append(CultureInfo.InvariantCulture, $" WHERE time >= {query.FromNanoseconds} AND time < {query.ToNanoseconds}");
        foreach (TagFilter filter in query.TagFilters)
        {
            sb.Append(" AND (");
            for (int i = 0; i < filter.Values.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(filter.Operator == TagOperator.In ? " OR " : " AND ");
                }

                AppendIdentifier(sb, filter.Key);
                sb.Append(filter.Operator == TagOperator.In ? " = " : " != ");
                AppendString(sb, filter.Values[i]);
            }

            sb.Append(')');
        }

        if (query.Interval is not null || query.GroupByTags.Count > 0)
        {
            sb.Append(" GROUP BY ");
            bool first = true;
            if (query.Interval is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $"time({query.IntervalNanoseconds / 1_000_000}ms)");
                first = false;
            }

            foreach (string tag in query.GroupByTags)
            {
                if (!first)
                {
                    sb.Append(", ");
                }

                AppendIdentifier(sb, tag);
                first = false;
            }

            if (query.Interval is not null)
            {
                sb.Append(query.Fill switch
                {
                    FillMode.None => " fill(none)",
                    FillMode.Null => " fill(null)",
                    FillMode.Zero => " fill(0)",
                    _ => throw new ArgumentOutOfRangeException(nameof(query), query.Fill, "Unknown fill mode."),
                });
            }
        }

        return sb.ToString();
    }

    /// <summary>Appends a double-quoted identifier with backslash, quote and line breaks escaped.</summary>
    public static void AppendIdentifier(StringBuilder sb, string identifier)
    {
        ArgumentNullException.ThrowIfNull(sb);
        AppendQuoted(sb, identifier, '"');
    }

    /// <summary>Appends a single-quoted string literal with backslash, quote and line breaks escaped.</summary>
    public static void AppendString(StringBuilder sb, string value)
    {
        ArgumentNullException.ThrowIfNull(sb);
        AppendQuoted(sb, value, '\'');
    }

    private static void AppendQuoted(StringBuilder sb, string text, char quote)
    {
        sb.Append(quote);
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\':
                    sb.Append(@"\\");
                    break;
                case '\n':
                    sb.Append(@"\n");
                    break;
                case '\r':
                    sb.Append(@"\r");
                    break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\');
                    }

                    sb.Append(c);
                    break;
            }
        }

        sb.Append(quote);
    }

    private static void AppendSelection(StringBuilder sb, FieldSelection s)
    {
        switch (s.Function)
        {
            case AggregateFunction.None:
                AppendIdentifier(sb, s.Field);
                break;
            case AggregateFunction.Percentile:
                sb.Append("percentile(");
                AppendIdentifier(sb, s.Field);
                sb.Append(CultureInfo.InvariantCulture, $", {s.Percentile:R})");
                break;
            case AggregateFunction.Integral:
                sb.Append("integral(");
                AppendIdentifier(sb, s.Field);
                sb.Append(CultureInfo.InvariantCulture, $", {s.IntegralUnit.Ticks * 100}ns)");
                break;
            default:
                sb.Append(s.Function.ToString().ToLowerInvariant()).Append('(');
                AppendIdentifier(sb, s.Field);
                sb.Append(')');
                break;
        }

        sb.Append(" AS ");
        AppendIdentifier(sb, s.Alias);
    }
}
