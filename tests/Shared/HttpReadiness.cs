using System.Diagnostics;
using System.Net;

namespace ObservaCost.Testing;

/// <summary>Waits for a server process started by a fixture to answer an HTTP probe.</summary>
public static class HttpReadiness
{
    public static async Task WaitAsync(Process process, Uri probe, HttpStatusCode expected, TimeSpan timeout, Func<string> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(diagnostics);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode} at start: {diagnostics()}");
            }

            try
            {
                using HttpResponseMessage response = await client.GetAsync(probe);
                if (response.StatusCode == expected)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"{process.StartInfo.FileName} did not answer {probe} within {timeout.TotalSeconds} s: {diagnostics()}");
    }
}
