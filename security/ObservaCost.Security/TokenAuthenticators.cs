using System.Collections.Concurrent;
using ObservaCost.Storage.Security;

namespace ObservaCost.Security;

/// <summary>
/// The token check of each scheme, built once from its options: the hashes and the failure counts live as long as
/// the host (the handler itself is created per request).
/// </summary>
public sealed class TokenAuthenticators(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TokenAuthenticator<TokenGrant>> _byScheme = new(StringComparer.Ordinal);

    /// <summary>The check of <paramref name="scheme"/>, built from <paramref name="options"/> on first use.</summary>
    public TokenAuthenticator<TokenGrant> For(string scheme, TokenAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _byScheme.GetOrAdd(scheme, _ => new TokenAuthenticator<TokenGrant>(options.Tokens, options.AnonymousLoopback, options.FailureLimit, time));
    }
}
