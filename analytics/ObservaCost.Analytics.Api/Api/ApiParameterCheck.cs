using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace ObservaCost.Analytics.Api;

/// <summary>
/// One check of every query parameter of the API before any endpoint reads it: a name or value holding a control
/// character (CR, LF, NUL, ...) or invalid UTF-16 (a lone surrogate), or longer than <see cref="MaxValueLength"/>,
/// is answered 400 naming the parameter, rather than reaching the store's query renderer.
/// </summary>
public static class ApiParameterCheck
{
    /// <summary>The longest parameter value served; GPU UUIDs, model names and RFC 3339 times are far shorter.</summary>
    public const int MaxValueLength = 1024;

    public static ApiProblem? Check(IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> parameter in query)
        {
            string name = Printable(parameter.Key);
            if (Invalid(parameter.Key) is string keyReason)
            {
                return Bad(name, $"The parameter name '{name}' {keyReason}.");
            }

            foreach (string? value in parameter.Value)
            {
                if (value is not null && Invalid(value) is string reason)
                {
                    return Bad(name, $"'{name}' {reason}.");
                }
            }
        }

        return null;
    }

    private static string? Invalid(string text)
    {
        if (text.Length > MaxValueLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"is {text.Length} characters long; the limit is {MaxValueLength}");
        }

        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]))
            {
                return string.Create(CultureInfo.InvariantCulture, $"holds the control character U+{(int)text[i]:X4} at position {i}");
            }
        }

        return text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF') && !IsWellFormed(text)
            ? "holds invalid UTF-16 (a lone surrogate)"
            : null;
    }

    private static bool IsWellFormed(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The name as it can be shown: control characters and lone surrogates as '?', at most 64 characters.</summary>
    private static string Printable(string name)
    {
        var builder = new StringBuilder(Math.Min(name.Length, 64));
        foreach (Rune rune in name.AsSpan(0, Math.Min(name.Length, 64)).EnumerateRunes())
        {
            builder.Append(Rune.IsControl(rune) || rune == Rune.ReplacementChar ? "?" : rune.ToString());
        }

        return builder.ToString();
    }

    private static ApiProblem Bad(string name, string detail) => new(StatusCodes.Status400BadRequest, $"Invalid '{name}'", detail);
}
