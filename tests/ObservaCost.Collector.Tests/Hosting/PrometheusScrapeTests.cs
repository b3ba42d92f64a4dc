using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>
/// A running collector's <c>/metrics</c> scraped by the real Prometheus (Debian's <c>prometheus</c>, 2.42), started on
/// a free loopback port with a temporary configuration and storage folder and stopped by its process id.
/// </summary>
public sealed class PrometheusScrapeTests
{
    [Fact]
    public async Task Metrics_ScrapedByPrometheus_TargetUpAndReceivedCounterExact()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        long now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        // Three points accepted from line protocol: observacost_collector_points_received_total{source="line_protocol"} 3.
        using var write = new HttpRequestMessage(HttpMethod.Post, "/write?precision=s")
        {
            Content = new StringContent($"scrape,k=1 v=1 {now}\nscrape,k=2 v=2 {now}\nscrape,k=3 v=3 {now}\n", Encoding.UTF8, "text/plain"),
        };
        write.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await host.Client.SendAsync(write)).StatusCode);

        string dir = Path.Combine(host.Directory, "prometheus");
        Directory.CreateDirectory(dir);
        int port = InfluxDbServer.FreePort();
        string config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: observacost
                static_configs:
                  - targets: ["127.0.0.1:{host.Port}"]
            """));
        var start = new ProcessStartInfo("prometheus")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(dir, "data"), string.Create(CultureInfo.InvariantCulture, $"--web.listen-address=127.0.0.1:{port}") })
        {
            start.ArgumentList.Add(arg);
        }

        using Process prometheus = Process.Start(start)!;
        var log = new StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")) };
            string? health = await PollAsync(api, "api/v1/targets", json =>
                json.RootElement.GetProperty("data").GetProperty("activeTargets") is { ValueKind: JsonValueKind.Array } targets && targets.GetArrayLength() == 1
                    ? targets[0].GetProperty("health").GetString()
                    : null,
                "up");
            Assert.True(health == "up", $"target health {health}; prometheus log:\n{log}");

            string? value = await PollAsync(api, "api/v1/query?query=" + Uri.EscapeDataString("observacost_collector_points_received_total{source=\"line_protocol\"}"), json =>
                json.RootElement.GetProperty("data").GetProperty("result") is { ValueKind: JsonValueKind.Array } result && result.GetArrayLength() == 1
                    ? result[0].GetProperty("value")[1].GetString()
                    : null,
                "3");
            Assert.Equal("3", value);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Metrics_CheckedByPromtool_NoParseError()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        string text = await host.Client.GetStringAsync("/metrics");
        var start = new ProcessStartInfo("promtool") { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using Process promtool = Process.Start(start)!;
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        string output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();

        // promtool lints naming too (exit 1 with one line per finding); a text it cannot parse says "error while linting".
        Assert.DoesNotContain("error while linting", output, StringComparison.Ordinal);
        Assert.Contains("# TYPE observacost_collector_spool_size_bytes gauge", text, StringComparison.Ordinal);
    }

    /// <summary>Polls a Prometheus API path until <paramref name="read"/> gives <paramref name="wanted"/> (30 s at most); returns the last reading.</summary>
    private static async Task<string?> PollAsync(HttpClient api, string path, Func<JsonDocument, string?> read, string wanted)
    {
        string? last = null;
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using JsonDocument json = JsonDocument.Parse(await api.GetStringAsync(new Uri(path, UriKind.Relative)));
                last = read(json);
                if (last == wanted)
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        return last;
    }
}
