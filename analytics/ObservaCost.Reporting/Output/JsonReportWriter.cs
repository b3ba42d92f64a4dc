using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Output;

/// <summary>The report as JSON (camelCase, indented, every figure with its previous value and change; null = not measured).</summary>
public sealed class JsonReportWriter : IReportWriter
{
    private static readonly JsonSerializerOptions Options = new(ReportJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Format => "json";

    public string ContentType => "application/json; charset=utf-8";

    public string FileExtension => "json";

    public Task WriteAsync(EfficiencyReport report, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        return JsonSerializer.SerializeAsync(output, report, Options.GetTypeInfo(typeof(EfficiencyReport)), cancellationToken);
    }

    /// <summary>Reads a report written by this writer back (for tests and tools).</summary>
    public static EfficiencyReport? Read(string json) => (EfficiencyReport?)JsonSerializer.Deserialize(json, Options.GetTypeInfo(typeof(EfficiencyReport)));
}

/// <summary>Source-generated JSON of the report.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(EfficiencyReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
