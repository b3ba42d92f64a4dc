using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ObservaCost.Hosting;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c>, the same in every host: <c>/healthz</c> answers 200 while the process serves
/// (no check runs), <c>/readyz</c> runs the checks tagged <see cref="ReadyTag"/> that the composed libraries registered
/// and answers 503 naming each failing check (<see cref="ReadinessResponse"/>).
/// </summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public const string LivePath = "/healthz";

    public const string ReadyPath = "/readyz";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = ReadinessResponse.WriteAsync });
        return endpoints;
    }
}

/// <summary>
/// The body of <c>/readyz</c>: the overall status on the first line, then one line per check that is not healthy with
/// its name and description (for a failing background service: its name, its error and its next start).
/// </summary>
public static class ReadinessResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var body = new System.Text.StringBuilder(report.Status.ToString());
        foreach (KeyValuePair<string, HealthReportEntry> entry in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            body.Append('\n').Append(entry.Key).Append(": ").Append(entry.Value.Description);
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(body.ToString(), context.RequestAborted);
    }
}
