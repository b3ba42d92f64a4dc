using System.Globalization;
using Microsoft.Extensions.Options;
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

/// <summary>The caller of an ingest request, once authenticated.</summary>
public sealed record IngestCaller(string Name, string? Tenant);

/// <summary>
/// Checks ingest credentials with the shared <see cref="TokenAuthenticator{TCaller}"/>: <c>Authorization: Bearer</c>,
/// <c>Authorization: Token</c> (InfluxDB 2.x clients, Telegraf <c>outputs.influxdb_v2</c>), Basic auth or the <c>p</c>
/// query parameter (InfluxDB 1.x clients, Telegraf <c>outputs.influxdb</c>: the password is the token). A credential
/// that is presented but malformed or unknown is 401; failures are rate-limited per client address (429).
/// </summary>
public sealed partial class IngestAuthenticator
{
    private const string HowTo = "send a token as 'Authorization: Bearer <token>' (or Token, Basic, or ?p=)";
    private static readonly IngestCaller AnonymousLoopback = new("anonymous-loopback", null);
    private readonly TokenAuthenticator<IngestCaller> _tokens;
    private readonly AuthFailureLimitOptions _limit;
    private readonly ILogger _logger;

    public IngestAuthenticator(IOptions<IngestAuthOptions> options, TimeProvider time, ILogger<IngestAuthenticator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        IngestAuthOptions o = options.Value;
        _limit = o.FailureLimit;
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _tokens = new TokenAuthenticator<IngestCaller>(
            o.Tokens.Select(t => (t.Sha256, new IngestCaller(t.Name, string.IsNullOrEmpty(t.Tenant) ? null : t.Tenant))),
            o.AllowAnonymousLoopback ? AnonymousLoopback : null,
            CredentialSchemes.Bearer | CredentialSchemes.Token | CredentialSchemes.Basic | CredentialSchemes.QueryPassword,
            o.FailureLimit,
            time);
    }

    public static string HashToken(string token) => TokenHash.Of(token);

    /// <summary>Returns the caller, or null with the error to answer (401, or 429 with Retry-After).</summary>
    public IngestCaller? Authenticate(HttpContext context, out IngestError? error)
    {
        ArgumentNullException.ThrowIfNull(context);
        AuthenticationOutcome<IngestCaller> outcome = _tokens.Authenticate(
            context.Request.Headers.Authorization, context.Request.Query["p"], context.Connection.RemoteIpAddress, HowTo);
        if (outcome.LimitReached)
        {
            LogLimited(_logger, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _limit.MaxFailures, _limit.Window);
        }

        error = outcome.Caller is not null ? null
            : outcome.StatusCode == AuthenticationOutcome<IngestCaller>.TooManyRequests
                ? new IngestError(StatusCodes.Status429TooManyRequests, outcome.Problem!, outcome.RetryAfter)
                : IngestError.Unauthorized(outcome.Problem!);
        return outcome.Caller;
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Ingest authentication from {Address} failed {Failures} times within {Window}: its requests are refused (429) until the window ends")]
    private static partial void LogLimited(ILogger logger, string address, int failures, TimeSpan window);
}
