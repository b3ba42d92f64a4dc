using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Windows;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Simulator;
using ObservaCost.Simulator.Configuration;
using ObservaCost.Simulator.Driving;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Dashboards.Tests.Queries;

/// <summary>
/// One real influxd holding the demo fleet's last 25 hours, written once for all the query tests: GPU samples through
/// the collector's <c>/write</c> and requests through <c>/api/v1/requests/import</c> (the simulator's driver), then
/// the analytics jobs on the same store — backfill (rollup, cost, idle, KPI windows), the anomaly pass over every
/// window, and one demand forecast issued at the end of the history. 25 hours because the forecast refuses a model
/// with less than 24 hours of history (<c>Analytics:Forecast:MinimumHistoryHours</c>, at its lowest here); they hold
/// the Xid fault (5 h before the end), the demand spike (9 h), the zombie (20 h) and the stuck GPU (from 30 h on). The
/// history's GPU samples carry temperature (<c>FleetOptions.HistoryTemperature</c>), which the demo leaves out.
/// </summary>
public sealed class DemoFleetOnInfluxDb : IAsyncLifetime
{
    public const string Database = "observacost";

    public static readonly TimeSpan History = TimeSpan.FromHours(25);

    private InfluxDbServer? _influx;
    private CollectorHost? _host;

    public InfluxDbServer Influx => _influx ?? throw new InvalidOperationException("Not started.");

    public CollectorHost Host => _host ?? throw new InvalidOperationException("Not started.");

    /// <summary>
    /// The demo fleet, its history with temperature (the platform dashboard's temperature panel reads it), anchored on
    /// the latest Wednesday 15:00 UTC: the same weekday and hour on every run, so the faults fall on the same part of
    /// the daily and weekly demand curve and the detectors see the same shapes; at most 7 days old, well inside the
    /// collector's 30-day <c>MaxAge</c>.
    /// </summary>
    public FleetSimulator Simulator { get; } = new(WithTemperature(DemoFleet.Default), new FakeTimeProvider(LatestWednesdayAfternoon(TimeProvider.System.GetUtcNow())));

    /// <summary>The end of the history, where the dashboards' "now" is put.</summary>
    public DateTimeOffset Now => Simulator.Anchor;

    public DateTimeOffset From => Now - History;

    public HistorySummary? Written { get; private set; }

    /// <summary>How long the set-up took: write, backfill, anomalies, forecast.</summary>
    public string Timings { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        _influx = await InfluxDbServer.StartAsync();
        await _influx.QueryAsync("CREATE DATABASE " + Database);
        _host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", _influx.Url.ToString(),
            "--Storage:InfluxDb:Database", Database,
            "--Analytics:Forecast:MinimumHistoryHours", "24");

        var driver = new SimulatorDriver(Simulator, _host.Client, TimeProvider.System, CollectorHost.AdminToken);
        HistorySummary written = await driver.WriteHistoryAsync(_host.Client.BaseAddress!, From, Now);
        Written = written;
        if (written.RequestsRefused != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"the collector refused {written.RequestsRefused} simulated requests"));
        }

        QueryResult samples = await _host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(From, Now).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == written.GpuSamplesWritten,
            TimeSpan.FromSeconds(180));
        QueryResult requests = await _host.WaitForAsync(
            TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Sum(Fields.RequestCount).Between(From, Now).Build(),
            r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Number == written.RequestsImported,
            TimeSpan.FromSeconds(180));
        if (samples.Series.Count != 1 || requests.Series.Count != 1)
        {
            throw new InvalidOperationException("the simulated history did not reach influxd in time");
        }

        TimeSpan write = clock.Elapsed;
        IServiceProvider services = _host.Services;
        await services.GetRequiredService<AnalyticsBackfill>().RunAsync(From, Now, new BackfillProgress(TextWriter.Null, redraw: false, TimeProvider.System));
        TimeSpan backfill = clock.Elapsed;
        AnalyticsWindowOptions windows = services.GetRequiredService<AnalyticsWindowOptions>();
        AnomalyService anomalies = services.GetRequiredService<AnomalyService>();
        var firstWindow = new DateTimeOffset(From.UtcTicks - (From.UtcTicks % windows.WindowLength.Ticks), TimeSpan.Zero);
        for (DateTimeOffset w = firstWindow; w < Now; w += windows.WindowLength)
        {
            await anomalies.DetectAndWriteAsync(w);
        }

        TimeSpan anomalyPass = clock.Elapsed;
        await services.GetRequiredService<DemandForecastService>().ForecastAndWriteAsync(Now);
        await WriteNodePowerAsync();
        Timings = string.Create(CultureInfo.InvariantCulture,
            $"{written.GpuSamplesWritten} GPU samples and {written.RequestsImported} requests written in {write.TotalSeconds:F1} s; backfill {(backfill - write).TotalSeconds:F1} s; anomalies {(anomalyPass - backfill).TotalSeconds:F1} s; forecast {(clock.Elapsed - anomalyPass).TotalSeconds:F1} s");
    }

    /// <summary>
    /// Whole-node power for the platform dashboard's node-power panel, written after every window is computed so the
    /// demo's figures stay the pricing file's fixed node watts: each node's GPUs' mean power per minute + 800 W, as a BMC
    /// (ipmi_exporter DCMI) would read the server.
    /// </summary>
    private async Task WriteNodePowerAsync()
    {
        QueryResult gpus = await Host.Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample).Mean(Fields.PowerWatts, "watts")
            .Between(From, Now).GroupByTime(TimeSpan.FromMinutes(1)).GroupBy(Tags.Node, Tags.GpuUuid).Build());
        var nodes = new SortedDictionary<(string Node, DateTimeOffset Time), double>();
        foreach (ResultSeries series in gpus.Series)
        {
            foreach (ResultRow row in series.Rows.Where(r => !r[0].IsNull))
            {
                (string, DateTimeOffset) key = (series.Tags[Tags.Node], row.Time);
                nodes[key] = nodes.GetValueOrDefault(key, 800) + row[0].Number;
            }
        }

        using var writer = new ObservaCost.Storage.LineProtocol.LineProtocolWriter();
        foreach (KeyValuePair<(string Node, DateTimeOffset Time), double> reading in nodes)
        {
            new NodeSample { Time = reading.Key.Time, Cluster = "simulated", Node = reading.Key.Node, Source = "ipmi_dcmi", Scope = NodePowerScopes.WholeNode, PowerWatts = reading.Value }.WriteTo(writer);
        }

        await Host.Store.WriteAsync(new ObservaCost.Storage.LineProtocolBatch(writer.WrittenMemory, writer.PointCount, ObservaCost.Storage.LineProtocol.WritePrecision.Nanoseconds));
    }

    /// <summary>The latest Wednesday 15:00 UTC at or before <paramref name="now"/>.</summary>
    public static DateTimeOffset LatestWednesdayAfternoon(DateTimeOffset now)
    {
        DateTimeOffset today = new(now.UtcDateTime.Date.AddHours(15), TimeSpan.Zero);
        int daysBack = ((int)today.DayOfWeek - (int)DayOfWeek.Wednesday + 7) % 7;
        DateTimeOffset candidate = today.AddDays(-daysBack);
        return candidate <= now ? candidate : candidate.AddDays(-7);
    }

    private static FleetOptions WithTemperature(FleetOptions options)
    {
        options.HistoryTemperature = true;
        return options;
    }

    /// <summary>Runs InfluxQL on the store's database as Grafana's data source would (GET-equivalent /query, epoch ns).</summary>
    public async Task<JsonDocument> QueryAsync(string influxQl) => JsonDocument.Parse(await Influx.QueryAsync(influxQl, Database));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }
}
