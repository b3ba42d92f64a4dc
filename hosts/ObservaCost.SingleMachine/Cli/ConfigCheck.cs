using Microsoft.Extensions.Options;
using ObservaCost.Hosting;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>config check</c>: binds and validates the whole configuration (appsettings.json, environment, the
/// <c>--Key value</c> pairs) without starting anything. The single-machine host composes every library the other two
/// hosts compose (the collector's sources, spool and forwarder; the analytics domain, scheduling and API; the store),
/// so building it registers every options class with the validators each host runs at start-up, and the start-up
/// validator runs them all. Failures go through the one run wrapper (<see cref="HostRun"/>): one line each naming the
/// key, exit code 2.
/// </summary>
public static class ConfigCheck
{
    public static Task<int> RunAsync(string[] configuration, CliContext context) =>
        HostRun.RunAsync(async () =>
        {
            await using WebApplication app = SingleMachineApplication.Build(configuration, context.Configure);
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            await context.Output.WriteLineAsync("configuration OK");
            return 0;
        }, context.Errors);
}
