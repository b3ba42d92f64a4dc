using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Security;

namespace ObservaCost.Analytics.Api;

/// <summary>One read token of the analytics API: only its SHA-256 is configured, never the token itself.</summary>
public sealed class ApiReadToken
{
    /// <summary>A name for logs, e.g. the team or the dashboard that reads with it.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Lower- or upper-case hex SHA-256 of the token's UTF-8 bytes (<c>printf %s TOKEN | sha256sum</c>).</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>The one tenant this token reads; exactly one of <see cref="Tenant"/> and <see cref="Admin"/> is set.</summary>
    public string? Tenant { get; set; }

    /// <summary>Reads every tenant's rows and the pools' idle capacity.</summary>
    public bool Admin { get; set; }
}

/// <summary>Who may read the analytics API and how much one request may ask for. Configuration section <c>Analytics:Api</c>.</summary>
public sealed class AnalyticsApiOptions
{
    public const string SectionName = "Analytics:Api";

    public List<ApiReadToken> Tokens { get; set; } = [];

    /// <summary>
    /// A request with no token from a loopback address reads as admin. For a single machine (the shipped
    /// configuration); never on a host that proxies remote traffic from loopback. Default false.
    /// </summary>
    public bool AllowAnonymousLoopback { get; set; }

    /// <summary>The longest <c>to − from</c> a request may ask for. Default 366 days.</summary>
    public TimeSpan MaxRange { get; set; } = TimeSpan.FromDays(366);

    /// <summary>The most step buckets a request may ask for (range ÷ step). Default 1,000.</summary>
    public int MaxBuckets { get; set; } = 1_000;

    /// <summary>The most rows one response may hold; a larger answer is refused with 413. Default 10,000.</summary>
    public int MaxRows { get; set; } = 10_000;

    /// <summary>
    /// The finest step a request may ask for; the computed window length (<c>Analytics:Windows:WindowLength</c>)
    /// is the floor whatever this says. Default 1 h.
    /// </summary>
    public TimeSpan MinStep { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Failed authentication per client address (<c>Analytics:Api:FailureLimit</c>): over the limit, 429.</summary>
    public AuthFailureLimitOptions FailureLimit { get; set; } = new();
}

/// <summary>Reports every invalid <see cref="AnalyticsApiOptions"/> value at start-up, naming its configuration key.</summary>
public sealed class AnalyticsApiOptionsValidator : IValidateOptions<AnalyticsApiOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalyticsApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Section = AnalyticsApiOptions.SectionName;
        var failures = new List<string>();
        for (int i = 0; i < options.Tokens.Count; i++)
        {
            ApiReadToken token = options.Tokens[i];
            string key = string.Create(CultureInfo.InvariantCulture, $"{Section}:Tokens:{i}");
            string hash = token.Sha256 ?? string.Empty;
            if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{key}:Sha256 must be the 64 hex digits of the token's SHA-256 (tokens are never configured in plain text).");
            }

            bool hasTenant = !string.IsNullOrWhiteSpace(token.Tenant);
            if (hasTenant == token.Admin)
            {
                failures.Add($"{key} must have either {key}:Tenant (a tenant-scoped token) or {key}:Admin=true (reads all tenants), not {(hasTenant ? "both" : "neither")}.");
            }
        }

        if (options.Tokens.Select(t => (t.Sha256 ?? string.Empty).ToLowerInvariant()).Distinct(StringComparer.Ordinal).Count() != options.Tokens.Count)
        {
            failures.Add($"{Section}:Tokens has the same Sha256 twice.");
        }

        if (options.MaxRange <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:MaxRange must be positive, e.g. 366.00:00:00.");
        }

        if (options.MaxBuckets < 1)
        {
            failures.Add($"{Section}:MaxBuckets must be at least 1.");
        }

        if (options.MaxRows < 1)
        {
            failures.Add($"{Section}:MaxRows must be at least 1.");
        }

        if (options.MinStep < TimeSpan.FromMinutes(1) || options.MinStep.Ticks % TimeSpan.TicksPerMinute != 0)
        {
            failures.Add($"{Section}:MinStep must be a whole number of minutes, at least 00:01:00.");
        }

        failures.AddRange(options.FailureLimit.Validate(Section + ":FailureLimit"));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
