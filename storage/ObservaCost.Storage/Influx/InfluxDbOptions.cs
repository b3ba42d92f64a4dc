using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Influx;

/// <summary>Which InfluxDB write API to use.</summary>
public enum InfluxApiVersion
{
    /// <summary><c>/write?db=&amp;rp=</c> with Basic auth: InfluxDB 1.x, 3.x, VictoriaMetrics, 2.x compatibility API.</summary>
    V1,
    /// <summary><c>/api/v2/write?org=&amp;bucket=</c> with a token: InfluxDB 2.x and 3.x.</summary>
    V2,
}

/// <summary>Connection to an InfluxDB-compatible server. Configuration section <c>Storage:InfluxDb</c>.</summary>
public sealed class InfluxDbOptions
{
    public const string SectionName = "Storage:InfluxDb";

    /// <summary>Base URL, e.g. <c>http://influxdb:8086</c>.</summary>
    public Uri? Url { get; set; }

    public InfluxApiVersion ApiVersion { get; set; } = InfluxApiVersion.V1;

    /// <summary>v1 database (also the database InfluxQL queries name on every version).</summary>
    public string Database { get; set; } = "observacost";

    /// <summary>v1 retention policy; empty for the database default.</summary>
    public string? RetentionPolicy { get; set; }

    /// <summary>v2 organization.</summary>
    public string? Org { get; set; }

    /// <summary>v2 bucket; defaults to <see cref="Database"/>.</summary>
    public string? Bucket { get; set; }

    /// <summary>v2 API token (sent as <c>Authorization: Token</c>); with v1 it is sent the same way if no username is set.</summary>
    public string? Token { get; set; }

    /// <summary>v1 username (Basic auth).</summary>
    public string? Username { get; set; }

    /// <summary>v1 password (Basic auth).</summary>
    public string? Password { get; set; }

    public WritePrecision Precision { get; set; } = WritePrecision.Nanoseconds;

    /// <summary>Send write bodies gzip-compressed.</summary>
    public bool Gzip { get; set; } = true;

    /// <summary>
    /// v1: run <c>CREATE DATABASE</c> before the first write (harmless if it exists). v2: create the bucket (with
    /// <see cref="BucketRetention"/>) and the DBRP mapping InfluxQL reads need when the start-up checks find them missing.
    /// </summary>
    public bool CreateDatabase { get; set; } = true;

    /// <summary>
    /// v2: check the server before the first request (ping, organization, bucket, DBRP mapping; InfluxDb2Setup).
    /// Off for servers that take <c>/api/v2/write</c> but have no v2 management API (VictoriaMetrics).
    /// </summary>
    public bool StartupChecks { get; set; } = true;

    /// <summary>v2: retention of a bucket the start-up checks create; zero keeps data forever. Whole seconds.</summary>
    public TimeSpan BucketRetention { get; set; } = TimeSpan.Zero;

    /// <summary>Time limit of one try of an HTTP request (the retry pipeline's per-try timeout).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of one request at most (tries = this + 1); <c>RetryMaxElapsed</c> may stop them sooner.</summary>
    public int RetryMaxAttempts { get; set; } = 20;

    /// <summary>First retry delay; doubled on each retry, with jitter.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest delay between two tries.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>No new try once this long has passed since the first (then the store is reported unavailable).</summary>
    public TimeSpan RetryMaxElapsed { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Largest query response read, in bytes.</summary>
    public long MaxResponseBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Rows per chunk of a chunked InfluxQL response.</summary>
    public int QueryChunkSize { get; set; } = 10_000;

    public string EffectiveBucket => string.IsNullOrEmpty(Bucket) ? Database : Bucket;
}

/// <summary>Checks <see cref="InfluxDbOptions"/> and reports every problem with its configuration key.</summary>
public sealed class InfluxDbOptionsValidator : IValidateOptions<InfluxDbOptions>
{
    public ValidateOptionsResult Validate(string? name, InfluxDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        string p = InfluxDbOptions.SectionName + ":";
        if (options.Url is null)
        {
            failures.Add($"{p}Url is required when the InfluxDB backend is selected.");
        }
        else if (!options.Url.IsAbsoluteUri || (options.Url.Scheme != Uri.UriSchemeHttp && options.Url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{p}Url must be an absolute http or https URL (got '{options.Url}').");
        }

        if (string.IsNullOrWhiteSpace(options.Database))
        {
            failures.Add($"{p}Database is required (InfluxQL queries name it on every version).");
        }

        if (options.ApiVersion == InfluxApiVersion.V2)
        {
            if (string.IsNullOrWhiteSpace(options.Org))
            {
                failures.Add($"{p}Org is required with ApiVersion V2.");
            }

            if (string.IsNullOrWhiteSpace(options.Token))
            {
                failures.Add($"{p}Token is required with ApiVersion V2.");
            }
        }

        if (!string.IsNullOrEmpty(options.Username) && options.Password is null)
        {
            failures.Add($"{p}Password is required when {p}Username is set.");
        }

        Positive(options.RequestTimeout, "RequestTimeout");
        Positive(options.RetryInitialDelay, "RetryInitialDelay");
        Positive(options.RetryMaxDelay, "RetryMaxDelay");
        if (options.RetryMaxDelay < options.RetryInitialDelay)
        {
            failures.Add($"{p}RetryMaxDelay must not be shorter than {p}RetryInitialDelay.");
        }

        if (options.RequestTimeout > TimeSpan.FromDays(1))
        {
            failures.Add($"{p}RequestTimeout must be at most one day.");
        }

        if (options.BucketRetention < TimeSpan.Zero || options.BucketRetention.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            failures.Add($"{p}BucketRetention must be zero (forever) or a positive whole number of seconds.");
        }

        if (options.RetryMaxAttempts is < 0 or > 1000)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}RetryMaxAttempts must be between 0 and 1000 (got {options.RetryMaxAttempts})."));
        }
        if (options.RetryMaxElapsed < TimeSpan.Zero)
        {
            failures.Add($"{p}RetryMaxElapsed must not be negative.");
        }

        if (options.MaxResponseBytes < 1024)
        {
            failures.Add($"{p}MaxResponseBytes must be at least 1024.");
        }

        if (options.QueryChunkSize is < 1 or > 1_000_000)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}QueryChunkSize must be between 1 and 1000000 (got {options.QueryChunkSize})."));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Positive(TimeSpan value, string key)
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{p}{key} must be positive.");
            }
        }
    }
}
