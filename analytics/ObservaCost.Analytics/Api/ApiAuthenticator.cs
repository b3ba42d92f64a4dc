using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ObservaCost.Analytics.Api;

/// <summary>The reader of an API request, once authenticated: an admin, or one tenant.</summary>
public sealed record ApiCaller(string Name, string? Tenant)
{
    public bool IsAdmin => Tenant is null;
}

/// <summary>
/// Checks <c>Authorization: Bearer &lt;token&gt;</c> against the configured SHA-256 hashes. Every configured hash is
/// compared in constant time, so neither the answer's time nor its content tells how close a guess was.
/// </summary>
public sealed class ApiAuthenticator
{
    private static readonly ApiCaller AnonymousLoopback = new("anonymous-loopback", null);
    private readonly (byte[] Hash, ApiCaller Caller)[] _tokens;
    private readonly bool _allowAnonymousLoopback;

    public ApiAuthenticator(IOptions<AnalyticsApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _tokens = [.. options.Value.Tokens.Select(t => (
            Convert.FromHexString(t.Sha256),
            new ApiCaller(t.Name, t.Admin ? null : t.Tenant)))];
        _allowAnonymousLoopback = options.Value.AllowAnonymousLoopback;
    }

    /// <summary>Lower-case hex SHA-256 of a token, as configured in <c>Analytics:Api:Tokens:N:Sha256</c>.</summary>
    public static string HashToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>Returns the caller, or null with the reason to send with 401.</summary>
    public ApiCaller? Authenticate(HttpRequest request, out string? failure)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? token = ReadBearer(request);
        if (token is null && _allowAnonymousLoopback && request.HttpContext.Connection.RemoteIpAddress is { } remote && System.Net.IPAddress.IsLoopback(remote))
        {
            failure = null;
            return AnonymousLoopback;
        }

        if (token is null)
        {
            failure = "authorization required: send a read token as 'Authorization: Bearer <token>'";
            return null;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        ApiCaller? found = null;
        foreach ((byte[] known, ApiCaller caller) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, known))
            {
                found = caller;
            }
        }

        failure = found is null ? "authorization failed: the token is not known" : null;
        return found;
    }

    private static string? ReadBearer(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        const string Scheme = "Bearer ";
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string token = header[Scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }
}
