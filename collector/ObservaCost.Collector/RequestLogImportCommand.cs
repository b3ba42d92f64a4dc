using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Storage;

namespace ObservaCost.Collector;

/// <summary>
/// The collector's <c>import-requests FILE --from &lt;ISO time&gt; --to &lt;ISO time&gt; [--Key value ...]</c> verb:
/// imports historical request logs into the configured store (<see cref="RequestLogImport"/>) and exits. Exit codes:
/// 0 imported (refused records are listed, the rest imported), 1 the file could not be read or the store failed,
/// 2 bad command line or configuration.
/// </summary>
public static class RequestLogImportCommand
{
    public const string Verb = "import-requests";

    /// <summary>Refused records listed on the error output; the rest are only counted.</summary>
    public const int MaxRefusalsListed = 100;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter errors, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        TimeRangeArguments range = TimeRangeArguments.Parse(Verb, args);
        if (range.Error is not null)
        {
            await errors.WriteLineAsync(range.Error);
            return 2;
        }

        // The first positional argument is the file; the rest is configuration (--Key value).
        int fileIndex = -1;
        for (int i = 0; i < range.Rest.Count && fileIndex < 0; i++)
        {
            if (range.Rest[i].StartsWith("--", StringComparison.Ordinal))
            {
                i += range.Rest[i].Contains('=', StringComparison.Ordinal) ? 0 : 1; // --Key value (or --Key=value)
            }
            else
            {
                fileIndex = i;
            }
        }

        if (fileIndex < 0 || !range.IsRange)
        {
            await errors.WriteLineAsync($"usage: {Verb} FILE --from <ISO time> --to <ISO time> [--Key value ...]   (NDJSON or a JSON array; --from before --to, both window boundaries)");
            return 2;
        }

        string file = range.Rest[fileIndex];
        string[] rest = [.. range.Rest.Where((_, i) => i != fileIndex)];
        DateTimeOffset from = range.From!.Value;
        DateTimeOffset to = range.To!.Value;

        try
        {
            await using WebApplication app = CollectorApplication.Build([.. rest], configure);
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            var import = new RequestLogImport(
                app.Services.GetRequiredService<ITimeSeriesStore>(),
                app.Services.GetRequiredService<IOptions<RequestLogOptions>>().Value,
                app.Services.GetRequiredService<TimeProvider>());
            RequestLogImportSummary summary = await import.RunAsync(file, from, to, cancellationToken);
            foreach (RequestLogRejection refusal in summary.Refused.Take(MaxRefusalsListed))
            {
                await errors.WriteLineAsync($"{Verb}: refused {refusal}");
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{Verb} done: {summary.RecordsRead} records read, {summary.RecordsImported} imported, {summary.Refused.Count} refused; {summary.WindowsWritten} windows written (source=request_log_import) for {summary.Models.Count} models in [{from:O}, {to:O})"));
            return 0;
        }
        catch (ArgumentException ex)
        {
            await errors.WriteLineAsync($"{Verb}: {ex.Message}");
            return 2;
        }
        catch (OptionsValidationException ex)
        {
            await errors.WriteLineAsync("Invalid configuration:");
            foreach (string failure in ex.Failures)
            {
                await errors.WriteLineAsync("  " + failure);
            }

            return 2;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StoreUnavailableException or StoreRequestException)
        {
            await errors.WriteLineAsync($"{Verb}: {ex.Message}");
            return 1;
        }
    }
}
