using System.Globalization;
using ObservaCost.SingleMachine.Cli;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary>Runs the <c>observacost</c> command line in process with captured output and error output.</summary>
internal sealed class CliRun
{
    private CliRun(int exitCode, string output, string errors)
    {
        ExitCode = exitCode;
        Output = output;
        Errors = errors;
    }

    public int ExitCode { get; }

    public string Output { get; }

    public string Errors { get; }

    /// <summary>The error output's non-empty lines.</summary>
    public string[] ErrorLines => Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var errors = new StringWriter(CultureInfo.InvariantCulture);
        int code = await ObservaCostCli.RunAsync(args, new CliContext(output, errors, searchPath: string.Empty));
        return new CliRun(code, output.ToString(), errors.ToString());
    }
}
