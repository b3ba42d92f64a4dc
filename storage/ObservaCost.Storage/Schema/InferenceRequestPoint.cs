using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// One inference request stored as it was logged (optional; windows are the default). No request id is a tag: a point
/// is identified by its tags and time, and the time gets a deterministic offset below 100 ns taken from the request's
/// numbers, so two different requests logged in the same 100 ns do not overwrite each other while a replay of the
/// same request does.
/// </summary>
public sealed record InferenceRequestPoint : ILineProtocolPoint
{
    public required DateTimeOffset Timestamp { get; init; }

    public required string Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public string? Status { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public double? LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ulong mix = (ulong)PromptTokens * 0x9E3779B97F4A7C15UL ^ (ulong)CompletionTokens * 0xC2B2AE3D27D4EB4FUL
            ^ (ulong)BitConverter.DoubleToInt64Bits(LatencyMs ?? 0) ^ ((ulong)BitConverter.DoubleToInt64Bits(TimeToFirstTokenMs ?? 0) >> 1);
        long offset = (long)(mix % 100);
        return writer.Begin(Measurements.InferenceRequest)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Status, Status)
            .Tag(Tags.Tenant, Tenant)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.LatencyMs, LatencyMs)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.TimeToFirstTokenMs, TimeToFirstTokenMs)
            .End(UnixTime.ToNanoseconds(Timestamp) + offset);
    }
}
