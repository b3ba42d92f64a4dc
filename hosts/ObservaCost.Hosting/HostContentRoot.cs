using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace ObservaCost.Hosting;

/// <summary>
/// One content-root rule for every ObservaCost host (node collector, analytics service, single machine): the folder of the binary,
/// so that the appsettings.json shipped beside it is read whatever the working directory, unless the user sets one
/// (<c>--contentRoot</c> on the command line, or <c>ASPNETCORE_CONTENTROOT</c> / <c>DOTNET_CONTENTROOT</c>).
/// Relative paths in the configuration (the store, the spool) stay relative to the working directory.
/// </summary>
public static class HostContentRoot
{
    public const string Key = "contentRoot";

    /// <summary>The builder options for <paramref name="args"/> with the content root chosen by the rule above.</summary>
    public static WebApplicationOptions Options(string[] args) => new()
    {
        Args = args,
        ContentRootPath = UserSet(args) ? null : AppContext.BaseDirectory,
    };

    private static bool UserSet(string[] args)
    {
        IConfiguration given = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        return !string.IsNullOrEmpty(given[Key]);
    }
}
