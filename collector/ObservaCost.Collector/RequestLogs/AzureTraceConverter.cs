using System.Globalization;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>Where converted Azure trace requests are attributed: the trace itself names no model, tenant or place.</summary>
public sealed record AzureTraceAttribution
{
    /// <summary>The model name to give every request, e.g. <c>azure-code</c>.</summary>
    public required string Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }
}

/// <summary>A trace line that could not be converted.</summary>
public sealed record AzureTraceError(int LineNumber, string Reason);

/// <summary>The requests of one trace file and its bad lines.</summary>
public sealed record AzureTraceConversion(IReadOnlyList<InferenceRequest> Requests, IReadOnlyList<AzureTraceError> Errors);

/// <summary>
/// Converts the Azure LLM inference trace 2023 (<c>TIMESTAMP,ContextTokens,GeneratedTokens</c>, one request a line)
/// into <see cref="InferenceRequest"/>s: context tokens are prompt tokens, generated tokens are completion tokens.
/// </summary>
/// <remarks>
/// Columns are found by header name (case-insensitive), so their order may change. <c>TIMESTAMP</c> reads like
/// <c>2023-11-16 18:15:46.6805900</c> and has no zone; it is taken as UTC (the traces come from Azure services and the
/// published analysis treats them as one time base). The trace has no status, latency or time to first token; those
/// stay null. <c>\n</c> and <c>\r\n</c> line ends and blank lines are accepted; a bad line is reported with its number.
/// </remarks>
public static class AzureTraceConverter
{
    private static readonly string[] TimestampFormats = ["yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF"];

    public static AzureTraceConversion Convert(TextReader reader, AzureTraceAttribution attribution)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(attribution);
        ArgumentException.ThrowIfNullOrWhiteSpace(attribution.Model);

        var requests = new List<InferenceRequest>();
        var errors = new List<AzureTraceError>();
        int lineNumber = 0;
        int timestampColumn = -1, contextColumn = -1, generatedColumn = -1, columnCount = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            string[] cells = line.Split(',', StringSplitOptions.TrimEntries);
            if (columnCount == 0)
            {
                columnCount = cells.Length;
                timestampColumn = Array.FindIndex(cells, c => c.Equals("TIMESTAMP", StringComparison.OrdinalIgnoreCase));
                contextColumn = Array.FindIndex(cells, c => c.Equals("ContextTokens", StringComparison.OrdinalIgnoreCase));
                generatedColumn = Array.FindIndex(cells, c => c.Equals("GeneratedTokens", StringComparison.OrdinalIgnoreCase));
                if (timestampColumn < 0 || contextColumn < 0 || generatedColumn < 0)
                {
                    errors.Add(new AzureTraceError(lineNumber, "the header must name TIMESTAMP, ContextTokens and GeneratedTokens"));
                    return new AzureTraceConversion(requests, errors);
                }

                continue;
            }

            if (cells.Length != columnCount)
            {
                errors.Add(new AzureTraceError(lineNumber, string.Create(CultureInfo.InvariantCulture, $"expected {columnCount} cells, found {cells.Length}")));
                continue;
            }

            if (!DateTime.TryParseExact(cells[timestampColumn], TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime timestamp))
            {
                errors.Add(new AzureTraceError(lineNumber, $"TIMESTAMP '{cells[timestampColumn]}' is not YYYY-MM-DD HH:MM:SS.fffffff"));
                continue;
            }

            if (!long.TryParse(cells[contextColumn], NumberStyles.None, CultureInfo.InvariantCulture, out long context)
                || !long.TryParse(cells[generatedColumn], NumberStyles.None, CultureInfo.InvariantCulture, out long generated))
            {
                errors.Add(new AzureTraceError(lineNumber, "ContextTokens and GeneratedTokens must be non-negative whole numbers"));
                continue;
            }

            requests.Add(new InferenceRequest
            {
                Timestamp = new DateTimeOffset(timestamp, TimeSpan.Zero),
                Model = attribution.Model,
                Tenant = attribution.Tenant,
                Pool = attribution.Pool,
                Node = attribution.Node,
                PromptTokens = context,
                CompletionTokens = generated,
            });
        }

        if (columnCount == 0)
        {
            errors.Add(new AzureTraceError(0, "the trace is empty"));
        }

        return new AzureTraceConversion(requests, errors);
    }
}
