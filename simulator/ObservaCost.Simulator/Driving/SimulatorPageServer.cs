using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObservaCost.Simulator.Output;

namespace ObservaCost.Simulator.Driving;

/// <summary>
/// Serves one dcgm-exporter page per simulated node at <c>GET /nodes/{node}/metrics</c> on loopback, from the latest
/// readings <see cref="Update"/> was given (404 for an unknown node, 503 before the first update).
/// </summary>
public sealed class SimulatorPageServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private Dictionary<string, string> _pages = new(StringComparer.Ordinal);

    private SimulatorPageServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the pages are, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts the server on 127.0.0.1:<paramref name="port"/> (0: a free port).</summary>
    public static async Task<SimulatorPageServer> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        SimulatorPageServer? server = null;
        app.MapGet("/nodes/{node}/metrics", (string node) => server!.Page(node));
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new SimulatorPageServer(app, new Uri(address.TrimEnd('/') + "/"));
        return server;
    }

    /// <summary>The page URL of <paramref name="node"/>.</summary>
    public Uri PageOf(string node) => new(BaseAddress, "nodes/" + Uri.EscapeDataString(node) + "/metrics");

    /// <summary>Replaces every node's page with the given readings.</summary>
    public void Update(IEnumerable<GpuReading> readings)
    {
        var pages = readings.GroupBy(r => r.Gpu.Node, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => SimulatorEncoding.DcgmPage(g), StringComparer.Ordinal);
        lock (_lock)
        {
            _pages = pages;
        }
    }

    private IResult Page(string node)
    {
        Dictionary<string, string> pages;
        lock (_lock)
        {
            pages = _pages;
        }

        return pages.Count == 0 ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable)
            : pages.TryGetValue(node, out string? page) ? Results.Text(page, "text/plain; version=0.0.4; charset=utf-8")
            : Results.NotFound();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
