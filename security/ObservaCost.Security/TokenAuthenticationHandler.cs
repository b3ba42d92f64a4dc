using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using ObservaCost.Storage.Security;

namespace ObservaCost.Security;

/// <summary>
/// The one token authentication of ingest, the API and the web overview. It reads the credential forms its scheme
/// accepts (<c>Authorization: Bearer|Token</c>, Basic with the token as the password, <c>?p=</c> as InfluxDB 1.x
/// clients send it, or the sign-in cookie when no header is sent) and checks it with the shared
/// <see cref="TokenAuthenticator{TCaller}"/>: SHA-256 hashes compared in constant time, a presented credential that is
/// malformed or unknown refused (never anonymous), nothing presented from loopback anonymous only where configured,
/// failures limited per client address (429 with Retry-After). The user's claims carry the token's name, role and
/// tenant (<see cref="TokenAuthorization"/>). No token, whole or in part, is ever logged or echoed.
/// </summary>
public sealed partial class TokenAuthenticationHandler(
    IOptionsMonitor<TokenAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenAuthenticators authenticators)
    : AuthenticationHandler<TokenAuthenticationOptions>(options, logger, encoder)
{
    /// <summary>The generic failure message the base handler logs: the detail (with the refused scheme's name) goes to the response only.</summary>
    private const string RefusedMessage = "the presented credential was refused";

    private TokenRefusal? _refusal;

    /// <summary>The refusal this request's authentication ended with (401 or 429), or null; the web renders its own page from it.</summary>
    public static TokenRefusal? RefusalOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<TokenRefusal>();
    }

    /// <summary>
    /// Checks a token handed over outside the request's headers (the web's sign-in form) with the scheme's tokens and
    /// failure limit, exactly as a request presenting it would be.
    /// </summary>
    public static async Task<AuthenticateResult> AuthenticateTokenAsync(HttpContext context, string scheme, string token)
    {
        ArgumentNullException.ThrowIfNull(context);
        IAuthenticationHandlerProvider handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        if (await handlers.GetHandlerAsync(context, scheme) is not TokenAuthenticationHandler handler)
        {
            throw new InvalidOperationException($"The authentication scheme '{scheme}' is not a token scheme.");
        }

        return handler.Check(PresentedCredential.Of(token));
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        StringValues authorization = Request.Headers.Authorization;
        PresentedCredential credential =
            StringValues.IsNullOrEmpty(authorization) && Options.CookieName is { } cookieName && Request.Cookies.TryGetValue(cookieName, out string? cookie) && !string.IsNullOrEmpty(cookie)
                ? PresentedCredential.Of(cookie)
                : PresentedCredential.Read(authorization, Request.Query["p"], Options.Accepted);
        return Task.FromResult(Check(credential));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        await WriteAsync(_refusal ?? new TokenRefusal(StatusCodes.Status401Unauthorized, "Unauthorized", "authorization required: " + Options.HowToAuthenticate, null, false));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteAsync(new TokenRefusal(StatusCodes.Status403Forbidden, "Forbidden", "this token's role may not use this endpoint", null, false));

    private AuthenticateResult Check(PresentedCredential credential)
    {
        IPAddress? remote = Context.Connection.RemoteIpAddress;
        AuthenticationOutcome<TokenGrant> outcome = authenticators.For(Scheme.Name, Options).Authenticate(credential, remote, Options.HowToAuthenticate);
        if (outcome.LimitReached)
        {
            LogLimited(Logger, Scheme.Name, remote?.ToString() ?? "unknown", Options.FailureLimit.MaxFailures, Options.FailureLimit.Window);
        }

        if (outcome.Caller is { } grant)
        {
            _refusal = null;
            return AuthenticateResult.Success(new AuthenticationTicket(TokenAuthorization.Principal(grant, Scheme.Name), Scheme.Name));
        }

        _refusal = outcome.StatusCode == AuthenticationOutcome<TokenGrant>.TooManyRequests
            ? new TokenRefusal(StatusCodes.Status429TooManyRequests, "Too many failed attempts", outcome.Problem!, outcome.RetryAfter, false)
            : new TokenRefusal(StatusCodes.Status401Unauthorized, "Unauthorized", outcome.Problem!, null, outcome.CredentialPresented);
        Context.Features.Set(_refusal);
        return credential.Status == CredentialStatus.Absent && _refusal.StatusCode == StatusCodes.Status401Unauthorized
            ? AuthenticateResult.NoResult()
            : AuthenticateResult.Fail(RefusedMessage);
    }

    private Task WriteAsync(TokenRefusal refusal)
    {
        Response.StatusCode = refusal.StatusCode;
        if (refusal.RetryAfter is { } retryAfter)
        {
            Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        else if (refusal.StatusCode == StatusCodes.Status401Unauthorized)
        {
            Response.Headers.WWWAuthenticate = refusal.CredentialPresented
                ? "Bearer realm=\"observacost\", error=\"invalid_token\""
                : "Bearer realm=\"observacost\"";
        }

        return Options.WriteRefusal!(Context, refusal);
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Authentication ({Scheme}) from {Address} failed {Failures} times within {Window}: its requests are refused (429) until the window ends")]
    private static partial void LogLimited(ILogger logger, string scheme, string address, int failures, TimeSpan window);
}
