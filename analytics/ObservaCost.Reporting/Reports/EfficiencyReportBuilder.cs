using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Kpi;
using ObservaCost.Analytics.Planning;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Reading;
using ObservaCost.Analytics.Windows;
using ObservaCost.Reporting.Configuration;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Reporting.Reports;

/// <summary>What to report on: [From, To), and whether the previous period of the same length is compared.</summary>
public sealed record ReportRequest(DateTimeOffset From, DateTimeOffset To, bool ComparePrevious = true);

/// <summary>
/// Builds the <see cref="EfficiencyReport"/> from the stored windows through the domain's readers: cost and idle
/// windows summed in the store (<see cref="StoredWindowReader"/>), the KPIs by <see cref="KpiCalculator"/> (the
/// calculator the API uses), anomaly events and forecasts by <see cref="StoredEventReader"/>, the capacity against
/// the forecast by <see cref="CapacityPlanner"/>. Every stored row read goes, in a canonical text form, into the input
/// hash; the report holds no wall-clock time, so the same store and pricing file give the same report.
/// </summary>
public sealed class EfficiencyReportBuilder
{
    private const double SecondsPerHour = 3600;

    private static readonly string[] KpiCostTags = [Tags.Model, Tags.Tenant, Tags.Pool];
    private static readonly string[] KpiIdleTags = [Tags.Pool];
    private static readonly string[] ModelTags = [Tags.Model];

    private readonly ITimeSeriesStore _store;
    private readonly PricingFile _pricing;
    private readonly AnalyticsOptions _analytics;
    private readonly AnalyticsWindowOptions _windows;
    private readonly ForecastOptions _forecast;
    private readonly ReportOptions _options;
    private readonly ReportSoftware _software;

    public EfficiencyReportBuilder(
        ITimeSeriesStore store,
        PricingFile pricing,
        IOptions<AnalyticsOptions> analytics,
        AnalyticsWindowOptions windows,
        ForecastOptions forecast,
        IOptions<ReportOptions> options,
        ReportSoftware software)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(pricing);
        ArgumentNullException.ThrowIfNull(analytics);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(forecast);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(software);
        _store = store;
        _pricing = pricing;
        _analytics = analytics.Value;
        _windows = windows;
        _forecast = forecast;
        _options = options.Value;
        _software = software;
    }

    /// <summary>The longest period a report covers (<c>Reports:MaxRange</c>).</summary>
    public TimeSpan MaxRange => _options.MaxRange;

    /// <summary>Why the request cannot be reported on, or null: an empty range, or one longer than <see cref="MaxRange"/>.</summary>
    public string? Check(ReportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.To <= request.From)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the report's end ({request.To:O}) must be after its start ({request.From:O})");
        }

        return request.To - request.From > _options.MaxRange
            ? string.Create(CultureInfo.InvariantCulture, $"the report covers {(request.To - request.From).TotalDays:0.##} days, more than {ReportOptions.SectionName}:{nameof(ReportOptions.MaxRange)} ({_options.MaxRange.TotalDays:0.##} days)")
            : null;
    }

    public async Task<EfficiencyReport> BuildAsync(ReportRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Check(request) is string problem)
        {
            throw new ArgumentException(problem, nameof(request));
        }

        var inputs = new InputDigest();
        var period = new ReportPeriod(request.From.ToUniversalTime(), request.To.ToUniversalTime());
        ReportPeriod? previousPeriod = request.ComparePrevious ? new ReportPeriod(period.From - (period.To - period.From), period.From) : null;

        PeriodData current = await ReadPeriodAsync("period", period, inputs, cancellationToken);
        PeriodData? previous = previousPeriod is null ? null : await ReadPeriodAsync("previous", previousPeriod, inputs, cancellationToken);

        TimeSpan step = TimelineStep(period);
        IReadOnlyList<TimelinePoint> timeline = await ReadTimelineAsync(period, step, inputs, cancellationToken);
        AnomalySection anomalies = Anomalies(current, previous);
        ForecastSection forecast = await ReadForecastAsync(period, inputs, cancellationToken);

        FleetFigures fleet = Fleet(current, previous);
        IReadOnlyList<PoolFigures> pools = Pools(current, previous);
        IReadOnlyList<ModelFigures> models = Models(current, previous);
        ReportTariff tariff = Tariff(_pricing.Energy);
        string pricingPath = _analytics.ResolvePricingPath();
        byte[] pricingBytes = await File.ReadAllBytesAsync(pricingPath, cancellationToken);

        var report = new EfficiencyReport
        {
            Period = period,
            PreviousPeriod = previousPeriod,
            Summary = [],
            Fleet = fleet,
            Pools = pools,
            Models = models,
            Tariff = tariff,
            CarbonIntensity = _pricing.Energy.Carbon?.Describe() ?? EfficiencyReport.NoCarbonIntensity,
            Anomalies = anomalies,
            Forecast = forecast,
            Timeline = timeline,
            TimelineStep = step,
            Method = new MethodNotes
            {
                Definitions = ReportDefinitions.All,
                PricingInputs = PricingInputs(_pricing),
                NotMeasured = NotMeasured(current, previous, forecast),
                Notes = Notes(current, previous, _pricing),
            },
            Reproducibility = new Reproducibility
            {
                PricingFileSha256 = Convert.ToHexStringLower(SHA256.HashData(pricingBytes)),
                InputsSha256 = inputs.Finish(),
                CostWindowPoints = current.CostPoints + (previous?.CostPoints ?? 0),
                IdleWindowPoints = current.IdlePoints + (previous?.IdlePoints ?? 0),
                AnomalyEventPoints = current.Anomalies.Count + (previous?.Anomalies.Count ?? 0),
                ForecastPoints = forecast.Models.Sum(m => (long)m.Hours.Count),
                SoftwareVersion = _software.Version,
                Commit = _software.Commit,
            },
        };
        return report with { Summary = ReportSummary.Sentences(report) };
    }

    /// <summary>An hour per bucket for periods up to two days, else a day; never finer than the stored windows.</summary>
    public TimeSpan TimelineStep(ReportPeriod period)
    {
        ArgumentNullException.ThrowIfNull(period);
        TimeSpan step = period.To - period.From <= TimeSpan.FromDays(2) ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        return step < _windows.WindowLength ? _windows.WindowLength : step;
    }

    /// <summary>The sums and KPIs of one period, as read.</summary>
    private sealed record PeriodData(
        ReportPeriod Period,
        KpiWindow? Fleet,
        IReadOnlyList<KpiWindow> Pools,
        CostWindow? Total,
        IReadOnlyList<CostWindow> ModelRows,
        IReadOnlyList<KpiWindow> ModelKpis,
        IReadOnlyList<AnomalyEvent> Anomalies,
        long CostPoints,
        long IdlePoints)
    {
        /// <summary>Each node's cost windows summed over the period, with where their node power came from.</summary>
        public IReadOnlyList<CostWindow> Nodes { get; init; } = [];
    }

    private async Task<PeriodData> ReadPeriodAsync(string label, ReportPeriod period, InputDigest inputs, CancellationToken cancellationToken)
    {
        IReadOnlyList<CostWindow> costs = await ReadCostAsync(label + ".cost.model,tenant,pool", period, null, KpiCostTags, inputs, cancellationToken);
        IReadOnlyList<IdleWindow> idle = await ReadIdleAsync(label + ".idle.pool", period, null, KpiIdleTags, inputs, cancellationToken);
        IReadOnlyList<CostWindow> byModel = await ReadCostAsync(label + ".cost.model", period, null, ModelTags, inputs, cancellationToken);
        IReadOnlyList<CostWindow> total = await ReadCostAsync(label + ".cost", period, null, [], inputs, cancellationToken);
        IReadOnlyList<KpiWindow> kpis = KpiCalculator.Compute(period.From, period.To - period.From, costs, idle);
        IReadOnlyList<KpiWindow> modelKpis = KpiCalculator.Compute(period.From, period.To - period.From, [.. byModel.Where(m => m.Model is not null)], []);
        IReadOnlyList<AnomalyEvent> anomalies = await StoredEventReader.ReadAnomaliesAsync(_store, new AnomalySelection(period.From, period.To), cancellationToken);
        foreach (AnomalyEvent e in anomalies)
        {
            inputs.Add(label + ".anomaly", e.Time, e.Severity.ToString(), e.Detector, e.EntityKind, e.Entity, e.Series, e.Value, e.Score, e.ExpectedValue, e.LowerBound, e.UpperBound, e.Magnitude);
        }

        long costPoints = await CountAsync(Measurements.CostWindow, period, cancellationToken);
        long idlePoints = await CountAsync(Measurements.IdleWindow, period, cancellationToken);
        inputs.Add(label + ".points", costPoints, idlePoints);
        KpiWindow? fleet = kpis.FirstOrDefault(k => k.Scope == KpiScope.Fleet);
        CostWindow? sum = total.FirstOrDefault(t => t.GpuHours > 0 || t.PromptTokens + t.CompletionTokens > 0);
        return new PeriodData(
            period,
            fleet is { GpuHours: > 0 } ? fleet : null,
            [.. kpis.Where(k => k.Scope == KpiScope.Pool)],
            sum,
            [.. byModel.Where(m => m.Model is not null)],
            [.. modelKpis.Where(k => k.Scope == KpiScope.Model)],
            anomalies,
            costPoints,
            idlePoints)
        {
            Nodes = await ReadNodesAsync(label + ".cost.node", period, inputs, cancellationToken),
        };
    }

    /// <summary>The period's cost windows per node: node energy and where it came from (docs/analytics.md, "Whole-node power").</summary>
    private async Task<IReadOnlyList<CostWindow>> ReadNodesAsync(string label, ReportPeriod period, InputDigest inputs, CancellationToken cancellationToken)
    {
        IReadOnlyList<CostWindow> rows = await StoredWindowReader.ReadCostAsync(_store, Selection(period, null, [Tags.Node]), cancellationToken);
        CostWindow[] ordered = [.. rows.Where(w => w.Node is not null && w.GpuHours > 0).OrderBy(w => w.Node, StringComparer.Ordinal)];
        foreach (CostWindow w in ordered)
        {
            inputs.Add(label, w.WindowStart, w.Node, w.NodePowerSource, w.NodeEnergyJoules);
        }

        return ordered;
    }

    private async Task<IReadOnlyList<CostWindow>> ReadCostAsync(
        string label, ReportPeriod period, TimeSpan? step, IReadOnlyList<string> groupBy, InputDigest inputs, CancellationToken cancellationToken)
    {
        IReadOnlyList<CostWindow> rows = await StoredWindowReader.ReadCostAsync(_store, Selection(period, step, groupBy), cancellationToken);
        CostWindow[] ordered = [.. rows.OrderBy(w => w.WindowStart)
            .ThenBy(w => w.Model, StringComparer.Ordinal).ThenBy(w => w.Tenant, StringComparer.Ordinal).ThenBy(w => w.Pool, StringComparer.Ordinal)];
        foreach (CostWindow w in ordered)
        {
            inputs.Add(label, w.WindowStart, w.Model, w.Tenant, w.Pool, w.GpuHours, w.UtilizedGpuHours, w.GpuEnergyJoules, w.NodeEnergyJoules, w.FacilityEnergyJoules,
                w.CapexUsd, w.OpexUsd, w.RentalUsd, w.EnergyCostUsd, w.CostUsd, w.PromptTokens, w.CompletionTokens, w.RequestCount, w.PromptCostUsd, w.CompletionCostUsd,
                w.MaxTokens, w.RevenueUsd, w.LatencyP50Ms, w.LatencyP95Ms, w.OperationalCo2eGrams, w.EmbodiedCo2eGrams, w.Co2eGrams);
        }

        return ordered;
    }

    private async Task<IReadOnlyList<IdleWindow>> ReadIdleAsync(
        string label, ReportPeriod period, TimeSpan? step, IReadOnlyList<string> groupBy, InputDigest inputs, CancellationToken cancellationToken)
    {
        IReadOnlyList<IdleWindow> rows = await StoredWindowReader.ReadIdleAsync(_store, Selection(period, step, groupBy), cancellationToken);
        IdleWindow[] ordered = [.. rows.OrderBy(w => w.WindowStart).ThenBy(w => w.Pool, StringComparer.Ordinal)];
        foreach (IdleWindow w in ordered)
        {
            inputs.Add(label, w.WindowStart, w.Pool, w.GpuHours, w.IdleGpuHours, w.IdleCostUsd, w.IdleEnergyJoules, w.IdleCo2eGrams);
        }

        return ordered;
    }

    private WindowSelection Selection(ReportPeriod period, TimeSpan? step, IReadOnlyList<string> groupBy) => new()
    {
        From = period.From,
        To = period.To,
        Step = step,
        GroupBy = groupBy,
        SourceWindow = _windows.WindowLength,
    };

    private async Task<long> CountAsync(string measurement, ReportPeriod period, CancellationToken cancellationToken)
    {
        QueryResult result = await _store.QueryAsync(
            TimeSeriesQueryBuilder.From(measurement).Count(Fields.GpuHours, "points")
                .Between(period.From, period.To)
                .WhereTag(Tags.Window, CostWindow.WindowTag(_windows.WindowLength))
                .Build(),
            cancellationToken);
        return result.Series.SelectMany(s => s.Rows).Sum(r => r[0].IsNull ? 0 : (long)r[0].Number);
    }

    private async Task<IReadOnlyList<TimelinePoint>> ReadTimelineAsync(ReportPeriod period, TimeSpan step, InputDigest inputs, CancellationToken cancellationToken)
    {
        IReadOnlyList<CostWindow> costs = await ReadCostAsync("timeline.cost", period, step, [], inputs, cancellationToken);
        IReadOnlyList<IdleWindow> idle = await ReadIdleAsync("timeline.idle", period, step, [], inputs, cancellationToken);
        var points = new List<TimelinePoint>();
        foreach (DateTimeOffset start in costs.Select(c => c.WindowStart).Concat(idle.Select(i => i.WindowStart)).Distinct().Order())
        {
            KpiWindow? fleet = KpiCalculator.Compute(start, step, [.. costs.Where(c => c.WindowStart == start)], [.. idle.Where(i => i.WindowStart == start)])
                .FirstOrDefault(k => k.Scope == KpiScope.Fleet);
            if (fleet is null || (fleet.GpuHours <= 0 && (fleet.IdleGpuHours ?? 0) <= 0))
            {
                continue;
            }

            points.Add(new TimelinePoint(
                start,
                fleet.GpuHours,
                fleet.UtilizationPercent,
                fleet.IdleGpuHours ?? 0,
                fleet.IdleCostUsd ?? 0,
                fleet.CostUsd,
                fleet.FacilityEnergyJoules / EnergyCost.JoulesPerKilowattHour,
                fleet.Tokens,
                fleet.TokensPerKilowattHour));
        }

        return points;
    }

    private AnomalySection Anomalies(PeriodData current, PeriodData? previous)
    {
        ReportFigure Count(Func<AnomalyEvent, bool> which) => new(current.Anomalies.Count(which), previous?.Anomalies.Count(which));
        return new AnomalySection
        {
            Info = Count(e => e.Severity == AnomalySeverity.Info),
            Warning = Count(e => e.Severity == AnomalySeverity.Warning),
            Critical = Count(e => e.Severity == AnomalySeverity.Critical),
            Total = Count(_ => true),
            Events = [.. current.Anomalies.Take(_options.MaxListedAnomalies)
                .Select(e => new ReportAnomaly(e.Time, StoredEventReader.SeverityTag(e.Severity), e.Detector, e.EntityKind, e.Entity, e.Series, e.Value, e.ExpectedValue))],
            ListedLimit = _options.MaxListedAnomalies,
        };
    }

    private async Task<ForecastSection> ReadForecastAsync(ReportPeriod period, InputDigest inputs, CancellationToken cancellationToken)
    {
        var horizon = new ReportPeriod(period.To, period.To.AddHours(_forecast.HorizonHours));
        IReadOnlyList<StoredForecast> stored = await StoredEventReader.ReadLatestForecastsAsync(
            _store, horizon.From, horizon.To, series: DemandForecastService.TokensPerHour, cancellationToken: cancellationToken);
        IReadOnlyDictionary<string, ModelFleet> fleets = stored.Count == 0
            ? new Dictionary<string, ModelFleet>(StringComparer.Ordinal)
            : await DemandForecastService.ReadModelFleetsAsync(_store, _pricing, _windows.WindowLength, period.To, cancellationToken);
        var models = new List<ModelForecast>();
        foreach (StoredForecast forecast in stored.Where(f => f.Model is not null))
        {
            string model = forecast.Model!;
            ModelFleet? fleet = fleets.GetValueOrDefault(model);
            inputs.Add("forecast.fleet", model, fleet?.Gpus, fleet?.TokensPerSecondPerGpu, fleet?.CostUsdPerGpuHour);
            var hours = new List<ForecastHour>();
            foreach (ForecastPoint point in forecast.Points)
            {
                inputs.Add("forecast.point", point.Time, model, forecast.Method, forecast.IssuedAt, point.Value, point.LowerBound, point.UpperBound);
                if (fleet is null)
                {
                    hours.Add(new ForecastHour(point.Time, point.Value, point.LowerBound, point.UpperBound, null, null, null, null));
                    continue;
                }

                CapacityHour planned = CapacityPlanner.Plan(
                    new DemandForecast(model, point.Time, [point.Value], [point.LowerBound ?? point.Value], [point.UpperBound ?? point.Value]),
                    fleet,
                    _forecast.TargetUtilization)[0];
                hours.Add(new ForecastHour(
                    point.Time,
                    point.Value,
                    point.LowerBound,
                    point.UpperBound,
                    fleet.Gpus * CapacityPlanner.TokensPerGpuHour(fleet, _forecast.TargetUtilization),
                    planned.GpusNeeded,
                    planned.ProjectedIdleGpuHours,
                    planned.ProjectedIdleCostUsd));
            }

            models.Add(new ModelForecast
            {
                Model = model,
                Method = forecast.Method,
                IssuedAt = forecast.IssuedAt,
                GpusInFleet = fleet?.Gpus,
                TokensPerSecondPerGpu = fleet?.TokensPerSecondPerGpu,
                Hours = hours,
                ProjectedIdleGpuHours = hours.Sum(h => h.ProjectedIdleGpuHours ?? 0),
                ProjectedIdleCostUsd = hours.Sum(h => h.ProjectedIdleCostUsd ?? 0),
            });
        }

        return new ForecastSection
        {
            Available = models.Count > 0,
            Horizon = horizon,
            TargetUtilization = _forecast.TargetUtilization,
            Models = models,
            ProjectedIdleGpuHours = models.Sum(m => m.ProjectedIdleGpuHours),
            ProjectedIdleCostUsd = models.Sum(m => m.ProjectedIdleCostUsd),
        };
    }

    private static FleetFigures Fleet(PeriodData current, PeriodData? previous)
    {
        ReportFigure F(Func<PeriodData, double?> figure) => new(figure(current), previous is null ? null : figure(previous));
        ReportFigure K(Func<KpiWindow, double?> figure) => F(p => p.Fleet is { } k ? figure(k) : null);
        ReportFigure T(Func<CostWindow, double?> figure) => F(p => p.Total is { } t ? figure(t) : null);
        return new FleetFigures
        {
            GpuHours = K(k => k.GpuHours),
            UtilizedGpuHours = K(k => k.UtilizedGpuHours),
            UtilizationPercent = K(k => k.UtilizationPercent),
            PromptTokens = K(k => k.PromptTokens),
            CompletionTokens = K(k => k.CompletionTokens),
            Tokens = K(k => k.Tokens),
            RequestCount = K(k => k.RequestCount),
            MaxTokens = K(k => k.MaxTokens > 0 ? k.MaxTokens : null),
            CapacityUtilizationPercent = K(k => k.CapacityUtilizationRatio * 100),
            IdleGpuHours = K(k => k.IdleGpuHours),
            IdleCostUsd = K(k => k.IdleCostUsd),
            IdleSharePercent = K(k => k.IdleShare * 100),
            IdleCostSharePercent = K(k => k.IdleCostUsd is double idle && k.CostUsd > 0 ? idle / k.CostUsd * 100 : null),
            CostUsd = K(k => k.CostUsd),
            CapexUsd = K(k => k.CapexUsd),
            OpexUsd = K(k => k.OpexUsd),
            EnergyCostUsd = K(k => k.EnergyCostUsd),
            RentalUsd = K(k => k.RentalUsd),
            EnergyCostSharePercent = K(k => k.CostUsd > 0 ? k.EnergyCostUsd / k.CostUsd * 100 : null),
            GpuEnergyKilowattHours = K(k => KilowattHours(k.GpuEnergyJoules)),
            NodeEnergyKilowattHours = K(k => KilowattHours(k.NodeEnergyJoules)),
            FacilityEnergyKilowattHours = K(k => KilowattHours(k.FacilityEnergyJoules)),
            Pue = K(k => k.Pue),
            TokensPerKilowattHour = K(k => k.TokensPerKilowattHour),
            JoulesPerToken = K(k => k.FacilityEnergyJoules > 0 ? k.JoulesPerToken : null),
            TokensPerSecondPerWatt = K(k => k.Tokens > 0 && k.FacilityEnergyJoules > 0 ? k.Tokens / k.FacilityEnergyJoules : null),
            CostPerMillionTokensUsd = K(k => k.CostPerMillionTokensUsd),
            CostPerMillionPromptTokensUsd = T(t => t.CostPerMillionPromptTokensUsd),
            CostPerMillionCompletionTokensUsd = T(t => t.CostPerMillionCompletionTokensUsd),
            RevenueUsd = K(k => k.RevenueUsd),
            RoiPercent = K(k => k.Roi * 100),
            MarginPerMillionTokensUsd = K(k => Margin(k.RevenueUsd, k.CostUsd, k.Tokens)),
            LatencyP50Ms = T(t => t.LatencyP50Ms),
            LatencyP95Ms = T(t => t.LatencyP95Ms),
            ThroughputTokensPerSecond = F(p => p.Fleet is { } k ? k.Tokens / (p.Period.To - p.Period.From).TotalSeconds : null),
            Co2eKilograms = K(k => Kilograms(k.Co2eGrams)),
            OperationalCo2eKilograms = K(k => Kilograms(k.OperationalCo2eGrams)),
            EmbodiedCo2eKilograms = K(k => Kilograms(k.EmbodiedCo2eGrams)),
            IdleCo2eKilograms = K(k => Kilograms(k.IdleCo2eGrams)),
            Co2eGramsPerMillionTokens = K(k => k.Co2eGramsPerMillionTokens),
        };
    }

    private static IReadOnlyList<PoolFigures> Pools(PeriodData current, PeriodData? previous)
    {
        var pools = new List<PoolFigures>();
        foreach (string pool in current.Pools.Concat(previous?.Pools ?? []).Select(k => k.Key).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            KpiWindow? now = current.Pools.FirstOrDefault(k => k.Key == pool);
            KpiWindow? before = previous?.Pools.FirstOrDefault(k => k.Key == pool);
            ReportFigure F(Func<KpiWindow, double?> figure) => new(now is null ? null : figure(now), before is null ? null : figure(before));
            pools.Add(new PoolFigures
            {
                Pool = pool,
                GpuHours = F(k => k.GpuHours),
                UtilizationPercent = F(k => k.GpuHours > 0 ? k.UtilizationPercent : null),
                IdleGpuHours = F(k => k.IdleGpuHours),
                IdleCostUsd = F(k => k.IdleCostUsd),
                IdleSharePercent = F(k => k.IdleShare * 100),
                CostUsd = F(k => k.CostUsd),
                Co2eKilograms = F(k => Kilograms(k.Co2eGrams)),
                IdleCo2eKilograms = F(k => Kilograms(k.IdleCo2eGrams)),
            });
        }

        return pools;
    }

    private static IReadOnlyList<ModelFigures> Models(PeriodData current, PeriodData? previous)
    {
        var models = new List<ModelFigures>();
        foreach (string model in current.ModelKpis.Concat(previous?.ModelKpis ?? []).Select(k => k.Key).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            KpiWindow? now = current.ModelKpis.FirstOrDefault(k => k.Key == model);
            KpiWindow? before = previous?.ModelKpis.FirstOrDefault(k => k.Key == model);
            CostWindow? nowRow = current.ModelRows.FirstOrDefault(r => r.Model == model);
            CostWindow? beforeRow = previous?.ModelRows.FirstOrDefault(r => r.Model == model);
            ReportFigure K(Func<KpiWindow, double?> figure) => new(now is null ? null : figure(now), before is null ? null : figure(before));
            ReportFigure R(Func<CostWindow, double?> figure) => new(nowRow is null ? null : figure(nowRow), beforeRow is null ? null : figure(beforeRow));
            models.Add(new ModelFigures
            {
                Model = model,
                GpuHours = K(k => k.GpuHours),
                PromptTokens = K(k => k.PromptTokens),
                CompletionTokens = K(k => k.CompletionTokens),
                Tokens = K(k => k.Tokens),
                CostUsd = K(k => k.CostUsd),
                CostPerMillionTokensUsd = K(k => k.CostPerMillionTokensUsd),
                CostPerMillionPromptTokensUsd = R(r => r.CostPerMillionPromptTokensUsd),
                CostPerMillionCompletionTokensUsd = R(r => r.CostPerMillionCompletionTokensUsd),
                TokensPerKilowattHour = K(k => k.TokensPerKilowattHour),
                JoulesPerToken = K(k => k.FacilityEnergyJoules > 0 ? k.JoulesPerToken : null),
                CapacityUtilizationPercent = K(k => k.CapacityUtilizationRatio * 100),
                RevenueUsd = K(k => k.RevenueUsd),
                MarginPerMillionTokensUsd = K(k => Margin(k.RevenueUsd, k.CostUsd, k.Tokens)),
                LatencyP50Ms = R(r => r.LatencyP50Ms),
                LatencyP95Ms = R(r => r.LatencyP95Ms),
                Co2eKilograms = K(k => Kilograms(k.Co2eGrams)),
                Co2eGramsPerMillionTokens = K(k => k.Co2eGramsPerMillionTokens),
            });
        }

        return models;
    }

    /// <summary>(revenue − cost) / tokens × 1e6; null without revenue or tokens.</summary>
    private static double? Margin(double? revenueUsd, double costUsd, long tokens) =>
        revenueUsd is double revenue && tokens > 0 ? (revenue - costUsd) / tokens * 1e6 : null;

    /// <summary>Grams as kilograms; null stays null (carbon not measured).</summary>
    private static double? Kilograms(double? grams) => grams / 1000;

    /// <summary>Joules as kWh; null for none (not measured, never a silent zero).</summary>
    private static double? KilowattHours(double joules) => joules > 0 ? joules / EnergyCost.JoulesPerKilowattHour : null;

    private static ReportTariff Tariff(EnergyPricing energy) => new(
        energy.Tariff.BaseUsdPerKilowattHour,
        energy.Tariff.TimeZone.Id,
        [.. energy.Tariff.Periods.Select(p => new ReportTariffPeriod(p.Name, p.UsdPerKilowattHour, p.StartHour, p.EndHour, [.. p.Days.Order().Select(d => d.ToString())]))],
        energy.Pue);

    private static IReadOnlyList<PricingInput> PricingInputs(PricingFile pricing)
    {
        var inputs = new List<PricingInput>
        {
            new("energy.pue", pricing.Energy.Pue, "ratio"),
            new("energy.tariff.usdPerKilowattHour", pricing.Energy.Tariff.BaseUsdPerKilowattHour, "USD/kWh"),
        };
        inputs.AddRange(pricing.Energy.Tariff.Periods.Select(p => new PricingInput($"energy.tariff.periods.{p.Name}", p.UsdPerKilowattHour, "USD/kWh")));
        if (pricing.Energy.NodePowerWatts is double node)
        {
            inputs.Add(new PricingInput("energy.nodePowerWatts", node, "W"));
        }

        foreach (PriceEntry entry in pricing.Entries)
        {
            if (entry.Owned is not null)
            {
                inputs.Add(new PricingInput(entry.Key + " capex", entry.CapexUsdPerGpuHour, "USD/GPU-h"));
                inputs.Add(new PricingInput(entry.Key + " opex", entry.OpexUsdPerGpuHour, "USD/GPU-h"));
            }
            else
            {
                inputs.Add(new PricingInput(entry.Key + " rental", entry.RentalUsdPerGpuHour, entry.EnergyBilledSeparately ? "USD/GPU-h" : "USD/GPU-h, energy included"));
            }
        }

        if (pricing.Energy.Carbon is { } carbon)
        {
            if (carbon.Schedule is { } schedule)
            {
                inputs.Add(new PricingInput("carbon.gco2ePerKilowattHour", schedule.BaseUsdPerKilowattHour, "gCO2e/kWh"));
                inputs.AddRange(schedule.Periods.Select(p => new PricingInput($"carbon.periods.{p.Name}", p.UsdPerKilowattHour, "gCO2e/kWh")));
            }

            if (carbon.HourlyFile is not null)
            {
                inputs.Add(new PricingInput("carbon.hourlyFile hours", carbon.Hourly.Count, "hours"));
            }
        }

        foreach (PriceEntry entry in pricing.Entries.Where(e => e.Embodied is not null))
        {
            inputs.Add(new PricingInput(entry.Key + " embodied carbon", entry.EmbodiedCo2eGramsPerGpuHour, "gCO2e/GPU-h"));
        }

        inputs.AddRange(pricing.RevenueUsdPerMillionTokensByModel.OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new PricingInput($"revenue.{r.Key}", r.Value, "USD/1M tokens")));
        inputs.Add(new PricingInput("tokenCostSplit.completionTokenWeight", pricing.CompletionTokenWeight, "prompt tokens per completion token"));
        inputs.Add(new PricingInput("idle.utilizationPercent", pricing.Idle.UtilizationPercent, "%"));
        inputs.Add(new PricingInput("idle.minimumDuration", pricing.Idle.MinimumDuration.TotalMinutes, "min"));
        return inputs;
    }

    private static IReadOnlyList<string> NotMeasured(PeriodData current, PeriodData? previous, ForecastSection forecast)
    {
        var notes = new List<string>();
        IEnumerable<PeriodData> periods = previous is null ? [current] : [current, previous];
        string Which(Func<PeriodData, bool> missing) =>
            periods.All(missing) ? (previous is null ? "the period" : "either period") : missing(current) ? "the period" : "the previous period";
        if (current.Fleet is null)
        {
            notes.Add("No cost windows are stored for the period: every figure of the period is not measured (run a backfill over it).");
        }

        if (previous is not null && previous.Fleet is null)
        {
            notes.Add("No cost windows are stored for the previous period: its figures and the changes are not measured.");
        }

        bool Has(PeriodData p) => p.Fleet is not null;
        if (periods.Any(p => Has(p) && p.Fleet!.GpuEnergyJoules <= 0))
        {
            notes.Add($"GPU power is not in the data for {Which(p => Has(p) && p.Fleet!.GpuEnergyJoules <= 0)}: GPU energy, facility energy, PUE and the energy ratios are not measured.");
        }

        if (periods.Any(p => Has(p) && p.Fleet!.NodeEnergyJoules <= 0))
        {
            notes.Add($"Node (non-GPU) power is not in the data and the pricing file sets no energy.nodePowerWatts for {Which(p => Has(p) && p.Fleet!.NodeEnergyJoules <= 0)}: node energy is not measured and not in the facility energy.");
        }

        foreach ((PeriodData p, string which) in previous is null ? [(current, "the period")] : new[] { (current, "the period"), (previous, "the previous period") })
        {
            if (Has(p) && NodePowerNote(p, which) is (string note, true))
            {
                notes.Add(note);
            }
        }

        if (periods.Any(p => Has(p) && p.Fleet!.RevenueUsd is null))
        {
            notes.Add("No revenue is configured for the models served (pricing file 'revenue'): revenue, ROI and margin per 1M tokens are not measured.");
        }

        if (periods.Any(p => Has(p) && p.Fleet!.Tokens <= 0))
        {
            notes.Add($"No tokens were served in {Which(p => Has(p) && p.Fleet!.Tokens <= 0)}: cost per 1M tokens, tokens per kWh, joules per token and performance per watt are not measured.");
        }

        if (periods.Any(p => Has(p) && p.Fleet!.MaxTokens <= 0))
        {
            notes.Add("No peak sustained tokens/s per GPU is known for the models served (configured or observed): maximum capacity and usable vs maximum capacity are not measured.");
        }

        if (periods.Any(p => Has(p) && p.Total?.LatencyP50Ms is null))
        {
            notes.Add("No request latency is in the data: latency p50 and p95 are not measured.");
        }

        if (periods.Any(p => Has(p) && p.Fleet!.RentalUsd is null))
        {
            notes.Add($"Cost windows of {Which(p => Has(p) && p.Fleet!.RentalUsd is null)} were computed before rental was split from opex (no rental_usd stored): their rented GPUs' hourly price is inside opex, so rental is not measured separately and opex includes it. Recompute those windows (observacost backfill) to split it.");
        }

        if (periods.Any(p => Has(p) && p.Fleet!.Co2eGrams is null))
        {
            notes.Add($"Carbon is not in the cost windows of {Which(p => Has(p) && p.Fleet!.Co2eGrams is null)} (the pricing file has no carbon section, its hourly intensity file lacks hours of the period with no fixed fallback, or windows were computed before carbon): carbon and carbon per 1M tokens are not measured. Recompute those windows (observacost backfill) after configuring carbon.");
        }

        if (!forecast.Available)
        {
            notes.Add("No demand forecast is stored for the hours after the period: the forecast against capacity and the projected idle dollars are not measured.");
        }
        else if (forecast.Models.Any(m => m.GpusInFleet is null))
        {
            notes.Add($"Models without GPUs or a known peak tokens/s per GPU at the period's end have no capacity to plan with: {string.Join(", ", forecast.Models.Where(m => m.GpusInFleet is null).Select(m => m.Model))}.");
        }

        return notes;
    }

    private static IReadOnlyList<string> Notes(PeriodData current, PeriodData? previous, PricingFile pricing)
    {
        List<string> notes =
        [
            "Every figure is summed from the stored cost and idle windows in the period; ratios are re-derived from those sums, never averaged.",
            "The previous period has the same length as the period and ends where it starts; a change is period − previous (percentage points for a percentage).",
            "Idle dollars are a part of the spend (the idle GPU-hours' hardware and energy), not an addition to it.",
            CarbonNote(pricing.Energy.Carbon),
        ];
        foreach ((PeriodData p, string which) in previous is null ? [(current, "the period")] : new[] { (current, "the period"), (previous, "the previous period") })
        {
            if (p.Fleet is not null && NodePowerNote(p, which) is (string note, false))
            {
                notes.Add(note);
            }
        }

        return notes;
    }

    /// <summary>
    /// Which nodes' non-GPU power was measured, taken from the pricing file's fixed watts, or absent in a period, and
    /// whether any was not measured (the note then goes with what was not measured); null when no node row carries a
    /// source (windows computed before it was recorded).
    /// </summary>
    private static (string Note, bool NotMeasured)? NodePowerNote(PeriodData period, string which)
    {
        string Names(string source)
        {
            string[] nodes = [.. period.Nodes.Where(n => n.NodePowerSource == source).Select(n => n.Node!)];
            return nodes.Length <= 10 ? string.Join(", ", nodes) : string.Join(", ", nodes.Take(10)) + string.Create(CultureInfo.InvariantCulture, $" and {nodes.Length - 10} more");
        }

        var parts = new List<string>();
        bool notMeasured = false;
        foreach ((string source, string text) in new[]
        {
            (NodePowerSources.Measured, "measured (node_sample, less the GPUs' power) for "),
            (NodePowerSources.Mixed, "measured for part of the period and not for the rest for "),
            (NodePowerSources.Fixed, "not measured, the pricing file's fixed energy.nodePowerWatts used instead, for "),
            (NodePowerSources.None, "neither measured nor configured (no node energy) for "),
        })
        {
            if (period.Nodes.Any(n => n.NodePowerSource == source))
            {
                parts.Add(text + Names(source));
                notMeasured |= source != NodePowerSources.Measured;
            }
        }

        return parts.Count == 0 ? null : ($"Node (non-GPU) power in {which} was {string.Join("; ", parts)}.", notMeasured);
    }

    /// <summary>The carbon method note: the intensity's source and form, and how operational and embodied carbon are made.</summary>
    public static string CarbonNote(CarbonIntensity? carbon) => carbon is null
        ? "Carbon intensity: not configured (no carbon section in the pricing file), so carbon is not measured."
        : "Carbon intensity: " + carbon.Describe() + ". Operational carbon = facility energy × the intensity in force at each moment (hourly values in UTC, schedules in their time zone); embodied carbon = GPU-hours × each GPU's embodied kgCO2e / (amortisation years × 8,760 h). The carbon figures are as of the computation of each stored window: recompute (observacost backfill) after changing the intensity.";

    /// <summary>The SHA-256 of the canonical text of every stored row read: one line per row, fields separated by '|', numbers round-trip.</summary>
    private sealed class InputDigest
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly StringBuilder _line = new();

        public void Add(string label, params object?[] values)
        {
            _line.Clear().Append(label);
            foreach (object? value in values)
            {
                _line.Append('|').Append(value switch
                {
                    null => "null",
                    double d => d.ToString("R", CultureInfo.InvariantCulture),
                    DateTimeOffset t => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString(),
                });
            }

            _line.Append('\n');
            _hash.AppendData(Encoding.UTF8.GetBytes(_line.ToString()));
        }

        public string Finish()
        {
            string hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
            _hash.Dispose();
            return hex;
        }
    }
}
