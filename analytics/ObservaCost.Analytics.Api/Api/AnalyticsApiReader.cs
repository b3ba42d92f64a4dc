using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Kpi;
using ObservaCost.Analytics.Reading;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>An API answer: the response, or the problem that stopped it.</summary>
public readonly record struct ApiOutcome<T>(T? Response, ApiProblem? Problem);

/// <summary>
/// Answers the API's queries from the stored windows (<see cref="StoredWindowReader"/>), scoped to the caller: a
/// tenant's reads carry <c>tenant = its tenant</c> on every cost query and never see idle capacity, which belongs to
/// pools rather than tenants.
/// </summary>
public sealed class AnalyticsApiReader
{
    /// <summary>The <c>groupBy</c> key of one GPU (its UUID, stored as the <c>uuid</c> tag); admin only.</summary>
    public const string GpuGroupBy = "gpu";

    /// <summary>The keys <c>/cost</c> groups by: tag keys, and <see cref="GpuGroupBy"/>.</summary>
    public static readonly IReadOnlyList<string> CostGroupBy = [Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel, GpuGroupBy, Tags.AttributionBasis];

    /// <summary>Grouped by <see cref="GpuGroupBy"/>, a GPU's rows keep its MIG instances and bases apart: they are part of a row's identity.</summary>
    private static readonly string[] GpuRowTags = [Tags.GpuUuid, Tags.MigInstance, Tags.MigProfile, Tags.AttributionBasis];

    /// <summary>The tag keys <c>/idle</c> groups by: idle capacity has no model or tenant.</summary>
    public static readonly IReadOnlyList<string> IdleGroupBy = [Tags.Pool, Tags.Node, Tags.GpuModel];

    /// <summary>The KPI scopes <c>/kpis</c> returns besides the fleet.</summary>
    public static readonly IReadOnlyList<string> KpiGroupBy = [Tags.Pool, Tags.Model, Tags.Tenant];

    private static readonly string[] KpiCostTags = [Tags.Model, Tags.Tenant, Tags.Pool];
    private static readonly string[] KpiIdleTags = [Tags.Pool];

    private readonly ITimeSeriesStore _store;
    private readonly AnalyticsApiOptions _options;
    private readonly TimeSpan _windowLength;

    public AnalyticsApiReader(ITimeSeriesStore store, IOptions<AnalyticsApiOptions> options, IOptions<AnalyticsWindowOptions> windows)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(windows);
        _store = store;
        _options = options.Value;
        _windowLength = windows.Value.WindowLength;
    }

    public ApiLimits Limits => new(_options.MaxRange, _options.MaxBuckets, _options.MinStep, _windowLength);

    public async Task<ApiOutcome<ApiResponse<CostRow>>> CostAsync(ApiQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin && query.GroupBy.Contains(GpuGroupBy, StringComparer.Ordinal))
        {
            return new(null, GpuForbidden);
        }

        IReadOnlyList<CostWindow> windows = await StoredWindowReader.ReadCostAsync(
            _store, Selection(query, [.. query.GroupBy.SelectMany(k => k == GpuGroupBy ? GpuRowTags : [k]).Distinct(StringComparer.Ordinal)], caller), cancellationToken);
        if (TooMany(windows.Count) is ApiProblem tooMany)
        {
            return new(null, tooMany);
        }

        CostRow[] rows = [.. windows
            .OrderBy(w => w.WindowStart)
            .ThenBy(w => w.Model, StringComparer.Ordinal).ThenBy(w => w.Tenant, StringComparer.Ordinal)
            .ThenBy(w => w.Pool, StringComparer.Ordinal).ThenBy(w => w.Node, StringComparer.Ordinal).ThenBy(w => w.GpuModel, StringComparer.Ordinal)
            .ThenBy(w => w.GpuUuid, StringComparer.Ordinal).ThenBy(w => w.MigInstance, StringComparer.Ordinal).ThenBy(w => w.AttributionBasis, StringComparer.Ordinal)
            .Select(w => CostRow.From(w, withLatency: true))];
        return new(Envelope(query, caller, rows, CostRow.Total(query.From, query.To, windows)), null);
    }

    public async Task<ApiOutcome<ApiResponse<IdleRow>>> IdleAsync(ApiQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            return new(null, IdleForbidden);
        }

        IReadOnlyList<IdleWindow> windows = await StoredWindowReader.ReadIdleAsync(_store, Selection(query, query.GroupBy, caller), cancellationToken);
        if (TooMany(windows.Count) is ApiProblem tooMany)
        {
            return new(null, tooMany);
        }

        IdleRow[] rows = [.. windows
            .OrderBy(w => w.WindowStart)
            .ThenBy(w => w.Pool, StringComparer.Ordinal).ThenBy(w => w.Node, StringComparer.Ordinal).ThenBy(w => w.GpuModel, StringComparer.Ordinal)
            .Select(IdleRow.From)];
        return new(Envelope(query, caller, rows, IdleRow.Total(query.From, query.To, windows)), null);
    }

    /// <summary>
    /// KPIs per bucket computed by <see cref="KpiCalculator"/> over the bucket's summed cost rows (by model, tenant
    /// and pool) and, for an admin, its idle rows (by pool): right for any step, unlike stored hourly or daily KPIs.
    /// A tenant's KPIs cover its own cost rows only, without idle figures.
    /// </summary>
    public async Task<ApiOutcome<ApiResponse<KpiRow>>> KpisAsync(ApiQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        IReadOnlyList<CostWindow> costs = await StoredWindowReader.ReadCostAsync(_store, Selection(query, KpiCostTags, caller), cancellationToken);
        IReadOnlyList<IdleWindow> idle = caller.IsAdmin
            ? await StoredWindowReader.ReadIdleAsync(_store, Selection(query, KpiIdleTags, caller), cancellationToken)
            : [];
        IReadOnlyList<string> scopes = query.GroupBy.Count > 0 ? query.GroupBy : KpiGroupBy;
        TimeSpan length = query.Step ?? query.To - query.From;
        var rows = new List<KpiRow>();
        foreach (DateTimeOffset start in costs.Select(c => c.WindowStart).Concat(idle.Select(i => i.WindowStart)).Distinct().Order())
        {
            IReadOnlyList<KpiWindow> kpis = KpiCalculator.Compute(
                start,
                length,
                [.. costs.Where(c => c.WindowStart == start)],
                [.. idle.Where(i => i.WindowStart == start)]);
            foreach (KpiWindow kpi in kpis.Where(k => k.Scope == KpiScope.Fleet || scopes.Contains(KpiWindow.ScopeTag(k.Scope), StringComparer.Ordinal)))
            {
                rows.Add(KpiRow.From(caller.IsAdmin ? kpi : kpi with { IdleGpuHours = null, IdleCostUsd = null, IdleCo2eGrams = null }));
                if (TooMany(rows.Count) is ApiProblem tooMany)
                {
                    return new(null, tooMany);
                }
            }
        }

        return new(Envelope(query with { GroupBy = scopes }, caller, rows, null), null);
    }

    private static readonly ApiProblem IdleForbidden = ApiProblems.AdminOnly(
        "Idle capacity is admin-only",
        "Idle capacity belongs to pools and nodes, not to tenants, so a tenant-scoped token cannot read /api/v1/idle.");

    private static readonly ApiProblem GpuForbidden = ApiProblems.AdminOnly(
        "groupBy=gpu is admin-only",
        "groupBy 'gpu' splits cost by physical GPU, which is shared fleet capacity rather than a tenant's: a tenant-scoped token cannot group by it.");

    private ApiProblem? TooMany(int rows) =>
        ApiProblems.TooMany(rows, _options.MaxRows, "Ask for a shorter range, a coarser step or fewer groupBy keys.");

    private WindowSelection Selection(ApiQuery query, IReadOnlyList<string> groupBy, ApiCaller caller) => new()
    {
        From = query.From,
        To = query.To,
        Step = query.Step,
        GroupBy = groupBy,
        SourceWindow = _windowLength,
        Where = caller.Tenant is string tenant
            ? new Dictionary<string, string>(StringComparer.Ordinal) { [Tags.Tenant] = tenant }
            : new Dictionary<string, string>(StringComparer.Ordinal),
    };

    private static ApiResponse<TRow> Envelope<TRow>(ApiQuery query, ApiCaller caller, IReadOnlyList<TRow> rows, TRow? totals) => new()
    {
        From = query.From,
        To = query.To,
        Step = query.StepText,
        GroupBy = query.GroupBy,
        Tenant = caller.Tenant,
        Rows = rows,
        Totals = totals,
    };
}
