using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ObservaCost.Analytics.Api;

/// <summary>
/// The OpenAPI document of the analytics API, generated from the endpoints (Microsoft.AspNetCore.OpenApi): only the
/// analytics endpoints, the bearer scheme, and <c>from</c>/<c>to</c> marked required except on <c>/forecast</c> (they
/// are bound as optional strings so that a missing one is answered with problem details rather than the framework's
/// bare 400).
/// </summary>
internal static class AnalyticsApiOpenApi
{
    private const string BearerScheme = "bearer";

    public static void Configure(OpenApiOptions options)
    {
        options.ShouldInclude = description => string.Equals(description.GroupName, AnalyticsApiEndpoints.DocumentName, StringComparison.Ordinal);
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "ObservaCost analytics API",
                Version = "v1",
                Description = "What GPU inference costs, read from the stored cost and idle windows: cost, idle capacity and efficiency KPIs per step and group; and the anomaly events and demand and capacity forecasts the analytics jobs store. Every endpoint takes a read token (Authorization: Bearer); a tenant token reads only its tenant's cost rows, and gets 403 on idle, anomalies and forecasts. Errors are RFC 7807 problem details.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A read token configured by its SHA-256 in Analytics:Api:Tokens: an admin token, or one bound to a tenant.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }];
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, _, _) =>
        {
            bool rangeRequired = !string.Equals(operation.OperationId, AnalyticsApiEndpoints.ForecastOperation, StringComparison.Ordinal);
            foreach (OpenApiParameter parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
            {
                if (rangeRequired && parameter.Name is "from" or "to")
                {
                    parameter.Required = true;
                }
            }

            return Task.CompletedTask;
        });
    }
}
