using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// Request logs aggregated per (window start, model, tenant, pool, node, status). The point's time is the window start.
/// </summary>
public sealed record InferenceWindow : ILineProtocolPoint
{
    public required DateTimeOffset WindowStart { get; init; }

    public required TimeSpan WindowLength { get; init; }

    public required string Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    /// <summary>Outcome class, e.g. <c>ok</c> or <c>error</c>.</summary>
    public string? Status { get; init; }

    /// <summary>
    /// Where the window comes from: <c>request_log</c> (aggregated request logs) or <c>vllm</c> (server counters).
    /// Both may describe the same traffic, so readers pick one source per model instead of adding them.
    /// </summary>
    public string? Source { get; init; }

    /// <summary><see cref="Datasets.Simulated"/> for the demo's windows; null for a real fleet's.</summary>
    public string? Dataset { get; init; }

    public required long RequestCount { get; init; }

    public long ErrorCount { get; init; }

    public required long PromptTokens { get; init; }

    public required long CompletionTokens { get; init; }

    public double? LatencySumMs { get; init; }

    public double? LatencyMaxMs { get; init; }

    public double? LatencyP50Ms { get; init; }

    public double? LatencyP95Ms { get; init; }

    public double? LatencyP99Ms { get; init; }

    public double? TimeToFirstTokenP50Ms { get; init; }

    public double? TimeToFirstTokenP95Ms { get; init; }

    public double? TimeToFirstTokenP99Ms { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.InferenceWindow)
            .Tag(Tags.Dataset, Dataset)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Source, Source)
            .Tag(Tags.Status, Status)
            .Tag(Tags.Tenant, Tenant)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.ErrorCount, ErrorCount)
            .Field(Fields.LatencyMaxMs, LatencyMaxMs)
            .Field(Fields.LatencyP50Ms, LatencyP50Ms)
            .Field(Fields.LatencyP95Ms, LatencyP95Ms)
            .Field(Fields.LatencyP99Ms, LatencyP99Ms)
            .Field(Fields.LatencySumMs, LatencySumMs)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.RequestCount, RequestCount)
            .Field(Fields.TimeToFirstTokenP50Ms, TimeToFirstTokenP50Ms)
            .Field(Fields.TimeToFirstTokenP95Ms, TimeToFirstTokenP95Ms)
            .Field(Fields.TimeToFirstTokenP99Ms, TimeToFirstTokenP99Ms)
            .Field(Fields.WindowSeconds, (long)WindowLength.TotalSeconds)
            .End(UnixTime.ToNanoseconds(WindowStart));
    }
}
