using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.SingleMachine;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.RequestLogs;

/// <summary>
/// The history import (<see cref="RequestLogImport"/>, verb <c>import-requests</c>) on the embedded store and a real
/// influxd: a file from last week, imported once and again, with bad lines, beside live and vLLM windows.
/// </summary>
public sealed class RequestLogImportTests : IDisposable
{
    /// <summary>"Now" is Monday 2026-11-30 10:00 UTC; the file holds requests of Monday 2026-11-23, 10:00–11:00.</summary>
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset From = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddHours(1);

    /// <summary>
    /// Seven lines, one-minute windows:
    /// 1. 10:00:05 llama/acme 100 + 20 tokens          → window 10:00 llama acme
    /// 2. 10:00:40 llama/acme usage 50 + 5 (total 55)   → same window: 2 requests, 150 prompt, 25 completion
    /// 3. negative prompt tokens                        → refused, NegativeTokens, line 3
    /// 4. 10:01:10 llama/globex 30 + 10, status 500     → window 10:01 llama globex 5xx: 1 request, 1 error
    /// 5. 10:02:00 mistral (no tenant) 7 + 3            → window 10:02 mistral
    /// 6. 11:00:00 llama/acme                           → refused, OutsideImportRange (--to is exclusive), line 6
    /// 7. not JSON                                      → refused, MalformedJson, line 7
    /// Read 7, imported 4 (1, 2, 4, 5), refused 3; 3 windows.
    /// </summary>
    private const string File =
        "{\"timestamp\":\"2026-11-23T10:00:05Z\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":100,\"completion_tokens\":20,\"latency_ms\":500}\n" +
        "{\"timestamp\":\"2026-11-23T10:00:40Z\",\"model\":\"llama\",\"tenant\":\"acme\",\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":5,\"total_tokens\":55},\"latency_ms\":300}\n" +
        "{\"timestamp\":\"2026-11-23T10:01:00Z\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":-1}\n" +
        "{\"timestamp\":\"2026-11-23T10:01:10Z\",\"model\":\"llama\",\"tenant\":\"globex\",\"prompt_tokens\":30,\"completion_tokens\":10,\"status\":500}\n" +
        "{\"timestamp\":\"2026-11-23T10:02:00Z\",\"model\":\"mistral\",\"prompt_tokens\":7,\"completion_tokens\":3}\n" +
        "{\"timestamp\":\"2026-11-23T11:00:00Z\",\"model\":\"llama\",\"tenant\":\"acme\",\"prompt_tokens\":1,\"completion_tokens\":1}\n" +
        "not json\n";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-import-" + Guid.NewGuid().ToString("N")[..12]);

    public RequestLogImportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static RequestLogOptions Options => new() { Aggregation = new InferenceWindowAggregatorOptions { WindowLength = TimeSpan.FromMinutes(1) } };

    private string WriteFile(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private SqliteStore NewSqliteStore() =>
        new(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);

    private static TimeSeriesQuery Totals() =>
        TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.RequestCount, "requests").Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion")
            .Sum(Fields.ErrorCount, "errors").Count(Fields.RequestCount, "windows")
            .Between(From, To).GroupBy(Tags.Model, Tags.Tenant, Tags.Source).Build();

    /// <summary>(model, tenant, source) → [requests, prompt, completion, errors, windows].</summary>
    private static async Task<Dictionary<string, double[]>> ReadTotalsAsync(ITimeSeriesStore store) =>
        (await store.QueryAsync(Totals())).Series.ToDictionary(
            s => $"{s.Tags[Tags.Model]}/{s.Tags[Tags.Tenant]}/{s.Tags[Tags.Source]}",
            s => s.Rows.Single().Values.Select(v => v.IsNull ? 0 : v.Number).ToArray(),
            StringComparer.Ordinal);

    private static async Task AssertOneImportAsync(ITimeSeriesStore store)
    {
        Dictionary<string, double[]> totals = await ReadTotalsAsync(store);
        Assert.Equal(3, totals.Count);
        Assert.Equal([2.0, 150, 25, 0, 1], totals["llama/acme/request_log_import"]);
        Assert.Equal([1.0, 30, 10, 1, 1], totals["llama/globex/request_log_import"]);
        Assert.Equal([1.0, 7, 3, 0, 1], totals["mistral//request_log_import"]);
    }

    private static async Task WriteAsync(ITimeSeriesStore store, params InferenceWindow[] windows)
    {
        using var writer = new LineProtocolWriter();
        foreach (InferenceWindow w in windows)
        {
            Assert.True(w.WriteTo(writer));
        }

        await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
    }

    private static InferenceWindow Window(DateTimeOffset start, string model, string? tenant, string source, long prompt, long completion) => new()
    {
        WindowStart = start,
        WindowLength = TimeSpan.FromMinutes(1),
        Model = model,
        Tenant = tenant,
        Source = source,
        RequestCount = 1,
        PromptTokens = prompt,
        CompletionTokens = completion,
    };

    [Fact]
    public async Task Import_FileFromLastWeek_WindowsExact_BadLinesRefusedByLine()
    {
        using SqliteStore store = NewSqliteStore();
        var import = new RequestLogImport(store, Options, new FakeTimeProvider(Now));

        RequestLogImportSummary summary = await import.RunAsync(WriteFile("week.jsonl", File), From, To);

        Assert.Equal(7, summary.RecordsRead);
        Assert.Equal(4, summary.RecordsImported);
        Assert.Equal(3, summary.WindowsWritten);
        Assert.Equal(["llama", "mistral"], summary.Models);
        Assert.Equal(
            [(3, RequestLogRejectionReason.NegativeTokens), (6, RequestLogRejectionReason.OutsideImportRange), (7, RequestLogRejectionReason.MalformedJson)],
            summary.Refused.Select(r => (r.LineNumber!.Value, r.Reason)));
        await AssertOneImportAsync(store);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("influxdb")]
    public async Task Import_Twice_AndAnOverlappingRange_LeaveWhatOneImportLeaves(string backend)
    {
        await using InfluxDbServer? influx = backend == "influxdb" ? await InfluxDbServer.StartAsync() : null;
        using var http = new HttpClient();
        using SqliteStore? sqlite = influx is null ? NewSqliteStore() : null;
        ITimeSeriesStore store = (ITimeSeriesStore?)sqlite
            ?? new InfluxDbStore(http, new InfluxDbOptions { Url = influx!.Url, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
        var import = new RequestLogImport(store, Options, new FakeTimeProvider(Now));
        string path = WriteFile("week.jsonl", File);

        await import.RunAsync(path, From, To);
        await import.RunAsync(path, From, To);
        await AssertOneImportAsync(store);

        // [10:00, 10:02): llama's lines 1, 2, 4 again (mistral's 10:02 line is outside): llama's imported windows in the
        // range are replaced, mistral's stay. Same totals.
        RequestLogImportSummary overlap = await import.RunAsync(path, From, From.AddMinutes(2));
        Assert.Equal(["llama"], overlap.Models);
        Assert.Equal(3, overlap.RecordsImported);
        await AssertOneImportAsync(store);
    }

    [Fact]
    public async Task Import_BesideLiveAndVllmWindows_DeletesNeitherAndTokenUsageCountsEachOnce()
    {
        using SqliteStore store = NewSqliteStore();

        // Live request-log window for llama/acme at 10:00 (the same traffic the file holds, seen live) and a vLLM window
        // for mistral at 10:02.
        await WriteAsync(store,
            Window(From, "llama", "acme", "request_log", 1000, 200),
            Window(From.AddMinutes(2), "mistral", null, "vllm", 999, 99));
        await new RequestLogImport(store, Options, new FakeTimeProvider(Now)).RunAsync(WriteFile("week.jsonl", File), From, To);

        Dictionary<string, double[]> totals = await ReadTotalsAsync(store);
        Assert.Equal([1.0, 1000, 200, 0, 1], totals["llama/acme/request_log"]);
        Assert.Equal([1.0, 999, 99, 0, 1], totals["mistral//vllm"]);
        Assert.Equal(5, totals.Count);

        // One source per model: llama has live request logs, so only they count (1000 + 200; the imported 150 + 25 and
        // 30 + 10 are not added); mistral has no live logs, so its import (7 + 3) counts instead of vLLM's 999 + 99.
        IReadOnlyList<TokenUsage> usage = await TokenUsageReader.ReadAsync(store, From, To);
        Assert.Equal(
            [("llama", "acme", 1000L, 200L), ("mistral", (string?)null, 7L, 3L)],
            usage.OrderBy(u => u.Model, StringComparer.Ordinal).Select(u => (u.Model, u.Tenant, u.PromptTokens, u.CompletionTokens)));

        // Without the live window llama's imported windows count, each once: acme 150 + 25, globex 30 + 10.
        await store.DeleteAsync(Measurements.InferenceWindow, From, To, new Dictionary<string, string> { [Tags.Source] = "request_log" });
        usage = await TokenUsageReader.ReadAsync(store, From, To);
        Assert.Equal(
            [("llama", "acme", 150L, 25L), ("llama", "globex", 30L, 10L), ("mistral", (string?)null, 7L, 3L)],
            usage.OrderBy(u => u.Model, StringComparer.Ordinal).ThenBy(u => u.Tenant, StringComparer.Ordinal).Select(u => (u.Model, u.Tenant, u.PromptTokens, u.CompletionTokens)));
    }

    [Fact]
    public async Task Import_RangeNotOnWindowsOrNotClosed_IsRefused()
    {
        using SqliteStore store = NewSqliteStore();
        var import = new RequestLogImport(store, Options, new FakeTimeProvider(Now));
        string path = WriteFile("week.jsonl", File);
        await Assert.ThrowsAsync<ArgumentException>(() => import.RunAsync(path, From.AddSeconds(30), To));
        await Assert.ThrowsAsync<ArgumentException>(() => import.RunAsync(path, From, Now.AddMinutes(1)));
    }

    private string[] HostArgs(params string[] extra) =>
    [
        "--Storage:Embedded:Path", Path.Combine(_dir, "verb.db"),
        "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
        "--Collector:RequestLogs:Aggregation:WindowLength", "00:01:00",
        "--Logging:LogLevel:Default", "Warning",
        .. extra,
    ];

    [Fact]
    public async Task Verb_ImportsWithCounts_AndAnUnreadableFileExitsNonZero()
    {
        string path = WriteFile("week.jsonl", File);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        void Clock(WebApplicationBuilder b) => b.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));

        int code = await SingleMachineApplication.RunAsync(
            [RequestLogImportCommand.Verb, path, "--from", "2026-11-23T10:00:00Z", "--to", "2026-11-23T11:00:00Z", .. HostArgs()], errors, Clock, output);

        Assert.Equal(0, code);
        Assert.Contains("7 records read, 4 imported, 3 refused; 3 windows written", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("refused line 3: NegativeTokens", errors.ToString(), StringComparison.Ordinal);

        using var missingErrors = new StringWriter(CultureInfo.InvariantCulture);
        int missing = await SingleMachineApplication.RunAsync(
            [RequestLogImportCommand.Verb, Path.Combine(_dir, "absent.jsonl"), "--from", "2026-11-23T10:00:00Z", "--to", "2026-11-23T11:00:00Z", .. HostArgs()], missingErrors, Clock, output);
        Assert.Equal(1, missing);
        Assert.Contains("absent.jsonl", missingErrors.ToString(), StringComparison.Ordinal);

        Assert.Equal(2, await SingleMachineApplication.RunAsync([RequestLogImportCommand.Verb, path, "--from", "2026-11-23T10:00:00Z"], errors, output: output));
    }
}
