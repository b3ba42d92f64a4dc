using System.Text.RegularExpressions;
using ObservaCost.SingleMachine.Cli;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary>The command line itself: help on every verb, the version, and bad input as one line with exit code 2.</summary>
public sealed partial class ObservaCostCliTests
{
    /// <summary>Every verb, its exact usage line and every option its help must list.</summary>
    public static TheoryData<string, string, string[]> Verbs => new()
    {
        { "", "observacost [command] [options] [--Key value ...]", ["--version", "--help"] },
        { "run", "observacost run [options] [--Key value ...]", ["--demo", "--history <duration>", "--seed <N>", "--help"] },
        { "simulate", "observacost simulate [options]", ["--collector <URL> (REQUIRED)", "--seed <N>", "--history <duration>", "--token <TOKEN>", "--help"] },
        { "backfill", "observacost backfill [options] [--Key value ...]", ["--from <ISO time> (REQUIRED)", "--to <ISO time> (REQUIRED)", "--help"] },
        { "evaluate", "observacost evaluate [command] [options]", ["nab", "m4", "--help"] },
        { "evaluate nab", "observacost evaluate nab [options]", ["--data <DIR> (REQUIRED)", "--files <GLOB>", "--help"] },
        { "evaluate m4", "observacost evaluate m4 [options]", ["--train <FILE> (REQUIRED)", "--test <FILE> (REQUIRED)", "--help"] },
        { "import-requests", "observacost import-requests <FILE> [options] [--Key value ...]", ["<FILE>", "--from <ISO time> (REQUIRED)", "--to <ISO time> (REQUIRED)", "--help"] },
        { "report", "observacost report [options] [--Key value ...]", ["--from <ISO time> (REQUIRED)", "--to <ISO time> (REQUIRED)", "--compare-previous", "--format <FORMAT> (REQUIRED)", "--out <PATH> (REQUIRED)", "--help"] },
        { "pricing", "observacost pricing [command] [options]", ["check <FILE>", "--help"] },
        { "pricing check", "observacost pricing check <FILE> [options]", ["<FILE>", "--help"] },
        { "config", "observacost config [command] [options]", ["check", "--help"] },
        { "config check", "observacost config check [options] [--Key value ...]", ["--help"] },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_EveryVerb_PrintsItsExactUsageAndEveryOption(string verb, string usage, string[] options)
    {
        CliRun run = await CliRun.RunAsync([.. verb.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Errors);
        string[] lines = run.Output.Split('\n');
        int usageAt = Array.IndexOf(lines, "Usage:");
        Assert.True(usageAt >= 0, run.Output);
        Assert.Equal("  " + usage, lines[usageAt + 1]);
        foreach (string option in options)
        {
            Assert.Contains(lines, l => l.TrimStart().StartsWith(option, StringComparison.Ordinal) || l.Contains(", " + option, StringComparison.Ordinal));
        }

        // The configuration pairs are named as such, never as the parser's "additional arguments".
        Assert.DoesNotContain("additional arguments", run.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(usage.EndsWith("[--Key value ...]", StringComparison.Ordinal), run.Output.Contains(ObservaCostCli.ConfigurationHelp, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Version_PrintsTheVersionAndTheCommit()
    {
        CliRun run = await CliRun.RunAsync("--version");

        Assert.Equal(0, run.ExitCode);
        Assert.Matches(VersionLine(), run.Output.TrimEnd());
    }

    [Theory]
    [InlineData("0.11.0+0123456789abcdef0123456789abcdef01234567", "observacost 0.11.0 (commit 0123456789abcdef0123456789abcdef01234567)")]
    [InlineData("0.11.0", "observacost 0.11.0 (commit unknown)")]
    [InlineData("0.11.0+", "observacost 0.11.0 (commit unknown)")]
    public void Describe_InformationalVersion_SplitsVersionAndCommit(string informational, string expected) =>
        Assert.Equal(expected, CliVersion.Describe(informational));

    [Theory]
    [InlineData(new[] { "runn" }, "observacost: 'runn' is not a verb (run, simulate, backfill, evaluate, import-requests, report, pricing, config) (see observacost --help)")]
    [InlineData(new[] { "run", "--deom" }, "observacost run: unknown option '--deom' (configuration keys name a section: --Section:Key value) (see observacost run --help)")]
    [InlineData(new[] { "run", "--Storage:Backend" }, "observacost run: configuration key '--Storage:Backend' has no value (see observacost run --help)")]
    [InlineData(new[] { "simulate", "--collector", "http://127.0.0.1:1", "--history", "7x" }, "observacost simulate: '7x' is not a duration such as 7d, 12h or 90m (see observacost simulate --help)")]
    [InlineData(new[] { "simulate", "--collector", "ftp://host" }, "observacost simulate: 'ftp://host' is not an http(s) URL (see observacost simulate --help)")]
    [InlineData(new[] { "backfill", "--from", "2026-11-21T00:00:00Z" }, "observacost backfill: Option '--to' is required. (see observacost backfill --help)")]
    [InlineData(new[] { "backfill", "--from", "yesterday", "--to", "2026-11-21T00:00:00Z" }, "observacost backfill: backfill: --from 'yesterday' is not an ISO 8601 time (e.g. 2026-11-21T00:00:00Z). (see observacost backfill --help)")]
    [InlineData(new[] { "backfill", "--from", "2026-11-22T00:00:00Z", "--to", "2026-11-21T00:00:00Z" }, "observacost backfill: --from (2026-11-22T00:00:00.0000000+00:00) must be before --to (2026-11-21T00:00:00.0000000+00:00)")]
    [InlineData(new[] { "pricing", "check" }, "observacost pricing check: Required argument 'FILE' missing for command: 'check'. (see observacost pricing check --help)")]
    public async Task BadCommandLine_IsOneLineAndExitCode2(string[] args, string expected)
    {
        CliRun run = await CliRun.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([expected], run.ErrorLines);
        Assert.Equal(string.Empty, run.Output);
    }

    [Theory]
    [InlineData("7d", 7 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("90m", 90)]
    [InlineData("1.5h", 90)]
    [InlineData("0", 0)]
    public void ParseDuration_NumberAndUnit_IsThatManyMinutes(string text, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), ObservaCostCli.ParseDuration(text));

    [Theory]
    [InlineData("7")]
    [InlineData("7w")]
    [InlineData("-1d")]
    [InlineData("d")]
    public void ParseDuration_NotADuration_IsNull(string text) =>
        Assert.Null(ObservaCostCli.ParseDuration(text));

    [Fact]
    public void Split_ConfigurationPairs_AreKeptInOrderInBothForms()
    {
        string[]? pairs = ConfigurationArguments.Split(["--Storage:Backend", "Embedded", "--urls=http://127.0.0.1:1", "--Collector:Spool:Directory", "x"], out string? error);

        Assert.Null(error);
        Assert.Equal(["--Storage:Backend", "Embedded", "--urls=http://127.0.0.1:1", "--Collector:Spool:Directory", "x"], pairs!);
    }

    [GeneratedRegex("^observacost [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit ([0-9a-f]{40}|unknown)\\)$")]
    private static partial Regex VersionLine();
}
