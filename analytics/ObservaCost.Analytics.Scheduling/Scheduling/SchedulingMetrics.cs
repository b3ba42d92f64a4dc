using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Xml;
using ObservaCost.Storage.Diagnostics;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>
/// The analytics jobs' telemetry: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both
/// <c>ObservaCost.Analytics.Scheduling</c>. Every <see cref="CursorJob"/> reports here: each computed call's duration,
/// periods computed, failures, the periods still to compute in the current fire (catch-up backlog), and its cursor,
/// whose lag behind now is observed on each collection. Attributes: <c>job</c> (the job's name) and <c>period</c> (its
/// period length, ISO 8601: <c>PT1M</c>, <c>PT5M</c>, <c>P1D</c>).
/// </summary>
public sealed class SchedulingMetrics : IDisposable
{
    public const string Name = "ObservaCost.Analytics.Scheduling";

    /// <summary>A span per computed call (<c>{job} compute</c>); the store's query and write spans are its children.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly TimeProvider _clock;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _periods;
    private readonly Counter<long> _failures;
    private readonly ConcurrentDictionary<(string Job, string Period), DateTimeOffset> _cursors = new();
    private readonly ConcurrentDictionary<(string Job, string Period), long> _backlog = new();

    public SchedulingMetrics(IMeterFactory meterFactory, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _meter = meterFactory.Create(Name);
        _duration = _meter.CreateHistogram(
            "observacost.analytics.job.duration", "s", "Time of one computed call of an analytics job (one or more periods)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreMetrics.DurationBucketsSeconds });
        _periods = _meter.CreateCounter<long>("observacost.analytics.job.periods", "{period}", "Periods an analytics job computed and moved its cursor past");
        _failures = _meter.CreateCounter<long>("observacost.analytics.job.failures", "{failure}", "Computed calls that failed (the cursor stays; the next fire resumes)");
        _meter.CreateObservableGauge("observacost.analytics.job.cursor_lag", ObserveLag, "s", "How far the job's cursor is behind now");
        _meter.CreateObservableGauge("observacost.analytics.job.backlog", ObserveBacklog, "{period}", "Periods the job's current fire still has to compute (catch-up backlog)");
    }

    /// <summary>The <c>period</c> attribute of a period length.</summary>
    public static string PeriodName(TimeSpan period) => XmlConvert.ToString(period);

    /// <summary>A fire planned <paramref name="periods"/> periods from <paramref name="cursor"/> (null: the job has no cursor yet).</summary>
    public void Planned(string job, TimeSpan period, DateTimeOffset? cursor, int periods)
    {
        (string, string) key = (job, PeriodName(period));
        _backlog[key] = periods;
        if (cursor is { } at)
        {
            _cursors[key] = at;
        }
    }

    /// <summary>A call computed <paramref name="periods"/> periods in <paramref name="duration"/>; the cursor is now <paramref name="cursor"/>, <paramref name="left"/> periods remain.</summary>
    public void Computed(string job, TimeSpan period, int periods, TimeSpan duration, DateTimeOffset cursor, int left)
    {
        string name = PeriodName(period);
        var tags = new TagList { { "job", job }, { "period", name } };
        _duration.Record(duration.TotalSeconds, tags);
        _periods.Add(periods, tags);
        _cursors[(job, name)] = cursor;
        _backlog[(job, name)] = left;
    }

    public void Failed(string job, TimeSpan period, TimeSpan duration)
    {
        var tags = new TagList { { "job", job }, { "period", PeriodName(period) }, { "error.type", "failed" } };
        _duration.Record(duration.TotalSeconds, tags);
        _failures.Add(1, new TagList { { "job", job }, { "period", PeriodName(period) } });
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<double>> ObserveLag()
    {
        DateTimeOffset now = _clock.GetUtcNow();
        foreach (KeyValuePair<(string Job, string Period), DateTimeOffset> cursor in _cursors)
        {
            yield return new Measurement<double>((now - cursor.Value).TotalSeconds, new KeyValuePair<string, object?>("job", cursor.Key.Job), new KeyValuePair<string, object?>("period", cursor.Key.Period));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBacklog()
    {
        foreach (KeyValuePair<(string Job, string Period), long> backlog in _backlog)
        {
            yield return new Measurement<long>(backlog.Value, new KeyValuePair<string, object?>("job", backlog.Key.Job), new KeyValuePair<string, object?>("period", backlog.Key.Period));
        }
    }
}
