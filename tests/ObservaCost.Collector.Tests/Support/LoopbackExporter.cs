using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>A real HTTP server on a loopback port serving exporter pages, and the scrape-target settings that point at it.</summary>
internal sealed class LoopbackExporter : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _requests;

    private LoopbackExporter(WebApplication app, string url, ConcurrentDictionary<string, int> requests)
    {
        _app = app;
        Url = url;
        _requests = requests;
    }

    public string Url { get; }

    /// <summary>How many times <paramref name="path"/> has been fetched.</summary>
    public int Requests(string path) => _requests.GetValueOrDefault(path);

    /// <summary>Starts a server with one Prometheus text page per path.</summary>
    public static Task<LoopbackExporter> StartAsync(IReadOnlyDictionary<string, string> pages) =>
        StartAsync(pages.ToDictionary(p => p.Key, p => (Func<string>)(() => p.Value), StringComparer.Ordinal));

    /// <summary>Starts a server with one Prometheus text page per path, made afresh for each request (counters that grow).</summary>
    public static async Task<LoopbackExporter> StartAsync(IReadOnlyDictionary<string, Func<string>> pages)
    {
        string url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{InfluxDbServer.FreePort()}");
        WebApplication app = WebApplication.CreateSlimBuilder(["--urls", url]).Build();
        var requests = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        foreach ((string path, Func<string> page) in pages)
        {
            app.MapGet(path, () =>
            {
                requests.AddOrUpdate(path, 1, (_, n) => n + 1);
                return Results.Text(page(), "text/plain; version=0.0.4");
            });
        }

        await app.StartAsync();
        return new LoopbackExporter(app, url, requests);
    }

    /// <summary>The command-line settings of scrape target <paramref name="i"/> at <paramref name="path"/> (1 s interval), then <paramref name="more"/> key/value pairs.</summary>
    public string[] Target(int i, string name, string path, string kind, params string[] more)
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"--Collector:Scrape:Targets:{i}:");
        return [p + "Name", name, p + "Url", Url + path, p + "Kind", kind, p + "Interval", "00:00:01", p + "Timeout", "00:00:01", .. more.Select((m, k) => k % 2 == 0 ? p + m : m)];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
