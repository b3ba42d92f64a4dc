using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>
/// One inference request as logged by a gateway or inference server. Stored as an <c>inference_request</c> point only
/// when raw storage is on. No request id is a tag: the point's identity is its time, which
/// <see cref="RawRequestTimes"/> makes distinct for requests logged in the same instant.
/// </summary>
public sealed record InferenceRequest : ILineProtocolPoint
{
    /// <summary>When the request arrived, in UTC.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    public required string Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    /// <summary>The record's <c>dataset</c> (<see cref="Datasets.Simulated"/>, or null for a real fleet).</summary>
    public string? Dataset { get; init; }

    /// <summary>The outcome as logged (<c>ok</c>, <c>success</c>, <c>200</c>, <c>error</c>, ...); null when not logged.</summary>
    public string? Status { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    /// <summary>End-to-end latency; null when not logged.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>Time to first token; null when not logged.</summary>
    public double? TimeToFirstTokenMs { get; init; }

    /// <summary>Writes the request at its own timestamp.</summary>
    public bool WriteTo(LineProtocolWriter writer) => WriteTo(writer, UnixTime.ToNanoseconds(Timestamp));

    /// <summary>Writes the request at <paramref name="timeNanoseconds"/> (its timestamp made distinct by <see cref="RawRequestTimes"/>).</summary>
    public bool WriteTo(LineProtocolWriter writer, long timeNanoseconds)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.InferenceRequest)
            .Tag(Tags.Dataset, Dataset)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Status, RequestStatus.Normalize(Status))
            .Tag(Tags.Tenant, Tenant)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.LatencyMs, LatencyMs)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.TimeToFirstTokenMs, TimeToFirstTokenMs)
            .End(timeNanoseconds);
    }
}

/// <summary>
/// Gives each raw request its own nanosecond, so that distinct requests logged in the same instant (same timestamp,
/// even the same numbers) are distinct points. Timestamps have 100 ns resolution (ticks); the requests of one tick take
/// its nanoseconds 0, 1, 2... in the order they are read from the request journal. Past 100 in one tick, they take the
/// next free nanoseconds after it within the same window (then before it), so no request moves to another window and a
/// burst of N requests moves by at most N ns.
/// </summary>
/// <remarks>
/// The assignment depends only on the records of open windows, in journal order, and a restart replays exactly those
/// records in that order (the journal is only passed once their windows are closed): a replay after a crash gives each
/// request the same time again, so its point is overwritten, not duplicated. Memory: one entry per tick holding a raw
/// request of an open window (about 40 bytes each), forgotten when the window closes.
/// </remarks>
public sealed class RawRequestTimes
{
    private const int NanosecondsPerTick = 100;
    private readonly Dictionary<long, int> _taken = [];

    /// <summary>Ticks holding at least one request, in windows not yet forgotten.</summary>
    public int TrackedTicks => _taken.Count;

    /// <summary>The time, in Unix nanoseconds, of the next request at <paramref name="utcTicks"/> in the window [start, end).</summary>
    public long Assign(long utcTicks, long windowStartTicks, long windowEndTicks)
    {
        long tick = utcTicks;
        int step = 1;
        while (_taken.TryGetValue(tick, out int used) && used >= NanosecondsPerTick)
        {
            tick += step;
            if (tick >= windowEndTicks)
            {
                // The window's last ticks are full: look before the timestamp instead.
                step = -1;
                tick = utcTicks - 1;
            }

            if (tick < windowStartTicks)
            {
                throw new InvalidOperationException("Every nanosecond of the window holds a raw request.");
            }
        }

        _taken.TryGetValue(tick, out int taken);
        _taken[tick] = taken + 1;
        return ((tick - DateTimeOffset.UnixEpoch.UtcTicks) * NanosecondsPerTick) + taken;
    }

    /// <summary>Forgets the ticks before <paramref name="utcTicks"/> (windows closed: no request will come for them).</summary>
    public void Forget(long utcTicks)
    {
        foreach (long tick in _taken.Keys)
        {
            if (tick < utcTicks)
            {
                _taken.Remove(tick);
            }
        }
    }
}

/// <summary>How request statuses are classified and grouped.</summary>
public static class RequestStatus
{
    /// <summary>The class every success form is grouped under.</summary>
    public const string Ok = "ok";

    /// <summary>
    /// True for a success: no status, <c>ok</c>, <c>success</c> (any case), <c>2xx</c>, or an HTTP code 200–299.
    /// Anything else is an error.
    /// </summary>
    public static bool IsSuccess(string? status)
    {
        if (string.IsNullOrEmpty(status))
        {
            return true;
        }

        ReadOnlySpan<char> s = status.AsSpan().Trim();
        return s.Equals("ok", StringComparison.OrdinalIgnoreCase)
            || s.Equals("success", StringComparison.OrdinalIgnoreCase)
            || s.Equals("2xx", StringComparison.OrdinalIgnoreCase)
            || (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int code) && code is >= 200 and <= 299);
    }

    /// <summary>
    /// The status tag of an aggregated window, to keep the tag's values few: null stays null; success forms become
    /// <c>ok</c>; other three-digit HTTP codes become their class (<c>404</c> → <c>4xx</c>); other text is lower-cased.
    /// </summary>
    public static string? Normalize(string? status)
    {
        if (status is null)
        {
            return null;
        }

        if (IsSuccess(status))
        {
            return Ok;
        }

        string trimmed = status.Trim();
        if (trimmed.Length == 3 && int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out int code) && code is >= 100 and <= 599)
        {
            return trimmed[0] switch
            {
                '1' => "1xx",
                '3' => "3xx",
                '4' => "4xx",
                _ => "5xx",
            };
        }

        return trimmed.ToLowerInvariant();
    }
}
