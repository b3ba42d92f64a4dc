using System.Globalization;
using ObservaCost.Hosting;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>report --from --to [--compare-previous] --format FORMAT --out PATH</c>: the efficiency report of [from, to) from
/// the configured store, written by the registered writer of the format (<see cref="ReportWriters"/>, the lookup the
/// API and the scheduled jobs use). An unknown format is one error line listing the formats available (exit 2); a
/// period longer than <c>Reports:MaxRange</c> too.
/// </summary>
public static class ReportVerb
{
    public const string Verb = "report";

    public static Task<int> RunAsync(string[] configuration, DateTimeOffset from, DateTimeOffset to, bool comparePrevious, string format, string output, CliContext context, CancellationToken cancellationToken) =>
        HostRun.RunAsync(async () =>
        {
            await using WebApplication app = SingleMachineApplication.Build(configuration, context.Configure);
            app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
            ReportWriters writers = app.Services.GetRequiredService<ReportWriters>();
            if (!writers.TryGet(format, out IReportWriter? writer))
            {
                await context.Errors.WriteLineAsync($"{ObservaCostCli.Name} {Verb}: {writers.UnknownFormatMessage(format)}");
                return ObservaCostCli.UsageExitCode;
            }

            EfficiencyReportBuilder builder = app.Services.GetRequiredService<EfficiencyReportBuilder>();
            var request = new ReportRequest(from, to, comparePrevious);
            if (builder.Check(request) is string problem)
            {
                await context.Errors.WriteLineAsync($"{ObservaCostCli.Name} {Verb}: {problem}");
                return ObservaCostCli.UsageExitCode;
            }

            EfficiencyReport report = await builder.BuildAsync(request, cancellationToken);
            string path = Path.GetFullPath(output);
            if (Path.GetDirectoryName(path) is { Length: > 0 } directory)
            {
                Directory.CreateDirectory(directory);
            }

            await using (FileStream file = File.Create(path))
            {
                await writer.WriteAsync(report, file, cancellationToken);
            }

            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"report {report.Period.From:yyyy-MM-ddTHH:mm:ssZ} – {report.Period.To:yyyy-MM-ddTHH:mm:ssZ} ({writer.Format}) written to {path}: {report.Reproducibility.CostWindowPoints} cost windows read, inputs SHA-256 {report.Reproducibility.InputsSha256}"));
            return 0;
        }, context.Errors);
}
