using System.ComponentModel;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ObservaCost.Analytics.Windows;
using ObservaCost.Reporting;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Storage;
using ObservaCost.Storage.Configuration;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>The range parameters every endpoint takes; parsed and checked by <see cref="ApiQueryParser"/>.</summary>
public sealed class RangeParameters
{
    [FromQuery(Name = "from")]
    [Description("Required. Start of the range, inclusive: an RFC 3339 time with a zone (2026-11-21T10:00:00Z) or Unix seconds. A stored window is included when its start is in [from, to).")]
    public string? From { get; set; }

    [FromQuery(Name = "to")]
    [Description("Required. End of the range, exclusive, after 'from': an RFC 3339 time with a zone or Unix seconds.")]
    public string? To { get; set; }

    [FromQuery(Name = "step")]
    [Description("Optional bucket length: a whole number of minutes, hours or days (60m, 1h, 6h, 1d), a multiple of the computed window length (1h by default) and not finer than it. Buckets align to the Unix epoch (UTC midnight for 1d). Absent: one bucket over the whole range.")]
    public string? Step { get; set; }
}

/// <summary>The parameters of <c>/anomalies</c>: a required range, a minimum severity and tag filters.</summary>
public sealed class AnomalyParameters
{
    [FromQuery(Name = "from")]
    [Description("Required. Start of the range, inclusive: an RFC 3339 time with a zone (2026-11-21T10:00:00Z) or Unix seconds. An event is included when its time is in [from, to).")]
    public string? From { get; set; }

    [FromQuery(Name = "to")]
    [Description("Required. End of the range, exclusive, after 'from': an RFC 3339 time with a zone or Unix seconds.")]
    public string? To { get; set; }

    [FromQuery(Name = "severity")]
    [Description("Optional minimum severity: info (every event, the default), warning (warning and critical) or critical.")]
    public string? Severity { get; set; }

    [FromQuery(Name = "entityKind")]
    [Description("Optional: only events on this kind of entity: gpu, model or pool.")]
    public string? EntityKind { get; set; }

    [FromQuery(Name = "entity")]
    [Description("Optional: only events on this entity, matched exactly: a GPU UUID, a model name or a pool.")]
    public string? Entity { get; set; }

    [FromQuery(Name = "detector")]
    [Description("Optional: only events of this detector or rule, matched exactly.")]
    public string? Detector { get; set; }

    [FromQuery(Name = "series")]
    [Description("Optional: only events on this signal, matched exactly, e.g. power_watts, utilization_percent, cost_per_million_tokens_usd, request_rate_per_minute, tokens_per_joule.")]
    public string? Series { get; set; }
}

/// <summary>The parameters of <c>/forecast</c>: all optional.</summary>
public sealed class ForecastParameters
{
    [FromQuery(Name = "from")]
    [Description("Optional. Start of the range, inclusive: an RFC 3339 time with a zone or Unix seconds. Absent: now. A forecast hour is included when its time is in [from, to).")]
    public string? From { get; set; }

    [FromQuery(Name = "to")]
    [Description("Optional. End of the range, exclusive, after 'from'. Absent: to the end of the stored forecasts (at most Analytics:Api:MaxRange after 'from').")]
    public string? To { get; set; }

    [FromQuery(Name = "model")]
    [Description("Optional: only forecasts of this served model, matched exactly.")]
    public string? Model { get; set; }

    [FromQuery(Name = "series")]
    [Description("Optional: only this forecast series: tokens_per_hour, gpus_needed, idle_gpu_hours or idle_cost_usd.")]
    public string? Series { get; set; }
}

/// <summary>The parameters of <c>/reports</c>: a required range and a format.</summary>
public sealed class ReportParameters
{
    [FromQuery(Name = "from")]
    [Description("Required. Start of the report's period, inclusive: an RFC 3339 time with a zone (2026-11-16T00:00:00Z) or Unix seconds.")]
    public string? From { get; set; }

    [FromQuery(Name = "to")]
    [Description("Required. End of the period, exclusive, after 'from' and at most Analytics:Api:MaxRange (and Reports:MaxRange) after it.")]
    public string? To { get; set; }

    [FromQuery(Name = "format")]
    [Description("Optional output format: json (the default), csv or md; any other registered report format. An unknown format gets 400 listing the formats available.")]
    public string? Format { get; set; }

    [FromQuery(Name = "comparePrevious")]
    [Description("Optional: true (the default) to set the previous period of the same length beside the period, false for the period alone.")]
    public string? ComparePrevious { get; set; }
}

/// <summary>
/// The analytics read API: <c>/api/v1/cost</c>, <c>/api/v1/idle</c>, <c>/api/v1/kpis</c>, <c>/api/v1/anomalies</c>,
/// <c>/api/v1/forecast</c> and their OpenAPI document.
/// </summary>
public static class AnalyticsApiEndpoints
{
    /// <summary>The OpenAPI document's name; it is served at <c>/openapi/v1.json</c>.</summary>
    public const string DocumentName = "v1";

    public const string OpenApiPath = "/openapi/v1.json";

    /// <summary>The operation whose <c>from</c> and <c>to</c> are optional (every other operation requires them).</summary>
    internal const string ForecastOperation = "GetForecast";

    private const string CostGroupByDescription = "Optional, comma-separated tag keys to group rows by: model, tenant, pool, node, gpu_model, gpu (the GPU's UUID, its MIG instances and bases apart; admin only: a tenant token gets 403), attribution_basis. Absent: one row per bucket.";
    private const string IdleGroupByDescription = "Optional, comma-separated tag keys to group rows by: pool, node, gpu_model (idle capacity has no model or tenant).";
    private const string KpiGroupByDescription = "Optional, comma-separated KPI scopes to return besides the fleet: pool, model, tenant. Absent: all of them.";

    /// <summary>
    /// Registers the API's services and its OpenAPI document. Binds <c>Analytics:Api</c> (read tokens and limits)
    /// and <c>Analytics:Windows</c> (the computed window length), both validated at start-up. The host registers
    /// the <see cref="ITimeSeriesStore"/> (AddObservaCostStorage).
    /// </summary>
    public static IServiceCollection AddAnalyticsApi(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.AddValidatedOptions<AnalyticsApiOptions, AnalyticsApiOptionsValidator>(config, AnalyticsApiOptions.SectionName);
        services.AddOptions<AnalyticsWindowOptions>().Bind(config.GetSection(AnalyticsWindowOptions.SectionName));
        services.AddApiAuthentication();
        services.AddSingleton<AnalyticsApiReader>();
        services.AddSingleton<AnomalyForecastReader>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddReporting(config);
        services.AddOpenApi(DocumentName, AnalyticsApiOpenApi.Configure);
        return services;
    }

    /// <summary>Maps the five endpoints under <c>/api/v1</c> (read token required) and the OpenAPI document (public).</summary>
    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder api = endpoints.MapGroup("/api/v1")
            .WithGroupName(DocumentName)
            .WithTags("analytics")
            .RequireReadToken()
            .AddEndpointFilter(CheckParametersAsync)
            .AddEndpointFilter(StoreUnavailableAsync)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/cost", GetCostAsync)
            .WithName("GetCost")
            .WithSummary("Cost per bucket and group")
            .WithDescription("Sums of the stored cost windows (GPU-hours, capex, opex, rental, energy, tokens, requests) per step bucket and groupBy tags, with per-token and per-energy ratios re-derived from the sums, and the totals over all rows. A tenant token reads only its tenant's rows, and gets 403 for groupBy=gpu (one row per physical GPU, to reconcile a GPU's cost: admin only).")
            .Produces<ApiResponse<CostRow>>()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        api.MapGet("/idle", GetIdleAsync)
            .WithName("GetIdle")
            .WithSummary("Idle GPU capacity per bucket and group (admin only)")
            .WithDescription("Sums of the stored idle windows (idle GPU-hours, idle cost, idle energy) per step bucket and groupBy tags, with the idle share. Idle capacity belongs to pools, not tenants: a tenant token gets 403.")
            .Produces<ApiResponse<IdleRow>>()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        api.MapGet("/kpis", GetKpisAsync)
            .WithName("GetKpis")
            .WithSummary("Efficiency KPIs per bucket for the fleet, pools, models and tenants")
            .WithDescription("KPIs computed per step bucket from the summed cost and idle windows: cost per million tokens, tokens per kWh, joules per token, utilization, capacity utilization, PUE, ROI. A tenant token's KPIs cover its own cost rows only, without idle figures.")
            .Produces<ApiResponse<KpiRow>>();
        api.MapGet("/anomalies", GetAnomaliesAsync)
            .WithName("GetAnomalies")
            .WithSummary("Anomaly events in a range, newest first (admin only)")
            .WithDescription("The stored anomaly events (time, severity, detector, entity, series, value, score, expected value, bounds, magnitude) whose time is in [from, to), at or above a minimum severity, filtered by entity kind, entity, detector and series. Anomalies describe shared GPUs, models and pools: a tenant token gets 403.")
            .Produces<AnomalyResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        api.MapGet("/forecast", GetForecastAsync)
            .WithName(ForecastOperation)
            .WithSummary("The latest issued forecast per model and series, hour by hour (admin only)")
            .WithDescription("For each (model, series) with stored forecast points in [from, to) (by default from now to the end of the stored forecasts), the points of its latest issued forecast (the greatest issuedAt): hour by hour with value and bounds, the method and when it was issued. Forecasts describe shared models and pools: a tenant token gets 403.")
            .Produces<ForecastResponse>()
            .ProducesProblem(StatusCodes.Status403Forbidden);

        api.MapGet("/reports", GetReportAsync)
            .WithName("GetReport")
            .WithSummary("The efficiency report of a period, as a file (admin only)")
            .WithDescription("The efficiency report (docs/reports.md) of [from, to) beside the previous period of the same length: executive summary, utilization and capacity, idle capacity per pool, cost per 1M tokens per model, energy, spend split, revenue where configured, latency, anomalies, the demand forecast against capacity, method notes and the reproducibility footer (SHA-256 of the pricing file and of the stored rows read). Answered as a file in the requested format with Content-Disposition: attachment and the period in the file name. The report covers the whole fleet: a tenant token gets 403.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json", additionalContentTypes: ["text/csv", "text/markdown"])
            .ProducesProblem(StatusCodes.Status403Forbidden);

        endpoints.MapOpenApi(OpenApiPath);
        return endpoints;
    }

    private static Task<IResult> GetCostAsync(
        HttpContext context,
        [AsParameters] RangeParameters range,
        [FromQuery(Name = "groupBy"), Description(CostGroupByDescription)] string? groupBy,
        AnalyticsApiReader reader,
        CancellationToken cancellationToken) =>
        AnswerAsync(context, range, groupBy, AnalyticsApiReader.CostGroupBy, reader, reader.CostAsync, ApiJsonContext.Default.ApiResponseCostRow, cancellationToken);

    private static Task<IResult> GetIdleAsync(
        HttpContext context,
        [AsParameters] RangeParameters range,
        [FromQuery(Name = "groupBy"), Description(IdleGroupByDescription)] string? groupBy,
        AnalyticsApiReader reader,
        CancellationToken cancellationToken) =>
        AnswerAsync(context, range, groupBy, AnalyticsApiReader.IdleGroupBy, reader, reader.IdleAsync, ApiJsonContext.Default.ApiResponseIdleRow, cancellationToken);

    private static Task<IResult> GetKpisAsync(
        HttpContext context,
        [AsParameters] RangeParameters range,
        [FromQuery(Name = "groupBy"), Description(KpiGroupByDescription)] string? groupBy,
        AnalyticsApiReader reader,
        CancellationToken cancellationToken) =>
        AnswerAsync(context, range, groupBy, AnalyticsApiReader.KpiGroupBy, reader, reader.KpisAsync, ApiJsonContext.Default.ApiResponseKpiRow, cancellationToken);

    private static async Task<IResult> GetAnomaliesAsync(
        HttpContext context,
        [AsParameters] AnomalyParameters parameters,
        AnalyticsApiReader analytics,
        AnomalyForecastReader reader,
        CancellationToken cancellationToken)
    {
        if (ApiQueryParser.ParseRange(parameters.From, parameters.To, analytics.Limits, out ApiProblem? invalid) is not ApiRange range
            || !ApiQueryParser.TryParseChoice("severity", parameters.Severity, AnomalyForecastReader.Severities, out string? severity, out invalid)
            || !ApiQueryParser.TryParseChoice("entityKind", parameters.EntityKind, AnomalyForecastReader.EntityKinds, out string? entityKind, out invalid))
        {
            return Problem(invalid!);
        }

        var query = new AnomalyQuery(
            range.From,
            range.To,
            severity is null ? AnomalySeverity.Info : Enum.Parse<AnomalySeverity>(severity, ignoreCase: true),
            entityKind,
            NullIfEmpty(parameters.Entity),
            NullIfEmpty(parameters.Detector),
            NullIfEmpty(parameters.Series));
        return Answer(await reader.AnomaliesAsync(query, Caller(context), cancellationToken), ApiJsonContext.Default.AnomalyResponse);
    }

    private static async Task<IResult> GetForecastAsync(
        HttpContext context,
        [AsParameters] ForecastParameters parameters,
        AnalyticsApiReader analytics,
        AnomalyForecastReader reader,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (ApiQueryParser.ParseOptionalRange(parameters.From, parameters.To, time.GetUtcNow(), analytics.Limits, out ApiProblem? invalid) is not ApiRange range)
        {
            return Problem(invalid!);
        }

        var query = new ForecastQuery(range, NullIfEmpty(parameters.Model), NullIfEmpty(parameters.Series));
        return Answer(await reader.ForecastAsync(query, Caller(context), cancellationToken), ApiJsonContext.Default.ForecastResponse);
    }

    private static readonly ApiProblem ReportForbidden = ApiProblems.AdminOnly(
        "Reports are admin-only",
        "The efficiency report covers the whole fleet (idle capacity, every model and pool), not one tenant's use of it, so a tenant-scoped token cannot read /api/v1/reports.");

    private static async Task<IResult> GetReportAsync(
        HttpContext context,
        [AsParameters] ReportParameters parameters,
        AnalyticsApiReader analytics,
        EfficiencyReportBuilder builder,
        ReportWriters writers,
        CancellationToken cancellationToken)
    {
        if (!Caller(context).IsAdmin)
        {
            return Problem(ReportForbidden);
        }

        if (ApiQueryParser.ParseRange(parameters.From, parameters.To, analytics.Limits, out ApiProblem? invalid) is not ApiRange range)
        {
            return Problem(invalid!);
        }

        string format = string.IsNullOrEmpty(parameters.Format) ? "json" : parameters.Format;
        if (!writers.TryGet(format, out IReportWriter? writer))
        {
            return Problem(new ApiProblem(StatusCodes.Status400BadRequest, "Unknown report format", writers.UnknownFormatMessage(format) + "."));
        }

        bool comparePrevious = true;
        if (!string.IsNullOrEmpty(parameters.ComparePrevious) && !bool.TryParse(parameters.ComparePrevious, out comparePrevious))
        {
            return Problem(new ApiProblem(StatusCodes.Status400BadRequest, "Invalid comparePrevious", $"'comparePrevious' must be true or false; got '{parameters.ComparePrevious}'."));
        }

        var request = new ReportRequest(range.From, range.To, comparePrevious);
        if (builder.Check(request) is string tooLong)
        {
            return Problem(new ApiProblem(StatusCodes.Status400BadRequest, "Invalid range", tooLong + "."));
        }

        EfficiencyReport report = await builder.BuildAsync(request, cancellationToken);
        using var body = new MemoryStream();
        await writer.WriteAsync(report, body, cancellationToken);
        return TypedResults.File(body.ToArray(), writer.ContentType, ReportWriters.FileName(range.From, range.To, writer));
    }

    /// <summary>One path for every windowed endpoint: parse, read as the caller, answer JSON or problem details.</summary>
    private static async Task<IResult> AnswerAsync<T>(
        HttpContext context,
        RangeParameters range,
        string? groupBy,
        IReadOnlyList<string> allowedGroupBy,
        AnalyticsApiReader reader,
        Func<ApiQuery, ApiCaller, CancellationToken, Task<ApiOutcome<T>>> read,
        JsonTypeInfo<T> json,
        CancellationToken cancellationToken)
    {
        ApiQuery? query = ApiQueryParser.Parse(range.From, range.To, range.Step, groupBy, allowedGroupBy, reader.Limits, out ApiProblem? invalid);
        if (query is null)
        {
            return Problem(invalid!);
        }

        return Answer(await read(query, Caller(context), cancellationToken), json);
    }

    private static IResult Answer<T>(ApiOutcome<T> outcome, JsonTypeInfo<T> json) =>
        outcome.Problem is ApiProblem problem ? Problem(problem) : TypedResults.Json(outcome.Response!, json);

    /// <summary>The caller the read token's claims describe.</summary>
    private static ApiCaller Caller(HttpContext context) => ApiCaller.Of(context.User);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static IResult Problem(ApiProblem problem) => TypedResults.Problem(problem.Detail, statusCode: problem.Status, title: problem.Title);

    /// <summary>
    /// 400 naming the parameter when a query value holds control characters or invalid UTF-16, or is too long. (The
    /// read token was checked before: <see cref="ApiAuthentication.RequireReadToken"/>.)
    /// </summary>
    private static async ValueTask<object?> CheckParametersAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        if (ApiParameterCheck.Check(invocation.HttpContext.Request.Query) is ApiProblem invalid)
        {
            return Problem(invalid);
        }

        return await next(invocation);
    }

    /// <summary>503 with Retry-After when the store cannot be reached; every other fault surfaces.</summary>
    private static async ValueTask<object?> StoreUnavailableAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        try
        {
            return await next(invocation);
        }
        catch (StoreUnavailableException ex)
        {
            invocation.HttpContext.Response.Headers.RetryAfter = "30";
            return Problem(new ApiProblem(StatusCodes.Status503ServiceUnavailable, "Store unavailable", "The time-series store could not be reached: " + ex.Message));
        }
    }
}
