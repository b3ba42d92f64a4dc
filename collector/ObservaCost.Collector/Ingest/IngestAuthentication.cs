using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ObservaCost.Collector.Ingest;

/// <summary>One ingest token: only its SHA-256 is configured, never the token itself.</summary>
public sealed class IngestToken
{
    /// <summary>A name for logs, e.g. the team or the Telegraf fleet.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Lower-case hex SHA-256 of the token's UTF-8 bytes (<c>printf %s TOKEN | sha256sum</c>).</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>The tenant every record sent with this token carries, whatever the body says; empty for none.</summary>
    public string? Tenant { get; set; }
}

/// <summary>Who may ingest. Configuration section <c>Collector:Auth</c>.</summary>
public sealed class IngestAuthOptions
{
    public const string SectionName = "Collector:Auth";

    public List<IngestToken> Tokens { get; set; } = [];

    /// <summary>Lets requests without a token in from 127.0.0.1/::1 (the embedded quickstart); off by default.</summary>
    public bool AllowAnonymousLoopback { get; set; }
}

public sealed class IngestAuthOptionsValidator : IValidateOptions<IngestAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestAuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        for (int i = 0; i < options.Tokens.Count; i++)
        {
            string key = string.Create(CultureInfo.InvariantCulture, $"{IngestAuthOptions.SectionName}:Tokens:{i}:Sha256");
            string hash = options.Tokens[i].Sha256 ?? string.Empty;
            if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{key} must be the 64 hex digits of the token's SHA-256 (tokens are never configured in plain text).");
            }
        }

        if (options.Tokens.Select(t => t.Sha256.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Count() != options.Tokens.Count)
        {
            failures.Add($"{IngestAuthOptions.SectionName}:Tokens has the same hash twice.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The caller of an ingest request, once authenticated.</summary>
public sealed record IngestCaller(string Name, string? Tenant);

/// <summary>
/// Checks ingest credentials: <c>Authorization: Bearer</c>, <c>Authorization: Token</c> (InfluxDB 2.x clients,
/// Telegraf <c>outputs.influxdb_v2</c>), Basic auth or the <c>p</c> query parameter (InfluxDB 1.x clients, Telegraf
/// <c>outputs.influxdb</c>: the password is the token). Hashes are compared in constant time.
/// </summary>
public sealed class IngestAuthenticator
{
    private readonly Dictionary<string, IngestToken> _byHash;
    private readonly bool _allowAnonymousLoopback;

    public IngestAuthenticator(IOptions<IngestAuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _byHash = options.Value.Tokens.ToDictionary(t => t.Sha256.ToLowerInvariant(), StringComparer.Ordinal);
        _allowAnonymousLoopback = options.Value.AllowAnonymousLoopback;
    }

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Returns the caller, or null with the reason to send with 401.</summary>
    public IngestCaller? Authenticate(HttpContext context, out string? failure)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? token = ReadToken(context.Request);
        if (token is null)
        {
            IPAddress? remote = context.Connection.RemoteIpAddress;
            if (_allowAnonymousLoopback && remote is not null && IPAddress.IsLoopback(remote))
            {
                failure = null;
                return new IngestCaller("anonymous-loopback", null);
            }

            failure = "authorization required: send a token as 'Authorization: Bearer <token>' (or Token, Basic, or ?p=)";
            return null;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        foreach (KeyValuePair<string, IngestToken> entry in _byHash)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(entry.Key)))
            {
                failure = null;
                return new IngestCaller(entry.Value.Name, string.IsNullOrEmpty(entry.Value.Tenant) ? null : entry.Value.Tenant);
            }
        }

        failure = "authorization failed: the token is not known";
        return null;
    }

    private static string? ReadToken(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (!string.IsNullOrEmpty(header))
        {
            int space = header.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0)
            {
                string scheme = header[..space];
                string value = header[(space + 1)..].Trim();
                if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || scheme.Equals("Token", StringComparison.OrdinalIgnoreCase))
                {
                    return value.Length == 0 ? null : value;
                }

                if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
                {
                    try
                    {
                        string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value));
                        int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                        return colon >= 0 && colon < decoded.Length - 1 ? decoded[(colon + 1)..] : null;
                    }
                    catch (FormatException)
                    {
                        return null;
                    }
                }
            }
        }

        string? password = request.Query["p"];
        return string.IsNullOrEmpty(password) ? null : password;
    }
}
