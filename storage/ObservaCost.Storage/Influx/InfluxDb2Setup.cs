using System.Globalization;
using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Api.Service;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Logging;

namespace ObservaCost.Storage.Influx;

/// <summary>
/// Start-up checks of an InfluxDB 2.x or Cloud server (<c>Storage:InfluxDb:ApiVersion=V2</c>), through the official
/// client InfluxDB.Client 5.1.0 on the store's own <see cref="HttpClient"/>: the server answers <c>/ping</c>; the
/// organization exists; the bucket exists, or is created with <c>BucketRetention</c> when <c>CreateDatabase</c> allows;
/// the DBRP mapping from <c>Database</c>/<c>RetentionPolicy</c> to the bucket that InfluxQL reads on <c>/query</c>
/// need exists, or is created likewise. Writes and reads do not go through the client (see docs/storage.md: the
/// project's encoder measured faster, and InfluxDB.Client 5.1.0 has no InfluxQL query API).
/// </summary>
internal sealed partial class InfluxDb2Setup(HttpClient http, InfluxDbOptions options, ILogger logger)
{
    /// <summary>The DBRP retention policy name when <c>RetentionPolicy</c> is empty, as InfluxDB 2.x's own mappings use.</summary>
    internal const string DefaultRetentionPolicy = "autogen";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string p = InfluxDbOptions.SectionName + ":";
        using var client = new InfluxDBClient(new InfluxDBClientOptions(options.Url!.AbsoluteUri)
        {
            Token = options.Token,
            Org = options.Org,
            Bucket = options.EffectiveBucket,
            HttpClient = http,
            Timeout = options.RequestTimeout,
        });
        try
        {
            if (!await client.PingAsync())
            {
                throw new StoreUnavailableException($"InfluxDB at {options.Url} did not answer /ping ({p}Url).");
            }

            List<Organization> orgs = await client.GetOrganizationsApi().FindOrganizationsAsync(org: options.Org, cancellationToken: cancellationToken);
            Organization org = orgs.FirstOrDefault(o => o.Name == options.Org)
                ?? throw new StoreRequestException($"InfluxDB has no organization '{options.Org}' ({p}Org).");

            Bucket? bucket = await client.GetBucketsApi().FindBucketByNameAsync(options.EffectiveBucket, cancellationToken);
            if (bucket is null)
            {
                if (!options.CreateDatabase)
                {
                    throw new StoreRequestException($"InfluxDB has no bucket '{options.EffectiveBucket}' ({p}Bucket) and {p}CreateDatabase is false.");
                }

                var rule = new BucketRetentionRules(BucketRetentionRules.TypeEnum.Expire, (long)options.BucketRetention.TotalSeconds);
                bucket = await client.GetBucketsApi().CreateBucketAsync(options.EffectiveBucket, rule, org.Id, cancellationToken);
                LogBucketCreated(logger, bucket.Name, (long)options.BucketRetention.TotalSeconds);
            }

            string rp = string.IsNullOrEmpty(options.RetentionPolicy) ? DefaultRetentionPolicy : options.RetentionPolicy;
            var dbrps = client.CreateService<DBRPsService>(typeof(DBRPsService));
            DBRPs existing = await dbrps.GetDBRPsAsync(orgID: org.Id, bucketID: bucket.Id, db: options.Database, rp: rp, cancellationToken: cancellationToken);
            if (existing.Content is { Count: > 0 })
            {
                return;
            }

            if (!options.CreateDatabase)
            {
                throw new StoreRequestException($"InfluxDB has no DBRP mapping of database '{options.Database}' ({p}Database), retention policy '{rp}' to bucket '{bucket.Name}' and {p}CreateDatabase is false.");
            }

            await dbrps.PostDBRPAsync(new DBRPCreate(orgID: org.Id, bucketID: bucket.Id, database: options.Database, retentionPolicy: rp, _default: true), cancellationToken: cancellationToken);
            LogDbrpCreated(logger, options.Database, rp, bucket.Name);
        }
        catch (HttpException ex)
        {
            string message = string.Create(CultureInfo.InvariantCulture, $"InfluxDB refused a start-up check with {ex.Status}: {ex.Message}");
            throw ex.Status is 429 or >= 500 ? new StoreUnavailableException(message, ex) : new StoreRequestException(message, ex.Status);
        }
        catch (HttpRequestException ex)
        {
            throw new StoreUnavailableException($"InfluxDB at {options.Url} is unreachable: {ex.Message}", ex);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Created InfluxDB bucket {Bucket} (retention {RetentionSeconds} s, 0 = forever)")]
    private static partial void LogBucketCreated(ILogger logger, string bucket, long retentionSeconds);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Created the DBRP mapping {Database}/{RetentionPolicy} -> bucket {Bucket} for InfluxQL reads")]
    private static partial void LogDbrpCreated(ILogger logger, string database, string retentionPolicy, string bucket);
}
