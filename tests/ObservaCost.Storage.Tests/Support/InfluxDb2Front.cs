using System.Collections.Concurrent;
using System.Net.Http.Headers;
using static ObservaCost.Storage.Tests.Support.LoopbackHttpServer;

namespace ObservaCost.Storage.Tests.Support;

/// <summary>
/// An InfluxDB 2.x front over a real influxd 1.6.7, which predates the v2 API (it answers 404 to <c>/api/v2/*</c>):
/// the v2 management calls (<c>/api/v2/orgs</c>, <c>/api/v2/buckets</c>, <c>/api/v2/dbrps</c>) answered as InfluxDB
/// 2.x's OpenAPI describes, a created bucket made a database on influxd; <c>/api/v2/write?org=&amp;bucket=&amp;precision=</c>
/// translated to influxd's <c>/write?db=bucket</c> with the body and its encoding unchanged; <c>/query</c> passed
/// through once its <c>db</c> has a DBRP mapping (as 2.x requires); <c>/ping</c> passed through. Every call but
/// <c>/ping</c> must carry <c>Authorization: Token</c> with the token given. So the store's V2 code path runs against
/// influxd's real storage and InfluxQL. Without an influxd (<c>null</c>) it is the management API alone: <c>/ping</c>
/// and writes answer 204, a created bucket is only recorded.
/// </summary>
internal static class InfluxDb2Front
{
    public const string OrgId = "0a1b2c3d4e5f6071";
    private static readonly HttpClient Http = new();

    /// <summary>The id the front gives the <paramref name="n"/>-th bucket (0-based), created or preset.</summary>
    public static string BucketId(int n) => (0xb000 + n).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Starts a front; <paramref name="existingBucket"/> (and its mapping from <paramref name="existingMapping"/>) exist from the start.</summary>
    public static LoopbackHttpServer Start(Uri? influxd, string token, string? existingBucket = null, string? existingMapping = null)
    {
        var buckets = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // name -> id
        var mappings = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // database -> bucket name
        if (existingBucket is not null)
        {
            buckets[existingBucket] = BucketId(0);
            if (existingMapping is not null)
            {
                mappings[existingMapping] = existingBucket;
            }
        }

        return LoopbackHttpServer.StartAsync(async (r, i) =>
        {
            string path = r.PathAndQuery.Split('?')[0];
            Dictionary<string, string> query = Query(r.PathAndQuery);
            if (path != "/ping" && r.Authorization != "Token " + token)
            {
                return new Answer(401, """{"code":"unauthorized","message":"unauthorized access"}""");
            }

            switch (r.Method, path)
            {
                case ("GET" or "HEAD", "/ping") when influxd is null:
                    return new Answer(204);
                case ("GET" or "HEAD", "/ping"):
                    return await ForwardAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(influxd!, "ping")));
                case ("GET", "/api/v2/orgs"):
                    return new Answer(200, $$"""{"orgs":[{"id":"{{OrgId}}","name":"acme"}]}""");
                case ("GET", "/api/v2/buckets"):
                    return new Answer(200, query.TryGetValue("name", out string? name) && buckets.TryGetValue(name, out string? id)
                        ? "{\"buckets\":[" + Bucket(name, id) + "]}"
                        : """{"buckets":[]}""");
                case ("POST", "/api/v2/buckets"):
                {
                    string bucket = System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("name").GetString()!;
                    string bucketId = BucketId(buckets.Count);
                    if (influxd is null)
                    {
                        buckets[bucket] = bucketId;
                        return new Answer(201, Bucket(bucket, bucketId));
                    }

                    Answer created = await ForwardAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(influxd!, "query"))
                    {
                        Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = "CREATE DATABASE \"" + bucket + "\"" }),
                    });
                    if (created.Status != 200)
                    {
                        return created;
                    }

                    buckets[bucket] = bucketId;
                    return new Answer(201, Bucket(bucket, bucketId));
                }

                case ("GET", "/api/v2/dbrps"):
                    return new Answer(200, query.TryGetValue("db", out string? db) && mappings.TryGetValue(db, out string? mapped)
                        ? "{\"content\":[" + Dbrp(db, buckets[mapped]) + "]}"
                        : """{"content":[]}""");
                case ("POST", "/api/v2/dbrps"):
                {
                    System.Text.Json.JsonElement create = System.Text.Json.JsonDocument.Parse(r.Body).RootElement;
                    string database = create.GetProperty("database").GetString()!;
                    string bucketId = create.GetProperty("bucketID").GetString()!;
                    mappings[database] = buckets.Single(b => b.Value == bucketId).Key;
                    return new Answer(201, Dbrp(database, bucketId));
                }

                case ("POST", "/api/v2/write") when influxd is null:
                    return new Answer(204);
                case ("POST", "/api/v2/write"):
                {
                    string precision = query["precision"] switch { "ns" => "n", "us" => "u", string p => p };
                    var content = new ByteArrayContent(r.BodyBytes);
                    content.Headers.ContentType = MediaTypeHeaderValue.Parse(r.ContentType ?? "text/plain");
                    if (!string.IsNullOrEmpty(r.ContentEncoding))
                    {
                        content.Headers.ContentEncoding.Add(r.ContentEncoding);
                    }

                    return await ForwardAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(influxd!, "write?db=" + Uri.EscapeDataString(query["bucket"]) + "&precision=" + precision)) { Content = content });
                }

                case ("POST", "/query"):
                {
                    Dictionary<string, string> form = Query("?" + r.Body);
                    if (!form.TryGetValue("db", out string? database) || !mappings.TryGetValue(database, out string? bucket))
                    {
                        return new Answer(404, """{"code":"not found","message":"database not found"}""");
                    }

                    form["db"] = bucket;
                    return await ForwardAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(influxd!, "query")) { Content = new FormUrlEncodedContent(form) });
                }

                default:
                    return new Answer(404, """{"code":"not found","message":"path not found"}""");
            }
        });
    }

    private static string Bucket(string name, string id) =>
        $$"""{"id":"{{id}}","name":"{{name}}","orgID":"{{OrgId}}","type":"user","retentionRules":[]}""";

    private static string Dbrp(string database, string bucketId) =>
        $$"""{"id":"00000000000000d1","orgID":"{{OrgId}}","bucketID":"{{bucketId}}","database":"{{database}}","retention_policy":"autogen","default":true,"virtual":false}""";

    private static Dictionary<string, string> Query(string pathAndQuery)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        int q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return result;
        }

        foreach (string pair in pathAndQuery[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
            result[key] = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
        }

        return result;
    }

    private static async Task<Answer> ForwardAsync(HttpRequestMessage request)
    {
        using (request)
        {
            using HttpResponseMessage response = await Http.SendAsync(request);
            byte[] body = await response.Content.ReadAsByteArrayAsync();
            return new Answer((int)response.StatusCode, ContentType: response.Content.Headers.ContentType?.ToString() ?? "application/json", BodyBytes: body);
        }
    }
}
