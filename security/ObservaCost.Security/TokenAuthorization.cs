using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ObservaCost.Security;

/// <summary>
/// The schemes, roles, claims and policies of token access, and their registration. Ingest tokens
/// (<c>Collector:Auth</c>) authenticate under <see cref="IngestScheme"/> with the role <see cref="IngestRole"/>; read
/// tokens (<c>Analytics:Api</c>, also the web overview's sign-in) under <see cref="ReadScheme"/> with
/// <see cref="AdminRole"/> or <see cref="TenantRole"/>. A tenant-bound token carries its tenant as the
/// <see cref="TenantClaim"/> claim.
/// </summary>
public static class TokenAuthorization
{
    public const string IngestScheme = "ObservaCost.Ingest";
    public const string ReadScheme = "ObservaCost.Read";

    /// <summary>May write through the ingest endpoints (bound to its tenant when it has one).</summary>
    public const string IngestRole = "ingest";

    /// <summary>Reads every tenant's rows and the fleet's shared figures.</summary>
    public const string AdminRole = "admin";

    /// <summary>Reads its own tenant's rows only.</summary>
    public const string TenantRole = "tenant";

    public const string TenantClaim = "observacost:tenant";

    /// <summary>Ingest write: an authenticated <see cref="IngestRole"/> caller of <see cref="IngestScheme"/>.</summary>
    public const string IngestWritePolicy = "ObservaCost.IngestWrite";

    /// <summary>Read: an admin or tenant caller of <see cref="ReadScheme"/>.</summary>
    public const string ReadPolicy = "ObservaCost.Read";

    /// <summary>Admin: an admin caller of <see cref="ReadScheme"/> (the fleet-wide views).</summary>
    public const string AdminPolicy = "ObservaCost.Admin";

    /// <summary>The user of a granted token: its name, role and (when bound) tenant as claims.</summary>
    public static ClaimsPrincipal Principal(TokenGrant grant, string scheme)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var claims = new List<Claim> { new(ClaimTypes.Name, grant.Name), new(ClaimTypes.Role, grant.Role) };
        if (grant.Tenant is not null)
        {
            claims.Add(new Claim(TenantClaim, grant.Tenant));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>The grant a user's claims carry (the inverse of <see cref="Principal"/>).</summary>
    public static TokenGrant Grant(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new TokenGrant(user.Identity?.Name ?? string.Empty, user.FindFirst(ClaimTypes.Role)?.Value ?? string.Empty, user.FindFirst(TenantClaim)?.Value);
    }

    /// <summary>
    /// Registers the token scheme <paramref name="scheme"/> (filled from the validated options <typeparamref name="TSource"/>
    /// by <paramref name="configure"/>) and the policies over it: <paramref name="policies"/> maps each policy name to the roles it admits.
    /// </summary>
    public static IServiceCollection AddTokenScheme<TSource>(
        this IServiceCollection services,
        string scheme,
        Action<TokenAuthenticationOptions, TSource> configure,
        params (string Policy, string[] Roles)[] policies)
        where TSource : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(policies);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TokenAuthenticators>();
        services.AddOptions<TokenAuthenticationOptions>(scheme).Configure<IOptions<TSource>>((options, source) => configure(options, source.Value));
        services.AddAuthentication().AddScheme<TokenAuthenticationOptions, TokenAuthenticationHandler>(scheme, displayName: null, configureOptions: null);
        AuthorizationBuilder authorization = services.AddAuthorizationBuilder();
        foreach ((string policy, string[] roles) in policies)
        {
            authorization.AddPolicy(policy, p => p.AddAuthenticationSchemes(scheme).RequireAuthenticatedUser().RequireRole(roles));
        }

        return services;
    }
}
