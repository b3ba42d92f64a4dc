using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>
/// One inference request as logged by a gateway or inference server. Stored as an <c>inference_request</c> point only
/// when raw storage is on: no request id is a tag, and the time gets a deterministic offset below 100 ns from the
/// request's numbers, so two different requests logged in the same instant do not overwrite each other while a replay
/// of the same request does.
/// </summary>
public sealed record InferenceRequest : ILineProtocolPoint
{
    /// <summary>When the request arrived, in UTC.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    public required string Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    /// <summary>The outcome as logged (<c>ok</c>, <c>success</c>, <c>200</c>, <c>error</c>, ...); null when not logged.</summary>
    public string? Status { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    /// <summary>End-to-end latency; null when not logged.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>Time to first token; null when not logged.</summary>
    public double? TimeToFirstTokenMs { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ulong mix = ((ulong)PromptTokens * 0x9E3779B97F4A7C15UL) ^ ((ulong)CompletionTokens * 0xC2B2AE3D27D4EB4FUL)
            ^ (ulong)BitConverter.DoubleToInt64Bits(LatencyMs ?? 0) ^ ((ulong)BitConverter.DoubleToInt64Bits(TimeToFirstTokenMs ?? 0) >> 1);
        return writer.Begin(Measurements.InferenceRequest)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Status, RequestStatus.Normalize(Status))
            .Tag(Tags.Tenant, Tenant)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.LatencyMs, LatencyMs)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.TimeToFirstTokenMs, TimeToFirstTokenMs)
            .End(UnixTime.ToNanoseconds(Timestamp) + (long)(mix % 100));
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
