using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObservaCost.Storage.Configuration;
using ObservaCost.Storage.Diagnostics;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;

namespace ObservaCost.Storage.Tests.Schema;

public sealed class OptionsValidationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddObservaCostStorage(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void InfluxBackend_WithoutUrlAndWithBadValues_NamesEveryKey()
    {
        using ServiceProvider sp = Build(new()
        {
            ["Storage:Backend"] = "InfluxDb",
            ["Storage:InfluxDb:ApiVersion"] = "V2",
            ["Storage:InfluxDb:QueryChunkSize"] = "0",
        });
        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<InfluxDbOptions>>().Value);
        Assert.Contains("Storage:InfluxDb:Url is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:InfluxDb:Org is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:InfluxDb:Token is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:InfluxDb:QueryChunkSize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultBackend_IsTheEmbeddedStore()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-opt-" + Guid.NewGuid().ToString("N")[..8]);
        await using (ServiceProvider sp = Build(new() { ["Storage:Embedded:Path"] = Path.Combine(dir, "x.db") }))
        {
            ITimeSeriesStore store = sp.GetRequiredService<ITimeSeriesStore>();
            // The configured store is wrapped once by the store client's instruments (observacost.store.*).
            Assert.IsType<SqliteStore>(Assert.IsType<InstrumentedTimeSeriesStore>(store).Inner);
            Assert.True(await store.PingAsync());
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Embedded_NegativeRetention_IsRejected()
    {
        var result = new SqliteStoreOptionsValidator().Validate(null, new SqliteStoreOptions { Retention = TimeSpan.FromDays(-1) });
        Assert.Contains("Storage:Embedded:Retention", result.FailureMessage, StringComparison.Ordinal);
    }
}
