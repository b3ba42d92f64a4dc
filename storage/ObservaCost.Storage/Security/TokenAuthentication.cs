using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ObservaCost.Storage.Security;

/// <summary>
/// Limits on failed authentication per client address. Bound under each host's auth section
/// (<c>Collector:Auth:FailureLimit</c>, <c>Analytics:Api:FailureLimit</c>).
/// </summary>
public sealed class AuthFailureLimitOptions
{
    /// <summary>Failed attempts (unknown or malformed credentials) one address may make per <see cref="Window"/>. Default 20.</summary>
    public int MaxFailures { get; set; } = 20;

    /// <summary>The window the failures are counted in; once over the limit the address gets 429 until it ends. Default 1 min.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most addresses (IPv4 addresses, IPv6 /64 prefixes) tracked at once. Beyond it, failures of untracked
    /// addresses share one overflow counter, so the table stays bounded without letting new addresses guess freely.
    /// Default 10,000.
    /// </summary>
    public int MaxTrackedAddresses { get; set; } = 10_000;

    /// <summary>Every invalid value, naming its key under <paramref name="section"/> (e.g. <c>Collector:Auth:FailureLimit</c>).</summary>
    public IEnumerable<string> Validate(string section)
    {
        if (MaxFailures < 1)
        {
            yield return $"{section}:MaxFailures must be at least 1.";
        }

        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(1))
        {
            yield return $"{section}:Window must be between 00:00:01 and 1.00:00:00.";
        }

        if (MaxTrackedAddresses < 1 || MaxTrackedAddresses > 10_000_000)
        {
            yield return $"{section}:MaxTrackedAddresses must be between 1 and 10000000.";
        }
    }
}

/// <summary>
/// Counts failed authentication per client address in fixed windows: after <see cref="AuthFailureLimitOptions.MaxFailures"/>
/// failures the address is refused (429) until its window ends. The table holds at most
/// <see cref="AuthFailureLimitOptions.MaxTrackedAddresses"/> entries; expired ones are swept when it is full.
/// </summary>
public sealed class AuthFailureLimiter(AuthFailureLimitOptions options, TimeProvider time)
{
    private const string Overflow = "overflow";
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The addresses tracked now (for tests and metrics).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>True when the address is over its limit; <paramref name="retryAfter"/> is the rest of its window.</summary>
    public bool IsLimited(IPAddress? address, out TimeSpan retryAfter)
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            if (Find(Key(address), now) is { } entry && entry.Failures >= options.MaxFailures)
            {
                retryAfter = options.Window - time.GetElapsedTime(entry.StartTimestamp, now);
                return true;
            }
        }

        retryAfter = TimeSpan.Zero;
        return false;
    }

    /// <summary>Counts one failed attempt from the address; true when this one reached the limit (once per window).</summary>
    public bool RecordFailure(IPAddress? address)
    {
        long now = time.GetTimestamp();
        string key = Key(address);
        lock (_gate)
        {
            if (Find(key, now) is { } entry)
            {
                entry.Failures++;
                return entry.Failures == options.MaxFailures;
            }

            if (_entries.Count >= options.MaxTrackedAddresses)
            {
                Sweep(now);
            }

            _entries[_entries.Count < options.MaxTrackedAddresses ? key : Overflow] = new Entry(now);
            return options.MaxFailures == 1;
        }
    }

    /// <summary>The live entry of the key, the overflow entry for an untracked key while the table is full, or null.</summary>
    private Entry? Find(string key, long now)
    {
        if (!_entries.TryGetValue(key, out Entry? entry) && _entries.Count >= options.MaxTrackedAddresses)
        {
            key = Overflow;
            _entries.TryGetValue(key, out entry);
        }

        if (entry is not null && time.GetElapsedTime(entry.StartTimestamp, now) >= options.Window)
        {
            _entries.Remove(key);
            return null;
        }

        return entry;
    }

    private void Sweep(long now)
    {
        foreach (KeyValuePair<string, Entry> pair in _entries)
        {
            if (time.GetElapsedTime(pair.Value.StartTimestamp, now) >= options.Window)
            {
                _entries.Remove(pair.Key);
            }
        }
    }

    /// <summary>IPv4 (also IPv4-mapped IPv6) by address, IPv6 by its /64: one host usually holds a whole /64.</summary>
    private static string Key(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            byte[] bytes = address.GetAddressBytes();
            return Convert.ToHexStringLower(bytes.AsSpan(0, 8)) + "/64";
        }

        return address.ToString();
    }

    private sealed class Entry(long startTimestamp)
    {
        public long StartTimestamp { get; } = startTimestamp;

        public int Failures { get; set; } = 1;
    }
}

/// <summary>The hash configured for a token: only hashes are configured, never tokens.</summary>
public static class TokenHash
{
    /// <summary>Lower-case hex SHA-256 of a token's UTF-8 bytes (<c>printf %s TOKEN | sha256sum</c>).</summary>
    public static string Of(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }
}

/// <summary>How an authentication ended: a caller, or the status (401, 429) and reason to answer with.</summary>
public sealed record AuthenticationOutcome<TCaller>(TCaller? Caller, int StatusCode, string? Problem, TimeSpan? RetryAfter)
    where TCaller : class
{
    public const int Unauthorized = 401;
    public const int TooManyRequests = 429;

    /// <summary>True when the refusal is for a credential that was presented (for <c>WWW-Authenticate: error="invalid_token"</c>).</summary>
    public bool CredentialPresented { get; init; }

    /// <summary>True when this failure brought the address to its limit: log it (it happens once per address and window).</summary>
    public bool LimitReached { get; init; }
}

/// <summary>
/// The one token check of the collector's ingest endpoints and the analytics API: only SHA-256 hashes are configured,
/// every hash is compared in constant time, a presented credential that is malformed or unknown is 401 (never
/// anonymous), only a request presenting nothing from a loopback address may be anonymous (when allowed), and
/// failures are rate-limited per client address (429 with Retry-After).
/// </summary>
public sealed class TokenAuthenticator<TCaller>
    where TCaller : class
{
    private readonly (byte[] Hash, TCaller Caller)[] _tokens;
    private readonly TCaller? _anonymousLoopback;
    private readonly AuthFailureLimiter _limiter;

    /// <param name="tokens">Hex SHA-256 of each token and the caller it stands for.</param>
    /// <param name="anonymousLoopback">The caller of a request presenting nothing from loopback; null: such requests are 401.</param>
    /// <param name="limits">The failed-authentication limit per client address.</param>
    /// <param name="time">The clock the limit's windows run on.</param>
    public TokenAuthenticator(IEnumerable<(string Sha256, TCaller Caller)> tokens, TCaller? anonymousLoopback, AuthFailureLimitOptions limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(time);
        _tokens = [.. tokens.Select(t => (Convert.FromHexString(t.Sha256), t.Caller))];
        _anonymousLoopback = anonymousLoopback;
        _limiter = new AuthFailureLimiter(limits, time);
    }

    public AuthFailureLimiter Limiter => _limiter;

    /// <summary>
    /// Checks what a request presented (<see cref="PresentedCredential.Read"/>, or a token from elsewhere such as a
    /// sign-in cookie or form) from <paramref name="remote"/>: the caller, or the refusal to answer with.
    /// </summary>
    public AuthenticationOutcome<TCaller> Authenticate(PresentedCredential credential, IPAddress? remote, string howToAuthenticate)
    {
        if (_limiter.IsLimited(remote, out TimeSpan retryAfter))
        {
            return new AuthenticationOutcome<TCaller>(
                null,
                AuthenticationOutcome<TCaller>.TooManyRequests,
                string.Create(CultureInfo.InvariantCulture, $"too many failed authentication attempts from this address; retry in {Math.Ceiling(retryAfter.TotalSeconds):0} s"),
                retryAfter);
        }

        switch (credential.Status)
        {
            case CredentialStatus.Absent when _anonymousLoopback is not null && remote is not null && IPAddress.IsLoopback(remote):
                return new AuthenticationOutcome<TCaller>(_anonymousLoopback, 200, null, null);
            case CredentialStatus.Absent:
                return new AuthenticationOutcome<TCaller>(null, AuthenticationOutcome<TCaller>.Unauthorized, "authorization required: " + howToAuthenticate, null);
            case CredentialStatus.Malformed:
                return Refused("authorization failed: " + credential.Problem, _limiter.RecordFailure(remote));
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(credential.Token!));
        TCaller? found = null;
        foreach ((byte[] known, TCaller caller) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, known))
            {
                found = caller;
            }
        }

        if (found is not null)
        {
            return new AuthenticationOutcome<TCaller>(found, 200, null, null);
        }

        return Refused("authorization failed: the token is not known", _limiter.RecordFailure(remote));
    }

    private static AuthenticationOutcome<TCaller> Refused(string problem, bool limitReached) =>
        new(null, AuthenticationOutcome<TCaller>.Unauthorized, problem, null) { CredentialPresented = true, LimitReached = limitReached };
}
