using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>One real influxd shared by the tests of the "influxdb" collection; each test uses its own database.</summary>
public sealed class InfluxDbFixture : IAsyncLifetime
{
    private InfluxDbServer? _server;
    private int _databases;

    public InfluxDbServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public async Task InitializeAsync() => _server = await InfluxDbServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public InfluxDbOptions Options(string? database = null) => new()
    {
        Url = Server.Url,
        Database = database ?? "test_" + Interlocked.Increment(ref _databases),
        RetryInitialDelay = TimeSpan.FromMilliseconds(50),
        RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        RetryMaxElapsed = TimeSpan.FromSeconds(5),
        QueryChunkSize = 5000,
    };

    public static InfluxDbStore CreateStore(InfluxDbOptions options, HttpClient? http = null) =>
        new(http ?? new HttpClient(), options, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
}

[CollectionDefinition(Name)]
public sealed class InfluxDbCollection : ICollectionFixture<InfluxDbFixture>
{
    public const string Name = "influxdb";
}

internal static class BatchExtensions
{
    public static LineProtocolBatch ToBatch(this LineProtocolWriter writer) => new(writer.WrittenMemory, writer.PointCount, writer.Precision);

    public static LineProtocolBatch Lines(string text, int points, WritePrecision precision = WritePrecision.Nanoseconds) =>
        new(System.Text.Encoding.UTF8.GetBytes(text), points, precision);
}
