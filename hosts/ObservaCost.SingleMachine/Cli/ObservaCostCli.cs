using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Collector;
using ObservaCost.Hosting;
using ObservaCost.Simulator;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// The <c>observacost</c> command line (docs/cli.md): <c>run [--demo]</c> (also with no verb), <c>simulate</c>,
/// <c>backfill</c>, <c>evaluate nab|m4</c>, <c>import-requests</c>, <c>report</c>, <c>pricing check</c>, <c>config check</c>,
/// <c>--help</c> on every verb and <c>--version</c>. <c>--Key value</c> pairs after a verb are ASP.NET Core
/// configuration (<see cref="ConfigurationArguments"/>). Exit codes: 0 done, 1 failed (a missed evaluation target, a
/// collector that refuses), 2 bad command line or configuration, each error one line on the error output.
/// </summary>
public static class ObservaCostCli
{
    public const string Name = "observacost";

    public const int UsageExitCode = HostRun.ConfigurationErrorExitCode;

    /// <summary>Parses <paramref name="args"/> and runs the verb; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        Command root = Build(context);
        ParseResult result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is not HelpAction && result.Errors.Count > 0)
        {
            await context.Errors.WriteLineAsync($"{CommandPath(result)}: {result.Errors[0].Message} (see {CommandPath(result)} --help)");
            return UsageExitCode;
        }

        if (result.Action is HelpAction)
        {
            // The parser's help, with the configuration pairs named as what they are (it calls them additional arguments).
            using var help = new StringWriter(CultureInfo.InvariantCulture);
            int code = await result.InvokeAsync(new InvocationConfiguration { Output = help, Error = context.Errors }, cancellationToken);
            await context.Output.WriteAsync(HelpText(help.ToString()));
            return code;
        }

        return await result.InvokeAsync(new InvocationConfiguration { Output = context.Output, Error = context.Errors, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
    }

    /// <summary>The configuration pairs in the help of the verbs that take them: a usage token and a section of their own.</summary>
    public const string ConfigurationHelp = "Configuration:\n  --Key value  Any ASP.NET Core configuration key, e.g. --Storage:Embedded:Path data/x.db or --urls http://127.0.0.1:5080 (docs/cli.md).";

    private static string HelpText(string help) => help
        .Replace("[[--] <additional arguments>...]]", "[--Key value ...]", StringComparison.Ordinal)
        .Replace("Additional Arguments:\n  Arguments passed to the application that is being run.", ConfigurationHelp, StringComparison.Ordinal);

    /// <summary>The command tree; every verb's action receives the configuration pairs left after its own options.</summary>
    public static Command Build(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var root = new Command(Name, "GPU inference cost: the single-machine host (collector, analytics jobs and API on the embedded store) and its tools. With no verb, runs the host (as `run`).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Options.Add(new HelpOption());
        var version = new Option<bool>("--version") { Description = "Print the version and the git commit it was built from.", Arity = ArgumentArity.Zero };
        root.Options.Add(version);
        root.SetAction((result, ct) => result.GetValue(version)
            ? PrintVersionAsync(context)
            : WithConfigurationAsync(result, context, configuration => RunHostAsync(configuration, context, ct)));

        root.Subcommands.Add(RunCommand(context));
        root.Subcommands.Add(SimulateCommand(context));
        root.Subcommands.Add(BackfillCommandLine(context));
        root.Subcommands.Add(EvaluateCommand(context));
        root.Subcommands.Add(ImportRequestsCommand(context));
        root.Subcommands.Add(ReportCommand(context));
        root.Subcommands.Add(PricingCommand(context));
        root.Subcommands.Add(ConfigCommand(context));
        return root;
    }

    private static Command RunCommand(CliContext context)
    {
        var demo = new Option<bool>("--demo") { Description = "Also run the simulated demo fleet (source=simulated, its own store under data/demo): write its history, backfill it, then keep it running live." };
        var history = DurationOption("--history", "How much demo history to write before going live (with --demo; default 7d).");
        var seed = SeedOption();
        var command = new Command("run", "Run the single-machine host until Ctrl+C: collect (nvidia-smi on the PATH, scrape targets, ingest endpoints), compute costs on schedule, serve the API. --Key value pairs after the verb are configuration.")
        {
            demo, history, seed,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, ct) => WithConfigurationAsync(result, context, configuration => result.GetValue(demo)
            ? DemoRun.RunAsync(result.GetValue(history) ?? DefaultHistory, result.GetValue(seed) ?? DemoFleet.DefaultSeed, configuration, context, ct)
            : RunHostAsync(configuration, context, ct)));
        return command;
    }

    private static Command SimulateCommand(CliContext context)
    {
        var collector = new Option<Uri>("--collector") { Description = "The collector's base URL, e.g. http://127.0.0.1:5080.", Required = true, HelpName = "URL", CustomParser = ParseUri };
        var seed = SeedOption();
        var history = DurationOption("--history", "How much history to write before going live (0: none; default 7d).");
        var token = new Option<string?>("--token") { HelpName = "TOKEN", Description = "Bearer token for the collector's ingest endpoints (none: anonymous loopback)." };
        var command = new Command("simulate", "Drive the simulated demo fleet against a running collector through its real interfaces: history to /write and /api/v1/requests/import, then live scrape pages and requests until Ctrl+C.")
        {
            collector, seed, history, token,
        };
        command.SetAction((result, ct) => SimulateVerb.RunAsync(result.GetRequiredValue(collector), result.GetValue(seed) ?? DemoFleet.DefaultSeed, result.GetValue(history) ?? DefaultHistory, result.GetValue(token), context, ct));
        return command;
    }

    private static Command BackfillCommandLine(CliContext context)
    {
        (Option<DateTimeOffset> from, Option<DateTimeOffset> to) = RangeOptions(BackfillCommand.Verb);
        var command = new Command(BackfillCommand.Verb, "Recompute [--from, --to) (rollup, cost windows, KPI days) on the configured store, with a progress bar. Each step replaces its points: run it again to resume or redo. --Key value pairs are configuration.")
        {
            from, to,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, ct) => WithRangeAsync(result, context, from, to, (configuration, start, end) => HostRun.RunAsync(async () =>
        {
            await using WebApplication app = SingleMachineApplication.Build(configuration, context.Configure);
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
            return await BackfillCommand.RunAsync(app.Services, start, end, context.Errors, ct);
        }, context.Errors)));
        return command;
    }

    private static Command EvaluateCommand(CliContext context)
    {
        var command = new Command("evaluate", "Score the anomaly detectors (NAB) or the forecasters (M4) on data laid out like the upstream corpora (docs/accuracy.md). Exit code 1 when a target is missed.");
        var data = new Option<string>("--data") { HelpName = "DIR", Description = "The NAB checkout (data/, labels/, results/).", Required = true };
        var files = new Option<string?>("--files") { HelpName = "GLOB", Description = "Only the data files matching this glob." };
        var nab = new Command("nab", "Score the detectors on NAB.") { data, files };
        nab.SetAction((result, ct) => EvaluationCommand.RunAsync(
            result.GetValue(files) is { } glob ? ["nab", "--data", result.GetRequiredValue(data), "--files", glob] : ["nab", "--data", result.GetRequiredValue(data)], context.Output, ct));
        var train = new Option<string>("--train") { HelpName = "FILE", Description = "The M4 training file (CSV).", Required = true };
        var test = new Option<string>("--test") { HelpName = "FILE", Description = "The M4 test file (CSV).", Required = true };
        var m4 = new Command("m4", "Evaluate the forecasters on M4 (sMAPE, MASE; m = 24, h = 48).") { train, test };
        m4.SetAction((result, ct) => EvaluationCommand.RunAsync(["m4", "--train", result.GetRequiredValue(train), "--test", result.GetRequiredValue(test)], context.Output, ct));
        command.Subcommands.Add(nab);
        command.Subcommands.Add(m4);
        return command;
    }

    private static Command ImportRequestsCommand(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The request log: NDJSON or a JSON array (docs/collector.md)." };
        (Option<DateTimeOffset> from, Option<DateTimeOffset> to) = RangeOptions(RequestLogImportCommand.Verb);
        var command = new Command(RequestLogImportCommand.Verb, "Import historical request logs for [--from, --to) as source=request_log_import windows, idempotently (both ends window boundaries). --Key value pairs are configuration.")
        {
            file, from, to,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, ct) => WithRangeAsync(result, context, from, to, (configuration, start, end) => HostRun.RunAsync(async () =>
        {
            // The import needs the store and the collector's request-log settings only, not the analytics configuration.
            await using WebApplication app = ObservaCostHost.Build(SingleMachineApplication.ServiceName, configuration, (services, config) => services.AddCollector(config), _ => { }, context.Configure);
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
            return await RequestLogImportCommand.RunAsync(app.Services, result.GetRequiredValue(file), start, end, context.Output, context.Errors, ct);
        }, context.Errors)));
        return command;
    }

    private static Command ReportCommand(CliContext context)
    {
        (Option<DateTimeOffset> from, Option<DateTimeOffset> to) = RangeOptions(ReportVerb.Verb);
        var compare = new Option<bool>("--compare-previous") { Description = "Set the previous period of the same length beside the period, with the change.", Arity = ArgumentArity.Zero };
        var format = new Option<string>("--format") { Description = "The output format: json, csv, md or pdf; an unknown one lists those available.", Required = true, HelpName = "FORMAT" };
        var output = new Option<string>("--out") { Description = "The file to write (its directory is created).", Required = true, HelpName = "PATH" };
        var command = new Command(ReportVerb.Verb, "Write the efficiency report of [--from, --to) from the configured store (docs/reports.md): summary, utilization, idle, cost per token, energy, spend, anomalies, forecast, method notes, reproducibility hashes. --Key value pairs are configuration.")
        {
            from, to, compare, format, output,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, ct) => WithRangeAsync(result, context, from, to, (configuration, start, end) =>
            ReportVerb.RunAsync(configuration, start, end, result.GetValue(compare), result.GetRequiredValue(format), result.GetRequiredValue(output), context, ct)));
        return command;
    }

    private static Command PricingCommand(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The pricing file (JSON, docs/pricing.md)." };
        var check = new Command("check", "Validate a pricing file with the product's reader and print what it understood: each entry's $/GPU-hour split into capex, opex, rental and energy at its GPU model's TDP and idle power, the tariff windows, the PUE.")
        {
            file,
        };
        check.SetAction(result => PricingCheck.Run(result.GetRequiredValue(file), context));
        var command = new Command("pricing", "Pricing files.");
        command.Subcommands.Add(check);
        return command;
    }

    private static Command ConfigCommand(CliContext context)
    {
        var check = new Command("check", "Bind and validate the whole configuration (appsettings.json, environment, --Key value pairs) with the validators every host runs at start-up, without starting anything. Prints OK, or one line per failure naming its key (exit code 2).");
        check.TreatUnmatchedTokensAsErrors = false;
        check.SetAction((result, _) => WithConfigurationAsync(result, context, configuration => ConfigCheck.RunAsync(configuration, context)));
        var command = new Command("config", "Configuration.");
        command.Subcommands.Add(check);
        return command;
    }

    /// <summary><c>run</c> without the demo: the host until shutdown, nvidia-smi switched on when it is on the PATH.</summary>
    private static Task<int> RunHostAsync(string[] configuration, CliContext context, CancellationToken cancellationToken) =>
        HostRun.RunAsync(async () =>
        {
            (string[] local, string message) = LocalGpus.Configure(configuration, context.SearchPath);
            await using WebApplication app = SingleMachineApplication.Build([.. local, .. configuration], context.Configure);
            // Validated before the start, so that a configuration error is the only output.
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
            await context.Output.WriteLineAsync(message);
            await app.StartAsync(cancellationToken);
            await context.Output.WriteLineAsync($"Listening on {string.Join(", ", app.Urls)}: the API under /api/v1 (cost, idle, kpis, anomalies, forecast), /healthz, /readyz. Ctrl+C stops. `observacost run --demo` shows a simulated fleet.");
            await app.WaitForShutdownAsync(cancellationToken);
            await app.StopAsync(CancellationToken.None);
            return 0;
        }, context.Errors);

    private static async Task<int> WithConfigurationAsync(ParseResult result, CliContext context, Func<string[], Task<int>> run)
    {
        if (ConfigurationArguments.Split(result.UnmatchedTokens, out string? error) is not { } configuration)
        {
            if (result.CommandResult.Parent is null && result.UnmatchedTokens[0] is { } first && !first.StartsWith('-'))
            {
                error = $"'{first}' is not a verb ({string.Join(", ", result.RootCommandResult.Command.Subcommands.Select(c => c.Name))})";
            }

            await context.Errors.WriteLineAsync($"{CommandPath(result)}: {error} (see {CommandPath(result)} --help)");
            return UsageExitCode;
        }

        return await run(configuration);
    }

    private static Task<int> WithRangeAsync(ParseResult result, CliContext context, Option<DateTimeOffset> from, Option<DateTimeOffset> to, Func<string[], DateTimeOffset, DateTimeOffset, Task<int>> run) =>
        WithConfigurationAsync(result, context, async configuration =>
        {
            DateTimeOffset start = result.GetValue(from), end = result.GetValue(to);
            if (start >= end)
            {
                await context.Errors.WriteLineAsync($"{CommandPath(result)}: --from ({start:O}) must be before --to ({end:O})");
                return UsageExitCode;
            }

            return await run(configuration, start, end);
        });

    private static Task<int> PrintVersionAsync(CliContext context)
    {
        context.Output.WriteLine(CliVersion.Line);
        return Task.FromResult(0);
    }

    /// <summary>The <c>--from</c> and <c>--to</c> options, parsed by the hosts' one range parser (<see cref="TimeRangeArguments"/>).</summary>
    private static (Option<DateTimeOffset> From, Option<DateTimeOffset> To) RangeOptions(string verb)
    {
        Option<DateTimeOffset> Time(string name, string description) => new(name)
        {
            Description = description,
            Required = true,
            HelpName = "ISO time",
            CustomParser = argument =>
            {
                TimeRangeArguments parsed = TimeRangeArguments.Parse(verb, [name, argument.Tokens[0].Value]);
                if (parsed.Error is not null)
                {
                    argument.AddError(parsed.Error);
                    return default;
                }

                return (name == "--from" ? parsed.From : parsed.To)!.Value;
            },
        };

        return (Time("--from", "Start of the range (inclusive), e.g. 2026-11-21T00:00:00Z; UTC when no offset is given."),
            Time("--to", "End of the range (exclusive), after --from."));
    }

    /// <summary>The demo history when <c>--history</c> is not given.</summary>
    public static readonly TimeSpan DefaultHistory = TimeSpan.FromDays(7);

    private static Option<long?> SeedOption() => new("--seed")
    {
        Description = $"The simulator's seed: the same seed gives the same fleet and traffic (default {DemoFleet.DefaultSeed.ToString(CultureInfo.InvariantCulture)}).",
        HelpName = "N",
    };

    private static Option<TimeSpan?> DurationOption(string name, string description) => new(name)
    {
        Description = description + " A number with d, h or m: 7d, 12h, 90m.",
        HelpName = "duration",
        CustomParser = argument =>
        {
            if (ParseDuration(argument.Tokens[0].Value) is TimeSpan duration)
            {
                return duration;
            }

            argument.AddError($"'{argument.Tokens[0].Value}' is not a duration such as 7d, 12h or 90m");
            return null;
        },
    };

    /// <summary>A duration such as <c>7d</c>, <c>12h</c>, <c>90m</c> or <c>0</c>; null when it is not one (or negative).</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        if (text.Length < 2 || !double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double count))
        {
            return null;
        }

        return text[^1] switch
        {
            'd' => TimeSpan.FromDays(count),
            'h' => TimeSpan.FromHours(count),
            'm' => TimeSpan.FromMinutes(count),
            _ => null,
        };
    }

    private static Uri? ParseUri(ArgumentResult argument)
    {
        string text = argument.Tokens[0].Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        argument.AddError($"'{text}' is not an http(s) URL");
        return null;
    }

    /// <summary><c>observacost pricing check</c>: the name of the command the error belongs to.</summary>
    private static string CommandPath(ParseResult result)
    {
        var names = new List<string>();
        for (SymbolResult? symbol = result.CommandResult; symbol is not null; symbol = symbol.Parent)
        {
            if (symbol is CommandResult command)
            {
                names.Insert(0, command.Command.Name);
            }
        }

        return string.Join(' ', names);
    }
}
