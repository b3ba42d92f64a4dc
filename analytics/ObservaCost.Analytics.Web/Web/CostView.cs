using System.Globalization;
using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Reporting.Charts;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// <c>/cost</c>, for FinOps: $/1M tokens per model and per tenant over the period, spend by component, the idle share
/// and the top idle pools (admin tokens; idle capacity belongs to no tenant). Filters <c>pool</c>, <c>model</c> and
/// <c>tenant</c> (a tenant token is always its own tenant). Every table downloads as CSV.
/// </summary>
public static class CostView
{
    private const string Path = "/cost";
    private const string Unallocated = "(unallocated)";

    public static async Task<WebViewContent> BuildAsync(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        WebPeriod period = request.Period;
        string? pool = request.Filter("pool"), model = request.Filter("model"), tenant = request.Filter("tenant");
        IReadOnlyList<CostRow> all = await WebData.CostAsync(request, period.Step, Tags.Model, Tags.Tenant, Tags.Pool);
        CostRow[] rows = [.. all.Where(r => (pool is null || r.Pool == pool) && (model is null || r.Model == model) && (tenant is null || r.Tenant == tenant))];
        IdleRow[] idle = request.Caller.IsAdmin
            ? [.. (await WebData.IdleAsync(request, null, Tags.Pool)).Where(r => pool is null || r.Pool == pool)]
            : [];
        IReadOnlyList<DateTimeOffset> buckets = WebData.Buckets(period);

        WebTable perModel = PerKeyTable("cost-per-model", "$ per 1M tokens per model", "Model", rows, r => r.Model ?? Unallocated);
        WebTable perTenant = PerKeyTable("cost-per-tenant", "$ per 1M tokens per tenant", "Tenant", rows, r => r.Tenant ?? Unallocated);

        var spend = new WebTable("spend", "Spend by component per bucket", [
            new("Bucket start (UTC)"), new("Capex ($)", "N2"), new("Opex ($)", "N2"), new("Rental ($)", "N2"), new("Energy ($)", "N2"), new("Total ($)", "N2")]);
        var capex = new List<double>();
        var opex = new List<double>();
        var rental = new List<double>();
        var energy = new List<double>();
        bool rentalInsideOpex = false;
        foreach (DateTimeOffset bucket in buckets)
        {
            CostRow[] inBucket = [.. rows.Where(r => r.WindowStart == bucket)];

            // A bucket holding a window computed before rental was split from opex has its rental inside opex: the
            // rental cell stays empty (not measured) rather than reading 0.
            (double bucketOpex, double? bucketRental) = CostFigures.OpexAndRental(
                inBucket.Sum(r => r.OpexUsd), inBucket.Sum(r => r.RentalUsd ?? 0), inBucket.All(r => r.RentalUsd is not null));
            rentalInsideOpex |= bucketRental is null;
            capex.Add(inBucket.Sum(r => r.CapexUsd));
            opex.Add(bucketOpex);
            rental.Add(bucketRental ?? 0);
            energy.Add(inBucket.Sum(r => r.EnergyCostUsd));
            if (inBucket.Length > 0)
            {
                spend.Add(WebData.Bucket(bucket), capex[^1], opex[^1], bucketRental, energy[^1], inBucket.Sum(r => r.CostUsd));
            }
        }

        var idlePools = new WebTable("idle-pools", "Top idle pools (by idle cost)", [
            new("Pool"), new("GPU-hours", "N1"), new("Idle GPU-hours", "N1"), new("Idle cost ($)", "N2"), new("Idle share (%)", "N1")]);
        foreach (IdleRow r in idle.OrderByDescending(r => r.IdleCostUsd).ThenBy(r => r.Pool, StringComparer.Ordinal))
        {
            idlePools.Add(WebCell.Of(r.Pool ?? "(none)", FleetView.LinkTo(request, "/fleet", ("pool", r.Pool ?? string.Empty))), r.GpuHours, r.IdleGpuHours, r.IdleCostUsd, r.IdleShare * 100);
        }

        double spendUsd = rows.Sum(r => r.CostUsd), gpuHours = rows.Sum(r => r.GpuHours);
        long tokens = rows.Sum(r => r.PromptTokens + r.CompletionTokens);
        double idleHours = idle.Sum(r => r.IdleGpuHours), idleAllHours = idle.Sum(r => r.GpuHours);

        return new WebViewContent([perModel, perTenant, spend, idlePools], html =>
        {
            Html page = WebLayout.Begin("Cost", Path, request.Caller, period.Describe(),
                "cost in USD; $/1M tokens = cost ÷ (prompt + completion tokens) × 1,000,000 from the summed windows; GPU-hours in hours."
                + (request.Caller.IsAdmin ? string.Empty : " Rows of tenant " + request.Caller.Tenant + " only."));
            WebLayout.Filters(page, request, Path, [
                ("pool", "Pool", Choices(all, r => r.Pool)),
                ("model", "Model", Choices(all, r => r.Model)),
                .. request.Caller.IsAdmin ? [("tenant", "Tenant", Choices(all, r => r.Tenant))] : Array.Empty<(string, string, IReadOnlyList<string>)>()]);
            WebLayout.Cards(page, [
                ("Spend", WebData.Usd(spendUsd), "attributed to the rows shown"),
                ("Tokens", WebData.Number(tokens / 1e6, "N2") + " M", "prompt + completion"),
                ("$ per 1M tokens", WebData.Usd(WebData.PerMillionTokens(spendUsd, tokens)), "all rows shown"),
                ("GPU-hours", WebData.Number(gpuHours, "N1"), null),
                .. request.Caller.IsAdmin
                    ? [("Idle share", WebData.Number(idleAllHours > 0 ? idleHours / idleAllHours * 100 : null, "N1") + " %", WebData.Number(idleHours, "N1") + " idle GPU-hours, " + WebData.Usd(idle.Sum(r => r.IdleCostUsd)))]
                    : Array.Empty<(string, string, string?)>(),
            ]);

            page.Element("h2", "$ per 1M tokens per model");
            WebLayout.ChartWithTable(page, request, PerKeyChart("$ per 1M tokens by model", buckets, rows, r => r.Model), perModel);
            page.Element("h2", "$ per 1M tokens per tenant");
            WebLayout.ChartWithTable(page, request, PerKeyChart("$ per 1M tokens by tenant", buckets, rows, r => r.Tenant), perTenant);
            page.Element("h2", "Spend by component");
            ChartSpec? spendChart = spend.Rows.Count == 0 ? null : new BarChart(
                "Spend by component", "USD per " + (period.Step == TimeSpan.FromHours(1) ? "hour" : "day"),
                [.. buckets.Select(b => b.UtcDateTime.ToString(period.Step == TimeSpan.FromHours(1) ? "HH:mm" : "MM-dd", CultureInfo.InvariantCulture))],
                [new BarGroup("capex", capex), new BarGroup(rentalInsideOpex ? "opex (incl. rental)" : "opex", opex), new BarGroup("rental", rental), new BarGroup("energy", energy)],
                Stacked: true);
            WebLayout.ChartWithTable(page, request, spendChart, spend);
            if (request.Caller.IsAdmin)
            {
                page.Element("h2", "Idle share and top idle pools");
                ChartSpec? idleChart = idle.Length == 0 ? null : new BarChart(
                    "Idle cost by pool", "idle cost (USD)",
                    [.. idle.OrderByDescending(r => r.IdleCostUsd).Select(r => r.Pool ?? "(none)")],
                    [new BarGroup("idle cost", [.. idle.OrderByDescending(r => r.IdleCostUsd).Select(r => r.IdleCostUsd)])]);
                WebLayout.ChartWithTable(page, request, idleChart, idlePools);
            }
            else
            {
                page.Element("p", "Idle capacity belongs to the shared pools, not to a tenant: it is shown to admin tokens only.", ("class", "note"));
            }

            html.Constant(WebLayout.End(page));
        });
    }

    /// <summary>The long table behind a per-key chart: bucket, key, cost, tokens and their ratio.</summary>
    private static WebTable PerKeyTable(string id, string caption, string keyHeading, IEnumerable<CostRow> rows, Func<CostRow, string> key)
    {
        var table = new WebTable(id, caption, [
            new("Bucket start (UTC)"), new(keyHeading), new("Cost ($)", "N2"), new("Tokens", "N0"), new("$ per 1M tokens", "N3")]);
        foreach (var group in rows.GroupBy(r => (r.WindowStart, Key: key(r))).OrderBy(g => g.Key.WindowStart).ThenBy(g => g.Key.Key, StringComparer.Ordinal))
        {
            double cost = group.Sum(r => r.CostUsd);
            long tokens = group.Sum(r => r.PromptTokens + r.CompletionTokens);
            table.Add(WebData.Bucket(group.Key.WindowStart), group.Key.Key, cost, tokens, WebData.PerMillionTokens(cost, tokens));
        }

        return table;
    }

    /// <summary>One line per key with tokens (unallocated GPU time has none, so no line).</summary>
    private static TimeChart? PerKeyChart(string title, IReadOnlyList<DateTimeOffset> buckets, IEnumerable<CostRow> rows, Func<CostRow, string?> key)
    {
        LineSeries[] lines = WebData.LinesPerKey(buckets, rows.Where(r => key(r) is not null), r => r.WindowStart, r => key(r)!,
            inBucket => WebData.PerMillionTokens(inBucket.Sum(r => r.CostUsd), inBucket.Sum(r => r.PromptTokens + r.CompletionTokens)));
        lines = [.. lines.Where(l => l.Values.Any(double.IsFinite))];
        return lines.Length == 0 ? null : new TimeChart(title, "USD per 1M tokens", lines);
    }

    private static IReadOnlyList<string> Choices(IEnumerable<CostRow> rows, Func<CostRow, string?> key) =>
        [.. rows.Select(key).OfType<string>().Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
