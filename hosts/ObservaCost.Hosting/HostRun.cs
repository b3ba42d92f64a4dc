using Microsoft.Extensions.Options;

namespace ObservaCost.Hosting;

/// <summary>
/// The one run wrapper of every host: runs a verb (or the host) and turns a start-up configuration failure into one
/// line per problem on the error output, each naming its key (<c>configuration error: Storage:InfluxDb:Url: ...</c>),
/// and exit code <see cref="ConfigurationErrorExitCode"/>. Options validation failures arrive as one
/// <see cref="OptionsValidationException"/> or several in an <see cref="AggregateException"/>; the pricing file is
/// checked by its options validator, so its errors arrive the same way. Any other exception is not caught.
/// </summary>
public static class HostRun
{
    public const int ConfigurationErrorExitCode = 2;

    public const string Prefix = "configuration error: ";

    public static async Task<int> RunAsync(Func<Task<int>> run, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            return await run();
        }
        catch (Exception ex) when (ConfigurationFailures(ex) is { Count: > 0 } failures)
        {
            foreach (string failure in failures)
            {
                await errors.WriteLineAsync(Prefix + OneLine(failure));
            }

            await errors.FlushAsync();
            return ConfigurationErrorExitCode;
        }
    }

    /// <summary>The failures of options validation in <paramref name="ex"/> (one exception, or several aggregated); empty for any other exception.</summary>
    public static IReadOnlyList<string> ConfigurationFailures(Exception ex) => ex switch
    {
        OptionsValidationException validation => [.. validation.Failures],
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => ConfigurationFailures(e).Count > 0) =>
            [.. aggregate.InnerExceptions.SelectMany(ConfigurationFailures)],
        _ => [],
    };

    private static string OneLine(string failure) =>
        failure.ReplaceLineEndings(" ").Trim();
}
