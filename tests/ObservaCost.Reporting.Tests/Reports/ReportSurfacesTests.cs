using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Scheduling.Reports;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Support;
using ObservaCost.SingleMachine.Cli;

namespace ObservaCost.Reporting.Tests.Reports;

/// <summary>
/// The report's three ways out, on the <see cref="TwoHourFleet"/>: <c>GET /api/v1/reports</c> (admin; a tenant token
/// gets 403), the <c>observacost report</c> verb on the same embedded store, and the scheduled job on a fake clock
/// with a real local webhook. Each gives the bytes the JSON writer gives for the same period.
/// </summary>
public sealed class ReportSurfacesTests : IClassFixture<EfficiencyReportEndToEndTests.Fleet>
{
    private readonly EfficiencyReportEndToEndTests.Fleet _fleet;

    public ReportSurfacesTests(EfficiencyReportEndToEndTests.Fleet fleet) => _fleet = fleet;

    private static string Query(string format) => string.Create(CultureInfo.InvariantCulture,
        $"/api/v1/reports?from={TwoHourFleet.Period:yyyy-MM-ddTHH:mm:ssZ}&to={TwoHourFleet.PeriodEnd:yyyy-MM-ddTHH:mm:ssZ}&format={format}");

    private async Task<byte[]> ExpectedAsync(IReportWriter writer) =>
        await EfficiencyReportEndToEndTests.BytesAsync(writer,
            await _fleet.Hours.Services.GetRequiredService<EfficiencyReportBuilder>().BuildAsync(new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd)));

    private async Task<HttpResponseMessage> GetAsync(string query, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await _fleet.Hours.Host.Client.SendAsync(request);
    }

    [Fact]
    public async Task Api_AdminToken_ReportFileWithContentTypeAndPeriodInFileName()
    {
        using HttpResponseMessage response = await GetAsync(Query("csv"), TwoHourFleet.AdminApiToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("observacost-report-2026-11-23T110000Z_2026-11-23T120000Z.csv", response.Content.Headers.ContentDisposition!.FileNameStar ?? response.Content.Headers.ContentDisposition.FileName);
        Assert.Equal(await ExpectedAsync(new CsvReportWriter()), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Api_TenantToken_Forbidden()
    {
        using HttpResponseMessage response = await GetAsync(Query("json"), TwoHourFleet.TenantApiToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Reports are admin-only", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_UnknownFormat_400ListingTheFormats()
    {
        using HttpResponseMessage response = await GetAsync(Query("pdf2"), TwoHourFleet.AdminApiToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("report format 'pdf2' is not available; the formats available are csv, json, md", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_ReportVerb_WritesTheJsonTheBuilderGives()
    {
        string output = Path.Combine(_fleet.Hours.Directory, "cli", "report.json");
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await ObservaCostCli.RunAsync(
            ["report", "--from", "2026-11-23T11:00:00Z", "--to", "2026-11-23T12:00:00Z", "--compare-previous", "--format", "json", "--out", output,
             "--Storage:Embedded:Path", _fleet.Hours.StorePath, "--Analytics:PricingFile", _fleet.Hours.PricingPath, "--Logging:LogLevel:Default", "Warning"],
            new CliContext(stdout, stderr, searchPath: string.Empty));

        Assert.True(code == 0, stderr.ToString());
        Assert.StartsWith("report 2026-11-23T11:00:00Z – 2026-11-23T12:00:00Z (json) written to ", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(await ExpectedAsync(new JsonReportWriter()), await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task Cli_PdfWithoutItsWriter_OneLineListingTheFormats_Exit2()
    {
        string output = Path.Combine(_fleet.Hours.Directory, "cli", "report.pdf");
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = await ObservaCostCli.RunAsync(
            ["report", "--from", "2026-11-23T11:00:00Z", "--to", "2026-11-23T12:00:00Z", "--format", "docx", "--out", output,
             "--Storage:Embedded:Path", _fleet.Hours.StorePath, "--Analytics:PricingFile", _fleet.Hours.PricingPath, "--Logging:LogLevel:Default", "Warning"],
            new CliContext(stdout, stderr, searchPath: string.Empty));

        Assert.Equal(2, code);
        Assert.StartsWith("observacost report: report format 'docx' is not available; the formats available are ", stderr.ToString().Trim(), StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task ScheduledWeekly_FakeMonday_WritesThePreviousWeekAndPostsItToTheWebhook()
    {
        // Monday 2026-11-30 06:00 UTC: the previous complete week is Monday 2026-11-23 00:00 to Monday 2026-11-30 00:00.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 6, 0, 0, TimeSpan.Zero));
        await using Webhook webhook = await Webhook.StartAsync(failFirst: 1);
        string directory = Path.Combine(_fleet.Hours.Directory, "weekly");
        ScheduledReportService service = Service(clock, new ScheduledReportOptions
        {
            Enabled = true, Formats = "csv,json", OutputDirectory = directory, WebhookUrl = webhook.Url, WebhookAttempts = 3, WebhookRetryDelay = TimeSpan.Zero,
        });

        ScheduledReportResult result = await service.RunAsync(ReportCadence.Weekly);

        Assert.Equal(new ReportPeriod(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero)), result.Period);
        Assert.Equal(
            [Path.Combine(directory, "observacost-report-2026-11-23_2026-11-30.csv"), Path.Combine(directory, "observacost-report-2026-11-23_2026-11-30.json")],
            result.Files);
        Assert.Equal(2, result.Delivered);

        // The first POST got a 500 and was tried again; the webhook holds both files as written.
        Assert.Equal(3, webhook.Calls);
        Assert.Equal(await File.ReadAllBytesAsync(result.Files[0]), webhook.Bodies["observacost-report-2026-11-23_2026-11-30.csv"]);
        Assert.Equal(await File.ReadAllBytesAsync(result.Files[1]), webhook.Bodies["observacost-report-2026-11-23_2026-11-30.json"]);

        // The week holds both hours: spend 3.739965277… + 3.715 $.
        string csv = await File.ReadAllTextAsync(result.Files[0]);
        string cost = csv.Split('\n').Single(l => l.StartsWith("fleet,,costUsd,", StringComparison.Ordinal));
        EfficiencyReportEndToEndTests.AssertClose(3.715 + 1.00 + 2.50 + (4_319_375 / 3.6e6 * 0.20), double.Parse(cost.Split(',')[4], CultureInfo.InvariantCulture), "weekly spend");
    }

    [Fact]
    public async Task ScheduledMonthly_WebhookAlwaysFails_FileKeptAndDeliveryZero()
    {
        // 2026-12-01 06:00: the previous complete month is November.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 6, 0, 0, TimeSpan.Zero));
        await using Webhook webhook = await Webhook.StartAsync(failFirst: int.MaxValue);
        string directory = Path.Combine(_fleet.Hours.Directory, "monthly");
        ScheduledReportService service = Service(clock, new ScheduledReportOptions
        {
            Enabled = true, Formats = "md", OutputDirectory = directory, WebhookUrl = webhook.Url, WebhookAttempts = 2, WebhookRetryDelay = TimeSpan.Zero,
        });

        ScheduledReportResult result = await service.RunAsync(ReportCadence.Monthly);

        Assert.Equal(Path.Combine(directory, "observacost-report-2026-11-01_2026-12-01.md"), result.Files.Single());
        Assert.True(File.Exists(result.Files.Single()));
        Assert.Equal(0, result.Delivered);
        Assert.Equal(2, webhook.Calls);
    }

    [Theory]
    [InlineData(ReportCadence.Weekly, "2026-11-29T23:59:59Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")]
    [InlineData(ReportCadence.Weekly, "2026-11-30T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z")]
    [InlineData(ReportCadence.Monthly, "2027-01-01T06:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [InlineData(ReportCadence.Monthly, "2026-03-15T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")]
    public void PreviousComplete_Cadence_WholeWeekOrMonthBeforeNow(ReportCadence cadence, string now, string from, string to)
    {
        ReportPeriod period = ScheduledReportService.PreviousComplete(cadence, DateTimeOffset.Parse(now, CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(from, CultureInfo.InvariantCulture), period.From);
        Assert.Equal(DateTimeOffset.Parse(to, CultureInfo.InvariantCulture), period.To);
    }

    private ScheduledReportService Service(TimeProvider clock, ScheduledReportOptions options)
    {
        IServiceProvider services = _fleet.Hours.Services;
        var schedule = new ReportScheduleOptions { Weekly = options, Monthly = options };
        return new ScheduledReportService(
            services.GetRequiredService<EfficiencyReportBuilder>(),
            services.GetRequiredService<ReportWriters>(),
            Options.Create(schedule),
            services.GetRequiredService<IHttpClientFactory>(),
            clock,
            services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            NullLogger<ScheduledReportService>.Instance);
    }

    /// <summary>A real HTTP listener on loopback that answers 500 to the first <c>failFirst</c> calls, then 204, keeping each body by file name.</summary>
    private sealed class Webhook : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _calls;

        private Webhook(WebApplication app, Uri url)
        {
            _app = app;
            Url = url;
        }

        public Uri Url { get; }

        public int Calls => Volatile.Read(ref _calls);

        public Dictionary<string, byte[]> Bodies { get; } = new(StringComparer.Ordinal);

        public static async Task<Webhook> StartAsync(int failFirst)
        {
            int port = ObservaCost.Testing.InfluxDbServer.FreePort();
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
            WebApplication app = builder.Build();
            Webhook? hook = null;
            app.MapPost("/hook", async (HttpContext context) =>
            {
                int call = Interlocked.Increment(ref hook!._calls);
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                if (call <= failFirst)
                {
                    return Results.StatusCode(500);
                }

                string name = ContentDispositionHeaderValue.Parse(context.Request.Headers.ContentDisposition.ToString()).FileName!.Trim('"');
                lock (hook.Bodies)
                {
                    hook.Bodies[name] = body.ToArray();
                }

                return Results.NoContent();
            });
            hook = new Webhook(app, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/hook")));
            await app.StartAsync();
            return hook;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
