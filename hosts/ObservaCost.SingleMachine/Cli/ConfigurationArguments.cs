namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// The <c>--Key value</c> (or <c>--Key=value</c>) pairs after a verb: ASP.NET Core configuration, passed to the host
/// as they are. A configuration key names a section (<c>--Storage:Backend</c>, <c>--Collector:Spool:Directory</c>) or
/// is one of the host's own top-level keys (<see cref="HostKeys"/>); anything else is an unknown option or argument of
/// the verb, refused with one line, so a misspelt option (<c>--deom</c>) never passes silently as configuration.
/// </summary>
public static class ConfigurationArguments
{
    /// <summary>The top-level keys the ASP.NET Core host reads itself (case-insensitive).</summary>
    public static readonly IReadOnlySet<string> HostKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "environment", "contentRoot", "applicationName", "http_ports", "https_ports",
    };

    /// <summary>
    /// Splits the tokens the verb's parser did not match into configuration pairs; <paramref name="error"/> names the
    /// first token that is neither a configuration key nor a key's value.
    /// </summary>
    public static string[]? Split(IReadOnlyList<string> tokens, out string? error)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var pairs = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"unexpected argument '{token}'";
                return null;
            }

            int equals = token.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? token[2..] : token[2..equals];
            if (!IsKey(key))
            {
                error = $"unknown option '{token}' (configuration keys name a section: --Section:Key value)";
                return null;
            }

            pairs.Add(token);
            if (equals < 0)
            {
                if (i + 1 >= tokens.Count || tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"configuration key '{token}' has no value";
                    return null;
                }

                pairs.Add(tokens[++i]);
            }
        }

        error = null;
        return [.. pairs];
    }

    /// <summary>True for a configuration key: a section path (<c>A:B</c>) or one of <see cref="HostKeys"/>.</summary>
    public static bool IsKey(string key) =>
        key.Length > 0 && (HostKeys.Contains(key) || (key.Contains(':', StringComparison.Ordinal) && !key.StartsWith(':') && !key.EndsWith(':')));
}
