using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Service;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>The <c>backfill</c> verb against a real influxd, its log captured at Information.</summary>
public sealed class BackfillInfluxLoggingTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private InfluxDbServer? _influx;

    public async Task InitializeAsync() => _influx = await InfluxDbServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }

    [Fact]
    public async Task Backfill_OneWindowOnInflux_LogsOneLinePerWindowAndNoRequestAtInformation()
    {
        await _influx!.QueryAsync("CREATE DATABASE observacost");
        using (var http = new HttpClient())
        {
            var store = new InfluxDbStore(http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost", CreateDatabase = false }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
            await SchedulingFixtures.WriteFleetAsync(store, T0.AddMinutes(-10), T0.AddHours(1).AddMinutes(10), TimeSpan.FromSeconds(20));
        }

        using var log = new CapturedLog();
        using var errors = new StringWriter();
        int code = await AnalyticsApplication.RunAsync(
            [
                "backfill", "--from", "2026-11-21T10:00:00Z", "--to", "2026-11-21T11:00:00Z",
                "--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", _influx.Url.ToString(), "--Storage:InfluxDb:Database", "observacost",
                "--Analytics:PricingFile", SchedulingFixtures.PricingFile, "--Logging:LogLevel:Default", "Information",
            ],
            errors,
            builder => builder.Logging.AddProvider(log));
        Assert.True(code == 0, errors.ToString());

        // Before: IHttpClientFactory's loggers wrote 4 Information lines per request (72 for one window); now the
        // requests are logged at Debug only. The window itself is one line ("Window 2026-11-21T10:00:00...: 2 GPUs").
        string all = string.Join('\n', log.Entries.Select(e => e.Category + ": " + e.Message));
        Assert.DoesNotContain(log.Entries, e => e.Category.StartsWith("System.Net.Http", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => e.Message.Contains("HTTP request", StringComparison.Ordinal) || e.Message.Contains("/query", StringComparison.Ordinal));
        Assert.Single(log.Entries, e => e.Message.StartsWith("Window 2026-11-21T10:00:00", StringComparison.Ordinal));
        Assert.True(log.Entries.Count <= 5, string.Create(CultureInfo.InvariantCulture, $"{log.Entries.Count} lines at Information:\n{all}"));
    }
}
