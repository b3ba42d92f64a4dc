using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Ingest;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Collector.Tests.Ingest;

public sealed class PointGateTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private static (PointGate Gate, FakeTimeProvider Clock) Create(int maxSeries = 100_000, int maxMeasurements = 10_000, int maxFields = 1_024)
    {
        var clock = new FakeTimeProvider(Start);
        var gate = new PointGate(Options.Create(new IngestLimitsOptions
        {
            MaxSeriesPerMeasurement = maxSeries,
            MaxMeasurements = maxMeasurements,
            MaxFieldsPerMeasurement = maxFields,
            SeriesWindow = TimeSpan.FromHours(1),
        }), clock);
        return (gate, clock);
    }

    private static string? Check(PointGate gate, FakeTimeProvider clock, string measurement, string id) =>
        gate.Check(measurement, [new("id", id)], UnixTime.ToNanoseconds(clock.GetUtcNow()));

    /// <summary>Checks the one line of <paramref name="line"/> through the scan path (with its fields).</summary>
    private static string? CheckLine(PointGate gate, string line)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(line);
        string? reason = "not scanned";
        LineProtocolParser.Scan(bytes, WritePrecision.Nanoseconds, UnixTime.ToNanoseconds(Start), s => { reason = gate.Check(s, bytes); return false; }, _ => { }, []);
        return reason;
    }

    [Fact]
    public void SeriesLimit_ExpiredSeriesAreSweptAtMostOncePerInterval_NotPerRefusedPoint()
    {
        // Window 1 h, so the sweep interval is 6 min. Limit 2 series.
        (PointGate gate, FakeTimeProvider clock) = Create(maxSeries: 2);
        Assert.Null(Check(gate, clock, "m", "a"));                 // t = 0
        clock.Advance(TimeSpan.FromMinutes(55));
        Assert.Null(Check(gate, clock, "m", "b"));                 // t = 55 min: full
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.NotNull(Check(gate, clock, "m", "x"));              // t = 58: sweeps; a is 58 min old, kept: refused
        clock.Advance(TimeSpan.FromMinutes(3));
        // t = 61: a is 61 min old, past the window, but the last sweep was 3 min ago: no sweep, refused.
        Assert.Contains("already has 2 series", Check(gate, clock, "m", "y"), StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Null(Check(gate, clock, "m", "z"));                 // t = 64: 6 min since the sweep: a is swept, z admitted
        Assert.Null(Check(gate, clock, "m", "b"));                 // known series always pass
        Assert.NotNull(Check(gate, clock, "m", "w"));
    }

    [Fact]
    public void MeasurementLimit_RefusesNewNames_ForgetsIdleOnesAfterTheWindow()
    {
        (PointGate gate, FakeTimeProvider clock) = Create(maxMeasurements: 2);
        Assert.Null(Check(gate, clock, "a", "1"));
        Assert.Null(Check(gate, clock, "b", "1"));
        Assert.Equal("measurement 'c' would be one more than the limit of 2 measurements (Collector:Limits:MaxMeasurements)", Check(gate, clock, "c", "1"));
        Assert.Null(Check(gate, clock, "a", "2"));

        // 50 min later a is written again; at 70 min b (last seen at 0) is idle past the window and is forgotten.
        clock.Advance(TimeSpan.FromMinutes(50));
        Assert.Null(Check(gate, clock, "a", "1"));
        clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Null(Check(gate, clock, "c", "1"));
        Assert.NotNull(Check(gate, clock, "d", "1"));
    }

    [Fact]
    public void FieldTypes_AConflictIsRefusedInInfluxDbsWords_TheFirstTypeStays()
    {
        (PointGate gate, _) = Create();
        Assert.Null(CheckLine(gate, "m,k=a v=1i,s=\"x\""));
        Assert.Equal("field type conflict: input field \"v\" on measurement \"m\" is type float, already exists as type integer", CheckLine(gate, "m,k=b v=1.5"));
        Assert.Equal("field type conflict: input field \"s\" on measurement \"m\" is type boolean, already exists as type string", CheckLine(gate, "m,k=a v=2i,s=t"));
        Assert.Null(CheckLine(gate, "m,k=c v=3i,w=0.5"));
        // Another measurement has its own field types.
        Assert.Null(CheckLine(gate, "n v=1.5"));
    }

    [Fact]
    public void FieldLimit_APointAddingOneFieldKeyTooManyIsRefused()
    {
        (PointGate gate, _) = Create(maxFields: 3);
        Assert.Null(CheckLine(gate, "m a=1,b=2"));
        // c and d are new: 2 + 2 = 4 > 3.
        Assert.Equal("measurement 'm' already has 2 field keys; the field 'd' would be one more than the limit of 3 (Collector:Limits:MaxFieldsPerMeasurement)", CheckLine(gate, "m c=1,d=2"));
        Assert.Null(CheckLine(gate, "m c=1,a=5"));
        Assert.NotNull(CheckLine(gate, "m e=1"));
    }
}
