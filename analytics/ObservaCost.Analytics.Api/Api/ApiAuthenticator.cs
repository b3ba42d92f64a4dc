using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using ObservaCost.Storage.Security;

namespace ObservaCost.Analytics.Api;

/// <summary>The reader of an API request, once authenticated: an admin, or one tenant.</summary>
public sealed record ApiCaller(string Name, string? Tenant)
{
    public bool IsAdmin => Tenant is null;
}

/// <summary>
/// Checks <c>Authorization: Bearer &lt;token&gt;</c> (or, from a browser signed in to the web overview, the
/// <see cref="CookieName"/> cookie: HttpOnly, SameSite=Strict, never a query string) against the configured SHA-256 hashes with the shared
/// <see cref="TokenAuthenticator{TCaller}"/>: every hash is compared in constant time; any other scheme, an empty
/// Bearer or an unknown token is 401 (never anonymous, even from loopback); failures are rate-limited per client
/// address (429 with Retry-After).
/// </summary>
public sealed partial class ApiAuthenticator
{
    /// <summary>The cookie the web overview's sign-in form sets to the read token (HttpOnly, SameSite=Strict).</summary>
    public const string CookieName = "observacost_token";

    private const string HowTo = "send a read token as 'Authorization: Bearer <token>' (or sign in at /signin in a browser)";
    private static readonly ApiCaller AnonymousLoopback = new("anonymous-loopback", null);
    private readonly TokenAuthenticator<ApiCaller> _tokens;
    private readonly AuthFailureLimitOptions _limit;
    private readonly ILogger _logger;

    public ApiAuthenticator(IOptions<AnalyticsApiOptions> options, TimeProvider time, ILogger<ApiAuthenticator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        AnalyticsApiOptions o = options.Value;
        _limit = o.FailureLimit;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _tokens = new TokenAuthenticator<ApiCaller>(
            o.Tokens.Select(t => (t.Sha256, new ApiCaller(t.Name, t.Admin ? null : t.Tenant))),
            o.AllowAnonymousLoopback ? AnonymousLoopback : null,
            CredentialSchemes.Bearer,
            o.FailureLimit,
            time);
    }

    /// <summary>Lower-case hex SHA-256 of a token, as configured in <c>Analytics:Api:Tokens:N:Sha256</c>.</summary>
    public static string HashToken(string token) => TokenHash.Of(token);

    /// <summary>Returns the caller, or null with the problem to answer (401, or 429 with its Retry-After).</summary>
    public ApiCaller? Authenticate(HttpRequest request, out ApiProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(request);
        StringValues authorization = request.Headers.Authorization;
        if (StringValues.IsNullOrEmpty(authorization) && request.Cookies.TryGetValue(CookieName, out string? cookie) && !string.IsNullOrEmpty(cookie))
        {
            authorization = "Bearer " + cookie;
        }

        AuthenticationOutcome<ApiCaller> outcome = _tokens.Authenticate(
            authorization, default, request.HttpContext.Connection.RemoteIpAddress, HowTo);
        if (outcome.LimitReached)
        {
            LogLimited(_logger, request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown", _limit.MaxFailures, _limit.Window);
        }

        problem = outcome.Caller is not null ? null
            : outcome.StatusCode == AuthenticationOutcome<ApiCaller>.TooManyRequests
                ? new ApiProblem(StatusCodes.Status429TooManyRequests, "Too many failed attempts", outcome.Problem!, outcome.RetryAfter)
                : new ApiProblem(StatusCodes.Status401Unauthorized, "Unauthorized", outcome.Problem!) { CredentialPresented = outcome.CredentialPresented };
        return outcome.Caller;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "API authentication from {Address} failed {Failures} times within {Window}: its requests are refused (429) until the window ends")]
    private static partial void LogLimited(ILogger logger, string address, int failures, TimeSpan window);
}
