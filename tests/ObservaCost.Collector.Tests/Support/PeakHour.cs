using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>
/// The hour the end-to-end costing tests push, and the collector on a fake clock after it. Wednesday 25 November 2026,
/// 07:00–08:00 UTC, is 08:00–09:00 in Berlin (CET, UTC+1): the first hour of the shipped example tariff's
/// weekday-peak period (pricing.example.json: 0.28 $/kWh). Read in UTC it would be the base rate (0.12 $/kWh), so a
/// cost computed in the wrong time zone differs.
/// </summary>
public static class PeakHour
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 7, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The collector with the analytics jobs on demand (<see cref="CollectorHost.StartWithAnalyticsOnDemandAsync(string[])"/>),
    /// on a fake clock stopped at 09:30 UTC: the hour and its lateness allowance are past, and nothing moves the
    /// clock, so the jobs compute the same windows on every run.
    /// </summary>
    public static Task<CollectorHost> StartCollectorAsync(params string[] extra) =>
        CollectorHost.StartWithAnalyticsOnDemandAsync(
            builder => builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(Start.AddHours(2.5))), extra);
}
