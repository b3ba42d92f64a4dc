using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ObservaCost.Reporting.Configuration;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Storage.Configuration;

namespace ObservaCost.Reporting;

public static class ReportingServices
{
    /// <summary>
    /// Registers the efficiency report: <see cref="ReportOptions"/> (validated at start-up), the builder, the
    /// software version of the entry assembly, the JSON, CSV, Markdown and PDF writers as <see cref="IReportWriter"/>s and
    /// the <see cref="ReportWriters"/> lookup. Another format is one more <c>services.AddSingleton&lt;IReportWriter, …&gt;()</c>.
    /// Registers once however often it is called. Needs the analytics domain (<c>AddAnalyticsDomain</c>) and the store.
    /// </summary>
    public static IServiceCollection AddReporting(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        if (services.Any(d => d.ServiceType == typeof(ReportWriters)))
        {
            return services; // registered already (the API and the scheduled jobs both ask for it)
        }

        services.AddValidatedOptions<ReportOptions, ReportOptionsValidator>(config, ReportOptions.SectionName);
        services.TryAddSingleton(_ => ReportSoftware.Of(Assembly.GetEntryAssembly()));
        services.TryAddSingleton<EfficiencyReportBuilder>();
        services.AddSingleton<IReportWriter, JsonReportWriter>();
        services.AddSingleton<IReportWriter, CsvReportWriter>();
        services.AddSingleton<IReportWriter, MarkdownReportWriter>();
        services.AddSingleton<IReportWriter, PdfReportWriter>();
        services.TryAddSingleton<ReportWriters>();
        return services;
    }
}
