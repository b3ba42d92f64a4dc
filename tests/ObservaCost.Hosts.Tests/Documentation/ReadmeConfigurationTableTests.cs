using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Reporting.Configuration;
using ObservaCost.Storage.Configuration;
using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Documentation;

/// <summary>
/// The README's configuration table against the options classes, by reflection, so the table cannot drift: every key
/// it names resolves to a property of an options class bound to that section (the <c>SectionName</c> constants), and
/// where a row lists one default per key, each default equals the property's value on a fresh options instance.
/// </summary>
public sealed partial class ReadmeConfigurationTableTests
{
    /// <summary>Options bound to a section that is named by another class's constant (AddCollector binds the poller's options to the schedule's section).</summary>
    private static readonly (Type Type, string Section)[] SharedSections = [(typeof(NvidiaSmiPollerOptions), NvidiaSmiScheduleOptions.SectionName)];

    /// <summary>Default cells that stand for "nothing set" (null, false, an empty list) or point elsewhere: not compared.</summary>
    private static readonly string[] UnalignedDefaults = ["", "none", "off", "—"];

    private static readonly Lazy<List<(Type Type, string Section)>> OptionTypes = new(FindOptionTypes);

    private static List<(Type Type, string Section)> FindOptionTypes()
    {
        Assembly[] assemblies =
        [
            typeof(StorageOptions).Assembly, typeof(CollectorApplication).Assembly, typeof(AnalyticsOptions).Assembly,
            typeof(AnalyticsApiOptions).Assembly, typeof(SchedulerOptions).Assembly, typeof(ReportOptions).Assembly,
        ];
        var types = assemblies.SelectMany(a => a.GetExportedTypes())
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string))
            .Select(x => (x.Type, Section: (string)x.Field!.GetRawConstantValue()!))
            .ToList();
        types.AddRange(SharedSections);
        return types;
    }

    private static List<(string Keys, string Default)> Rows()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "README.md"));
        int header = Array.FindIndex(lines, l => l.StartsWith("| key | default | meaning |", StringComparison.Ordinal));
        Assert.True(header >= 0, "the README has no configuration table");
        var rows = new List<(string, string)>();
        for (int i = header + 2; i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            string[] cells = lines[i].Split('|');
            rows.Add((cells[1].Trim(), cells[2].Trim()));
        }

        return rows;
    }

    [Fact]
    public void Rows_TheTableIsRead()
    {
        // 30 rows today; the checks below are only as good as the parse, so a table that shrinks by accident fails here.
        Assert.True(Rows().Count >= 25, $"only {Rows().Count} rows read");
    }

    [Fact]
    public void EveryKey_ResolvesToAnOptionsProperty()
    {
        var unresolved = new List<string>();
        int keys = 0;
        foreach ((string cell, _) in Rows())
        {
            foreach (string key in Keys(cell))
            {
                keys++;
                if (Resolve(key) is null)
                {
                    unresolved.Add(key);
                }
            }
        }

        Assert.Empty(unresolved);
        Assert.True(keys > 80, $"only {keys} keys expanded");
    }

    [Fact]
    public void EveryListedDefault_IsTheFreshOptionsValue()
    {
        var wrong = new List<string>();
        int compared = 0;
        foreach ((string cell, string defaults) in Rows())
        {
            List<string> keys = [.. Keys(cell).Where(k => !k.EndsWith(":*", StringComparison.Ordinal))];
            string[] items = defaults.Split(", ", StringSplitOptions.TrimEntries);
            string first = StripNote(items[0]);
            if (items.Length != keys.Count)
            {
                // Not one default per key: only a "nothing set" cell, a pointer to the docs, or a row of wildcards may be so.
                if (!(items.Length == 1 && (UnalignedDefaults.Contains(first, StringComparer.Ordinal) || first.StartsWith("see ", StringComparison.Ordinal))) && keys.Count > 0)
                {
                    wrong.Add($"{cell}: {items.Length} defaults for {keys.Count} keys");
                }

                continue;
            }

            for (int i = 0; i < keys.Count; i++)
            {
                Resolution? resolved = Resolve(keys[i]);
                if (resolved is not { HasValue: true })
                {
                    continue;
                }

                compared++;
                string text = StripNote(items[i]);
                if (!Matches(text, resolved.Value.Value))
                {
                    wrong.Add($"{keys[i]}: README says '{text}', the options class has '{Describe(resolved.Value.Value)}'");
                }
            }
        }

        Assert.Empty(wrong);
        Assert.True(compared > 40, $"only {compared} defaults compared");
    }

    /// <summary>The keys of a key cell: backticked patterns, <c>{a,b}</c> expanded (nested too); a bare name continues the previous key's section.</summary>
    private static List<string> Keys(string cell)
    {
        var keys = new List<string>();
        string prefix = string.Empty;
        foreach (Match m in BacktickedRegex().Matches(cell))
        {
            string pattern = m.Groups[1].Value;
            int brace = pattern.IndexOf('{', StringComparison.Ordinal);
            int sectionEnd = (brace < 0 ? pattern : pattern[..brace]).LastIndexOf(':');
            if (sectionEnd >= 0)
            {
                prefix = pattern[..(sectionEnd + 1)];
                keys.AddRange(Expand(pattern));
            }
            else
            {
                keys.AddRange(Expand(prefix + pattern));
            }
        }

        return keys;
    }

    private static IEnumerable<string> Expand(string pattern)
    {
        int open = pattern.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            yield return pattern;
            yield break;
        }

        int depth = 0;
        int close = open;
        var parts = new List<string>();
        int partStart = open + 1;
        for (int i = open; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                parts.Add(pattern[partStart..i]);
                close = i;
                break;
            }
            else if (c == ',' && depth == 1)
            {
                parts.Add(pattern[partStart..i]);
                partStart = i + 1;
            }
        }

        string head = pattern[..open];
        string tail = pattern[(close + 1)..];
        foreach (string part in parts)
        {
            foreach (string expanded in Expand(head + part + tail))
            {
                yield return expanded;
            }
        }
    }

    private readonly record struct Resolution(bool HasValue, object? Value);

    /// <summary>Walks a key from the longest matching section through property names (<c>N</c>: a list's element); null when it does not resolve.</summary>
    private static Resolution? Resolve(string key)
    {
        bool wildcard = key.EndsWith(":*", StringComparison.Ordinal);
        string path = wildcard ? key[..^2] : key;
        foreach ((Type type, string section) in OptionTypes.Value.OrderByDescending(t => t.Section.Length))
        {
            if (string.Equals(path, section, StringComparison.OrdinalIgnoreCase) && wildcard)
            {
                return new Resolution(false, null);
            }

            if (!path.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Type current = type;
            object? value = Activator.CreateInstance(type);
            bool hasValue = true;
            bool resolved = true;
            foreach (string segment in path[(section.Length + 1)..].Split(':'))
            {
                if (segment == "N" && ElementType(current) is { } element)
                {
                    current = element;
                    hasValue = false;
                    value = null;
                    continue;
                }

                PropertyInfo? property = current.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                if (property is null)
                {
                    resolved = false;
                    break;
                }

                value = hasValue && value is not null ? property.GetValue(value) : null;
                hasValue = hasValue && (value is not null || !property.PropertyType.IsValueType);
                current = property.PropertyType;
            }

            if (resolved)
            {
                return new Resolution(hasValue && !wildcard, value);
            }
        }

        return null;
    }

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    /// <summary>Removes a parenthesised note (<c>false (true in the shipped appsettings.json)</c>) and backticks.</summary>
    private static string StripNote(string text)
    {
        int note = text.IndexOf(" (", StringComparison.Ordinal);
        return (note >= 0 ? text[..note] : text).Trim().Trim('`');
    }

    private static bool Matches(string text, object? value)
    {
        if (UnalignedDefaults.Contains(text, StringComparer.Ordinal))
        {
            return value is null || value is false || (value is IEnumerable e and not string && !e.Cast<object>().Any());
        }

        if (value is TimeSpan span)
        {
            return ParseDuration(text) is { } d ? d == span : string.Equals(text, span.ToString("c", CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        if (value is int or long or double or decimal)
        {
            double actual = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            return ParseNumber(text) is { } n && Math.Abs(n - actual) <= 1e-9 * Math.Max(1, Math.Abs(actual));
        }

        return string.Equals(text, Describe(value), StringComparison.OrdinalIgnoreCase);
    }

    private static TimeSpan? ParseDuration(string text)
    {
        Match m = DurationRegex().Match(text);
        if (!m.Success)
        {
            return null;
        }

        double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "min" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
    }

    private static double? ParseNumber(string text)
    {
        Match m = SizeRegex().Match(text);
        if (!m.Success)
        {
            return null;
        }

        double n = double.Parse(m.Groups[1].Value.Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "KiB" => n * 1024,
            "MiB" => n * 1024 * 1024,
            "GiB" => n * 1024 * 1024 * 1024,
            _ => n,
        };
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex BacktickedRegex();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?) (ms|s|min|h|d)$")]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"^([0-9][0-9,]*(?:\.[0-9]+)?)(?: (KiB|MiB|GiB))?$")]
    private static partial Regex SizeRegex();
}
