using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Security;
using ObservaCost.Storage.Security;

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

    /// <summary>Failed authentication per client address (<c>Collector:Auth:FailureLimit</c>): over the limit, 429.</summary>
    public AuthFailureLimitOptions FailureLimit { get; set; } = new();
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

        failures.AddRange(options.FailureLimit.Validate(IngestAuthOptions.SectionName + ":FailureLimit"));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The caller of an ingest request, once authenticated: the token's name and the tenant it is bound to (null: none).</summary>
public sealed record IngestCaller(string Name, string? Tenant)
{
    /// <summary>The caller the ingest scheme's claims describe (<see cref="TokenAuthorization.Grant"/>).</summary>
    public static IngestCaller Of(System.Security.Claims.ClaimsPrincipal user)
    {
        TokenGrant grant = TokenAuthorization.Grant(user);
        return new IngestCaller(grant.Name, grant.Tenant);
    }
}

/// <summary>
/// Ingest access through the one token handler (<see cref="TokenAuthenticationHandler"/>, scheme
/// <see cref="TokenAuthorization.IngestScheme"/>): <c>Authorization: Bearer</c>, <c>Authorization: Token</c>
/// (InfluxDB 2.x clients, Telegraf <c>outputs.influxdb_v2</c>), Basic auth or the <c>p</c> query parameter (InfluxDB
/// 1.x clients, Telegraf <c>outputs.influxdb</c>: the password is the token), from <c>Collector:Auth</c>. Refusals
/// keep the collector's error body, <c>{"error": "..."}</c>.
/// </summary>
public static class IngestAuthentication
{
    private const string HowTo = "send a token as 'Authorization: Bearer <token>' (or Token, Basic, or ?p=)";

    /// <summary>Registers the ingest scheme and the ingest-write policy from the validated <see cref="IngestAuthOptions"/>.</summary>
    public static IServiceCollection AddIngestAuthentication(this IServiceCollection services) =>
        services.AddTokenScheme<IngestAuthOptions>(
            TokenAuthorization.IngestScheme,
            (scheme, o) =>
            {
                foreach (IngestToken token in o.Tokens)
                {
                    scheme.Tokens.Add((token.Sha256, new TokenGrant(token.Name, TokenAuthorization.IngestRole, string.IsNullOrEmpty(token.Tenant) ? null : token.Tenant)));
                }

                scheme.AnonymousLoopback = o.AllowAnonymousLoopback ? new TokenGrant("anonymous-loopback", TokenAuthorization.IngestRole, null) : null;
                scheme.Accepted = CredentialSchemes.Bearer | CredentialSchemes.Token | CredentialSchemes.Basic | CredentialSchemes.QueryPassword;
                scheme.FailureLimit = o.FailureLimit;
                scheme.HowToAuthenticate = HowTo;
                scheme.WriteRefusal = (context, refusal) => context.Response.WriteAsJsonAsync(new ErrorBody(refusal.Detail), IngestJsonContext.Default.ErrorBody);
            },
            (TokenAuthorization.IngestWritePolicy, [TokenAuthorization.IngestRole]));

    /// <summary>The endpoint takes an ingest token (<see cref="TokenAuthorization.IngestWritePolicy"/>).</summary>
    public static TBuilder RequireIngestToken<TBuilder>(this TBuilder endpoint)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(TokenAuthorization.IngestWritePolicy);

    /// <summary>Lower-case hex SHA-256 of a token, as configured in <c>Collector:Auth:Tokens:N:Sha256</c>.</summary>
    public static string HashToken(string token) => TokenHash.Of(token);
}
