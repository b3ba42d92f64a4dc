using System.Globalization;
using Microsoft.Extensions.Options;
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
        string? file = null;
        DateTimeOffset? from = null;
        DateTimeOffset? to = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if ((args[i] == "--from" || args[i] == "--to") && i + 1 < args.Length)
            {
                if (!DateTimeOffset.TryParse(args[i + 1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time))
                {
                    await errors.WriteLineAsync($"{Verb}: {args[i]} '{args[i + 1]}' is not an ISO 8601 time (e.g. 2026-11-21T00:00:00Z).");
                    return 2;
                }

                if (args[i] == "--from")
                {
                    from = time;
                }
                else
                {
                    to = time;
                }

                i++;
            }
            else if (file is null && !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                file = args[i];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        if (file is null || from is null || to is null || to <= from)
        {
            await errors.WriteLineAsync($"usage: {Verb} FILE --from <ISO time> --to <ISO time> [--Key value ...]   (NDJSON or a JSON array; --from before --to, both window boundaries)");
            return 2;
        }

        try
        {
            await using WebApplication app = CollectorApplication.Build([.. rest], configure);
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            var import = new RequestLogImport(
                app.Services.GetRequiredService<ITimeSeriesStore>(),
                app.Services.GetRequiredService<IOptions<RequestLogOptions>>().Value,
                app.Services.GetRequiredService<TimeProvider>());
            RequestLogImportSummary summary = await import.RunAsync(file, from.Value, to.Value, cancellationToken);
            foreach (RequestLogRejection refusal in summary.Refused.Take(MaxRefusalsListed))
            {
                await errors.WriteLineAsync($"{Verb}: refused {refusal}");
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{Verb} done: {summary.RecordsRead} records read, {summary.RecordsImported} imported, {summary.Refused.Count} refused; {summary.WindowsWritten} windows written (source=request_log_import) for {summary.Models.Count} models in [{from.Value:O}, {to.Value:O})"));
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
