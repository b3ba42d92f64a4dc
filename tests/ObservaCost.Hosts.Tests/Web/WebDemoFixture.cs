using System.Globalization;
using Microsoft.Playwright;
using ObservaCost.Analytics.Api;
using ObservaCost.SingleMachine;
using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Web;

/// <summary>
/// The single-machine host running <c>observacost run --demo --history 1d</c> (the demo fleet's last day written
/// through the collector, backfilled, anomalies found), with anonymous loopback reads off and two read tokens (an
/// admin and tenant <c>acme</c>), and one headless Debian chromium driven by Playwright for the whole test class.
/// Playwright never downloads a browser: it launches /usr/bin/chromium by its executable path.
/// </summary>
public sealed class WebDemoFixture : IAsyncLifetime
{
    public const string AdminToken = "web-test-admin-token-0123456789";
    public const string TenantToken = "web-test-acme-token-0123456789";
    public const string Tenant = "acme";
    public const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(10);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-web-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _outputText = new(CultureInfo.InvariantCulture);
    private TextWriter _output = TextWriter.Null;
    private Task<int>? _run;
    private IPlaywright? _playwright;

    public string BaseUrl { get; private set; } = string.Empty;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the tests save their screenshots (the test output folder).</summary>
    public string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "web-screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(ScreenshotDirectory);
        int port = InfluxDbServer.FreePort();
        BaseUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        _output = TextWriter.Synchronized(_outputText);
        string[] args =
        [
            "run", "--demo", "--history", "1d",
            "--urls", BaseUrl,
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
            "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
            "--Analytics:Api:AllowAnonymousLoopback", "false",
            "--Analytics:Api:Tokens:0:Name", "web-admin",
            "--Analytics:Api:Tokens:0:Sha256", ApiAuthentication.HashToken(AdminToken),
            "--Analytics:Api:Tokens:0:Admin", "true",
            "--Analytics:Api:Tokens:1:Name", "web-acme",
            "--Analytics:Api:Tokens:1:Sha256", ApiAuthentication.HashToken(TenantToken),
            "--Analytics:Api:Tokens:1:Tenant", Tenant,
            "--Logging:LogLevel:Default", "Warning",
        ];
        _run = Task.Run(() => SingleMachineApplication.RunAsync(args, _output, output: _output, cancellationToken: _stop.Token));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Output().Contains("Where to look", StringComparison.Ordinal))
        {
            if (_run.IsCompleted || clock.Elapsed > HangLimit)
            {
                throw new InvalidOperationException("The demo did not come up:\n" + Output());
            }

            await Task.Delay(250);
        }

        // Playwright's driver ships in its package; browsers come from Debian, never from a download.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root in a container has no user namespace for chromium's sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
    }

    public string Output()
    {
        lock (_output)
        {
            return _outputText.ToString();
        }
    }

    /// <summary>A browser context of the given width, signed in with <paramref name="token"/> through the sign-in form.</summary>
    public async Task<IBrowserContext> SignedInAsync(string token, int width)
    {
        IBrowserContext context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = 900 },
        });
        IPage page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await page.FillAsync("#token", token);
        await page.ClickAsync("form.signin button");
        // The cookie comes with the sign-in answer's redirect: the navigation to "/" committing is enough (waiting for the
        // load event as well once timed out at 30 s on a loaded machine although the page had gone network-idle).
        await page.WaitForURLAsync(BaseUrl + "/", new PageWaitForURLOptions { WaitUntil = WaitUntilState.Commit });
        await page.CloseAsync();
        return context;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await Task.WhenAny(_run, Task.Delay(TimeSpan.FromSeconds(60)));
        }

        _stop.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
