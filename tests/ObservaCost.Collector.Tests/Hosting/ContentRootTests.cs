using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>The built binary started from another folder reads the appsettings.json shipped beside it (issue 10 item 10).</summary>
public sealed class ContentRootTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-cwd-" + Guid.NewGuid().ToString("N")[..12]);

    public ContentRootTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task CollectorBinary_StartedFromAnotherFolder_ReadsItsShippedSettingsAndTakesAnonymousLoopbackWrites()
    {
        // No auth option on the command line: only the shipped appsettings.json (Collector:Auth:AllowAnonymousLoopback
        // = true) lets a token-less loopback write in; with the working directory as content root it would answer 401.
        Assert.NotEqual(Path.GetDirectoryName(CollectorProcess.Dll), _dir);
        int port = InfluxDbServer.FreePort();
        using Process collector = await CollectorProcess.StartAsync(_dir, port, []);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")) };
            using var body = new StringContent("content_root_probe,node=n1 value=1\n", Encoding.UTF8, "text/plain");
            HttpResponseMessage response = await client.PostAsync("/write?precision=ns", body);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

            // Relative paths in the settings stay relative to the working directory: the spool and (once the forwarder
            // has written) the embedded store are created here, not beside the binary.
            string store = Path.Combine(_dir, "data", "observacost.db");
            var waited = Stopwatch.StartNew();
            while (!File.Exists(store) && waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            Assert.True(Directory.Exists(Path.Combine(_dir, "data", "spool")));
            Assert.True(File.Exists(store), store);
        }
        finally
        {
            collector.Kill(entireProcessTree: true);
            await collector.WaitForExitAsync();
        }
    }
}
