using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Storage;

namespace ObservaCost.Collector;

/// <summary>
/// The <c>import-requests FILE --from &lt;ISO time&gt; --to &lt;ISO time&gt; [--Key value ...]</c> verb's work:
/// imports historical request logs into the composed store (<see cref="RequestLogImport"/>). The host parses the
/// command line and builds the services (with <see cref="CollectorApplication.AddCollector"/>). Exit codes: 0 imported
/// (refused records are listed, the rest imported), 1 the file could not be read or the store failed, 2 a bad argument.
/// </summary>
public static class RequestLogImportCommand
{
    public const string Verb = "import-requests";

    public const string Usage = $"usage: {Verb} FILE --from <ISO time> --to <ISO time> [--Key value ...]   (NDJSON or a JSON array; --from before --to, both window boundaries)";

    /// <summary>Refused records listed on the error output; the rest are only counted.</summary>
    public const int MaxRefusalsListed = 100;

    public static async Task<int> RunAsync(IServiceProvider services, string file, DateTimeOffset from, DateTimeOffset to, TextWriter output, TextWriter errors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            var import = new RequestLogImport(
                services.GetRequiredService<ITimeSeriesStore>(),
                services.GetRequiredService<IOptions<RequestLogOptions>>().Value,
                services.GetRequiredService<TimeProvider>());
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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StoreUnavailableException or StoreRequestException)
        {
            await errors.WriteLineAsync($"{Verb}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The FILE of the verb's arguments (after <c>--from</c>/<c>--to</c> were taken out): the first positional
    /// argument, skipping <c>--Key value</c> and <c>--Key=value</c> configuration pairs; null when there is none.
    /// The rest is configuration.
    /// </summary>
    public static (string? File, string[] Configuration) SplitFile(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                i += args[i].Contains('=', StringComparison.Ordinal) ? 0 : 1; // --Key value (or --Key=value)
            }
            else
            {
                int fileIndex = i;
                return (args[i], [.. args.Where((_, j) => j != fileIndex)]);
            }
        }

        return (null, [.. args]);
    }
}
