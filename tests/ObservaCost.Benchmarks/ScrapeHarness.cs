using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Benchmarks;

/// <summary>
/// Scrape and parse of a ~50k-sample dcgm-exporter page built from the real L40S capture, by the collector's scrape
/// path (HTTP GET → Prometheus text parser → DCGM mapper → line protocol) and by Prometheus itself scraping the same
/// page from the same local server in the same run (its <c>scrape_duration_seconds</c>).
/// </summary>
internal static class ScrapeHarness
{
    public static async Task<int> RunAsync(int gpus, int scrapes)
    {
        byte[] page = BuildPage(gpus, out int samples);
        int port = InfluxDbServer.FreePort();
        string url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/metrics");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", $"http://127.0.0.1:{port}"]);
        builder.Logging.ClearProviders();
        await using WebApplication exporter = builder.Build();
        exporter.MapGet("/metrics", () => Results.Bytes(page, "text/plain; version=0.0.4; charset=utf-8"));
        await exporter.StartAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"page: {gpus} GPUs, {samples} samples, {page.Length / 1024.0 / 1024.0:F1} MiB, served from {url}; {Environment.ProcessorCount} cores"));

        // The collector's path, warmed up first.
        using var http = new HttpClient();
        var parser = new PrometheusTextParser(new PrometheusParserOptions { MaxSamplesPerPage = 1_000_000 });
        var mapper = new DcgmMapper();
        using var writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 8 << 20);
        var ours = new List<double>();
        int mapped = 0;
        for (int i = -3; i < scrapes; i++)
        {
            writer.Reset();
            var clock = Stopwatch.StartNew();
            byte[] body = await http.GetByteArrayAsync(url);
            PrometheusParseResult parsed = parser.Parse(body);
            GpuMappingResult result = mapper.Map(parsed.Samples, new GpuScrapeContext { ScrapeTime = TimeProvider.System.GetUtcNow(), Node = "bench" });
            foreach (GpuSample sample in result.Samples)
            {
                sample.WriteTo(writer);
            }

            if (i >= 0)
            {
                ours.Add(clock.Elapsed.TotalSeconds);
            }

            if (parsed.Samples.Count != samples || parsed.RejectedCount != 0)
            {
                throw new InvalidOperationException($"parsed {parsed.Samples.Count} of {samples} samples, {parsed.RejectedCount} rejected");
            }

            mapped = result.Samples.Count;
        }

        double median = HarnessMath.Median(ours);
        Console.WriteLine("| scraper | scrape duration, median | scrapes |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ObservaCost (GET, parse, map to {mapped} GPU samples, encode) | {median * 1000:F1} ms | {ours.Count} |"));
        double prometheus;
        try
        {
            prometheus = await PrometheusScrapeDurationAsync(url, scrapes);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.WriteLine("Prometheus was not run (" + ex.Message + "): install Debian's prometheus for the comparison.");
            return 0;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| Prometheus 2.42 (scrape_duration_seconds) | {prometheus * 1000:F1} ms | {scrapes} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio ObservaCost / Prometheus: {median / prometheus:F2}"));
        return 0;
    }

    private static byte[] BuildPage(int gpus, out int samples)
    {
        string[] capture = File.ReadAllLines(RepoPaths.Data("dcgm-exporter", "metrics_L40S_idle_upcloud-conformance.prom"));
        var sb = new StringBuilder();
        samples = 0;
        var seenFamilies = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in capture)
        {
            if (line.StartsWith('#'))
            {
                sb.Append(line).Append('\n');
                continue;
            }

            if (line.Length == 0 || !seenFamilies.Add(line[..line.IndexOf('{', StringComparison.Ordinal)]))
            {
                continue;
            }

            for (int g = 0; g < gpus; g++)
            {
                sb.Append(line
                    .Replace("gpu=\"0\"", string.Create(CultureInfo.InvariantCulture, $"gpu=\"{g % 8}\""), StringComparison.Ordinal)
                    .Replace("UUID=\"GPU-5b4e07f6-3a86-4340-039d-25f2a83cdc43\"", string.Create(CultureInfo.InvariantCulture, $"UUID=\"GPU-5b4e07f6-3a86-4340-039d-{g:x12}\""), StringComparison.Ordinal)
                    .Replace("Hostname=\"gpu1-wl8sg\"", string.Create(CultureInfo.InvariantCulture, $"Hostname=\"gpu-node-{g / 8}\""), StringComparison.Ordinal))
                    .Append('\n');
                samples++;
            }
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static async Task<double> PrometheusScrapeDurationAsync(string target, int scrapes)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-prom-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port = InfluxDbServer.FreePort();
        var uri = new Uri(target);
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), string.Create(CultureInfo.InvariantCulture, $"""
            global:
              scrape_interval: 2s
              scrape_timeout: 2s
            scrape_configs:
              - job_name: dcgm
                metrics_path: {uri.AbsolutePath}
                static_configs:
                  - targets: ['{uri.Authority}']
            """));
        var info = new ProcessStartInfo("prometheus", [
            "--config.file=" + Path.Combine(dir, "prometheus.yml"),
            "--storage.tsdb.path=" + Path.Combine(dir, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        ]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            string api = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/api/v1/query?query=");
            await HttpReadiness.WaitAsync(process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/-/ready")), System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(60), () => string.Empty);

            // Wait for the warm-up scrapes plus the measured ones, then take the median of the measured ones.
            await Task.Delay(TimeSpan.FromSeconds(2 * (scrapes + 3)));
            string window = string.Create(CultureInfo.InvariantCulture, $"{2 * scrapes}s");
            string query = Uri.EscapeDataString($"quantile_over_time(0.5, scrape_duration_seconds{{job=\"dcgm\"}}[{window}])");
            using JsonDocument doc = JsonDocument.Parse(await http.GetStringAsync(api + query));
            JsonElement result = doc.RootElement.GetProperty("data").GetProperty("result");
            string samplesQuery = Uri.EscapeDataString("scrape_samples_scraped{job=\"dcgm\"}");
            using JsonDocument scraped = JsonDocument.Parse(await http.GetStringAsync(api + samplesQuery));
            Console.WriteLine("Prometheus scrape_samples_scraped: " + scraped.RootElement.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
            return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

}
