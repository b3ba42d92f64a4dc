using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Security;
using ObservaCost.Storage.Security;

namespace ObservaCost.Analytics.Api;

/// <summary>The reader of an API request, once authenticated: an admin, or one tenant.</summary>
public sealed record ApiCaller(string Name, string? Tenant)
{
    public bool IsAdmin => Tenant is null;

    /// <summary>The caller the read scheme's claims describe (<see cref="TokenAuthorization.Grant"/>).</summary>
    public static ApiCaller Of(ClaimsPrincipal user)
    {
        TokenGrant grant = TokenAuthorization.Grant(user);
        return new ApiCaller(grant.Name, grant.Role == TokenAuthorization.AdminRole ? null : grant.Tenant);
    }
}

/// <summary>
/// Read access to the API and the web overview through the one token handler (<see cref="TokenAuthenticationHandler"/>,
/// scheme <see cref="TokenAuthorization.ReadScheme"/>), from <c>Analytics:Api</c>: <c>Authorization: Bearer &lt;token&gt;</c>
/// or, from a browser signed in to the web overview, the <see cref="CookieName"/> cookie (HttpOnly, SameSite=Strict,
/// never a query string), read by the handler. Any other scheme, an empty Bearer or an unknown token is 401 (never
/// anonymous, even from loopback); refusals are RFC 7807 problem details.
/// </summary>
public static class ApiAuthentication
{
    /// <summary>The cookie the web overview's sign-in form sets to the read token (HttpOnly, SameSite=Strict).</summary>
    public const string CookieName = "observacost_token";

    private const string HowTo = "send a read token as 'Authorization: Bearer <token>' (or sign in at /signin in a browser)";

    /// <summary>Lower-case hex SHA-256 of a token, as configured in <c>Analytics:Api:Tokens:N:Sha256</c>.</summary>
    public static string HashToken(string token) => TokenHash.Of(token);

    /// <summary>Registers the read scheme and its policies (read: admin or tenant; admin) from the validated <see cref="AnalyticsApiOptions"/>.</summary>
    public static IServiceCollection AddApiAuthentication(this IServiceCollection services) =>
        services.AddTokenScheme<AnalyticsApiOptions>(
            TokenAuthorization.ReadScheme,
            (scheme, o) =>
            {
                foreach (ApiReadToken token in o.Tokens)
                {
                    scheme.Tokens.Add((token.Sha256, token.Admin
                        ? new TokenGrant(token.Name, TokenAuthorization.AdminRole, null)
                        : new TokenGrant(token.Name, TokenAuthorization.TenantRole, token.Tenant)));
                }

                scheme.AnonymousLoopback = o.AllowAnonymousLoopback ? new TokenGrant("anonymous-loopback", TokenAuthorization.AdminRole, null) : null;
                scheme.Accepted = CredentialSchemes.Bearer;
                scheme.CookieName = CookieName;
                scheme.FailureLimit = o.FailureLimit;
                scheme.HowToAuthenticate = HowTo;
                scheme.WriteRefusal = (context, refusal) =>
                    TypedResults.Problem(refusal.Detail, statusCode: refusal.StatusCode, title: refusal.Title).ExecuteAsync(context);
            },
            (TokenAuthorization.ReadPolicy, [TokenAuthorization.AdminRole, TokenAuthorization.TenantRole]),
            (TokenAuthorization.AdminPolicy, [TokenAuthorization.AdminRole]));

    /// <summary>The endpoints take a read token, admin or tenant (<see cref="TokenAuthorization.ReadPolicy"/>).</summary>
    public static TBuilder RequireReadToken<TBuilder>(this TBuilder endpoints)
        where TBuilder : IEndpointConventionBuilder =>
        endpoints.RequireAuthorization(TokenAuthorization.ReadPolicy);
}
