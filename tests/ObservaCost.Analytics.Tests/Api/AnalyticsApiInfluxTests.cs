using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>The same fleet in a real InfluxDB and in the embedded store: the API answers the same on both.</summary>
public sealed class AnalyticsApiInfluxTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-api-influx-" + Guid.NewGuid().ToString("N")[..8]);
    private InfluxDbServer? _influx;

    public async Task InitializeAsync() => _influx = await InfluxDbServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task InfluxAndEmbedded_SameFleet_SameAnswers()
    {
        await _influx!.QueryAsync("CREATE DATABASE observacost");
        using var http = new HttpClient();
        var influxStore = new InfluxDbStore(http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost", CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        await using var sqliteStore = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "api.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        await ApiFleet.PopulateAsync(influxStore);
        await ApiFleet.PopulateAsync(sqliteStore);
        await using ApiHost onInflux = await ApiHost.StartAsync(influxStore);
        await using ApiHost onSqlite = await ApiHost.StartAsync(sqliteStore);

        string range = ApiFixture.WholeRange;
        (string Path, string Token)[] questions =
        [
            ($"/api/v1/cost?{range}", ApiHost.AdminToken),
            ($"/api/v1/cost?{range}&step=1h&groupBy=model,tenant,pool,node,gpu_model", ApiHost.AdminToken),
            ($"/api/v1/cost?{range}&step=2h&groupBy=model", ApiHost.AcmeToken),
            ($"/api/v1/cost?{range}&step=1h&groupBy=gpu,model,tenant", ApiHost.AdminToken),
            ($"/api/v1/idle?{range}&step=1h&groupBy=pool,node", ApiHost.AdminToken),
            ($"/api/v1/kpis?{range}&step=1h", ApiHost.AdminToken),
            ($"/api/v1/kpis?{range}", ApiHost.BetaToken),
        ];
        foreach ((string path, string token) in questions)
        {
            JsonElement expected = await onSqlite.GetOkAsync(path, token);
            JsonElement actual = await onInflux.GetOkAsync(path, token);
            Assert.True(expected.GetProperty("rows").GetArrayLength() > 0, path);
            JsonAgree(expected, actual, path);
        }
    }

    /// <summary>Same structure, same strings and nulls, numbers equal to rounding (the stores sum in different orders).</summary>
    private static void JsonAgree(JsonElement expected, JsonElement actual, string where)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{where}: {expected.ValueKind} vs {actual.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name), actual.EnumerateObject().Select(p => p.Name));
                foreach (JsonProperty property in expected.EnumerateObject())
                {
                    JsonAgree(property.Value, actual.GetProperty(property.Name), where + "." + property.Name);
                }

                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{where}: {expected.GetArrayLength()} vs {actual.GetArrayLength()} items");
                for (int i = 0; i < expected.GetArrayLength(); i++)
                {
                    JsonAgree(expected[i], actual[i], $"{where}[{i}]");
                }

                break;
            case JsonValueKind.Number:
                Precision.Close(expected.GetDouble(), actual.GetDouble());
                break;
            default:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{where}: {expected.GetRawText()} vs {actual.GetRawText()}");
                break;
        }
    }
}
