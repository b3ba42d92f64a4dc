using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Attribution;

public sealed class TokenUsageReaderTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-tokens-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static InferenceWindow Window(int minute, string model, string? tenant, string source, long prompt, long completion, long requests) => new()
    {
        WindowStart = T0.AddMinutes(minute), WindowLength = TimeSpan.FromSeconds(10), Model = model, Tenant = tenant, Source = source,
        PromptTokens = prompt, CompletionTokens = completion, RequestCount = requests,
    };

    [Fact]
    public async Task EachModelUsesOneSource_RequestLogsFirst_SummedPerTenant()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "t.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        using var writer = new LineProtocolWriter();
        InferenceWindow[] windows =
        [
            Window(1, "llama", "acme", "request_log", 100, 10, 2),
            Window(2, "llama", "acme", "request_log", 50, 5, 1),
            Window(2, "llama", "beta", "request_log", 7, 3, 1),
            Window(3, "llama", null, "vllm", 999, 999, 9),     // the same traffic seen by vLLM: not counted twice
            Window(3, "qwen", null, "vllm", 40, 60, 4),        // only vLLM knows this model
            Window(70, "llama", "acme", "request_log", 1, 1, 1), // outside the window
        ];
        foreach (InferenceWindow w in windows)
        {
            w.WriteTo(writer);
        }

        await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        IReadOnlyList<TokenUsage> usage = await TokenUsageReader.ReadAsync(store, T0, T0.AddHours(1));

        Assert.Equal(
            [new TokenUsage("llama", "acme", 150, 15, 3), new TokenUsage("llama", "beta", 7, 3, 1), new TokenUsage("qwen", null, 40, 60, 4)],
            usage.OrderBy(u => u.Model, StringComparer.Ordinal).ThenBy(u => u.Tenant, StringComparer.Ordinal));
    }
}
