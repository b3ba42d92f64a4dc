using System.Text.Json.Serialization;

namespace ObservaCost.Collector.Ingest;

/// <summary>One refused record: its 1-based line (line protocol, NDJSON) or 0-based index (JSON array), and why.</summary>
public sealed record RejectedRecord(
    [property: JsonPropertyName("line")] int? Line,
    [property: JsonPropertyName("index")] int? Index,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>The answer to an ingest request that was read: what was kept and what was refused.</summary>
public sealed record IngestResponse(
    [property: JsonPropertyName("accepted")] int Accepted,
    [property: JsonPropertyName("rejected")] int Rejected,
    [property: JsonPropertyName("errors")] IReadOnlyList<RejectedRecord> Errors,
    [property: JsonPropertyName("error")] string? Error);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(IngestResponse))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(string))]
public sealed partial class IngestJsonContext : JsonSerializerContext;
