using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using ObservaCost.Storage.Security;

namespace ObservaCost.Security;

/// <summary>The caller a configured token stands for: a name for logs, its role and the tenant it is bound to (none: all).</summary>
public sealed record TokenGrant(string Name, string Role, string? Tenant);

/// <summary>
/// Why a request was not let in, as the handler's challenge (401, or 429 with <see cref="RetryAfter"/>) or forbid
/// (403) answers it: each scheme writes it in its own body shape (<see cref="TokenAuthenticationOptions.WriteRefusal"/>).
/// </summary>
/// <param name="StatusCode">401, 403 or 429.</param>
/// <param name="Title">A short title: "Unauthorized", "Forbidden" or "Too many failed attempts".</param>
/// <param name="Detail">What was wrong and how to authenticate; it never holds the presented token.</param>
/// <param name="RetryAfter">With 429: the rest of the address's failure window.</param>
/// <param name="CredentialPresented">True when a credential was presented and refused (<c>error="invalid_token"</c>).</param>
public sealed record TokenRefusal(int StatusCode, string Title, string Detail, TimeSpan? RetryAfter, bool CredentialPresented);

/// <summary>
/// One token authentication scheme (<see cref="TokenAuthenticationHandler"/>): the configured token hashes and their
/// grants, the credential forms accepted, anonymous loopback, the failure limit, and how a refusal is written.
/// Each library fills it from its own validated options (<c>Collector:Auth</c>, <c>Analytics:Api</c>).
/// </summary>
public sealed class TokenAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>Hex SHA-256 (either case) of each token's UTF-8 bytes, and the caller it stands for.</summary>
    public IList<(string Sha256, TokenGrant Grant)> Tokens { get; } = [];

    /// <summary>The caller of a request that presents nothing from a loopback address; null (the default): such requests are 401.</summary>
    public TokenGrant? AnonymousLoopback { get; set; }

    /// <summary>The credential forms read from the request (header schemes and <c>?p=</c>).</summary>
    public CredentialSchemes Accepted { get; set; } = CredentialSchemes.Bearer;

    /// <summary>A cookie whose value is read as the token when no <c>Authorization</c> header is sent (the web's sign-in); null: none.</summary>
    public string? CookieName { get; set; }

    /// <summary>Failed attempts per client address before 429.</summary>
    public AuthFailureLimitOptions FailureLimit { get; set; } = new();

    /// <summary>The hint of the 401 for a request that presented nothing, e.g. "send a token as 'Authorization: Bearer &lt;token&gt;'".</summary>
    public string HowToAuthenticate { get; set; } = "send a token as 'Authorization: Bearer <token>'";

    /// <summary>Writes a refusal's body in the scheme's error shape (status, WWW-Authenticate and Retry-After are already set). Required.</summary>
    public Func<HttpContext, TokenRefusal, Task>? WriteRefusal { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (WriteRefusal is null)
        {
            throw new InvalidOperationException("TokenAuthenticationOptions.WriteRefusal is not set.");
        }

        foreach ((string sha256, TokenGrant grant) in Tokens)
        {
            ArgumentNullException.ThrowIfNull(grant);
            if (sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigit))
            {
                throw new InvalidOperationException($"The token '{grant.Name}' has no SHA-256 of 64 hex digits.");
            }
        }
    }
}
