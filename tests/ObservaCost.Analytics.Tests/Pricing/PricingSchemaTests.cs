using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Pricing;

/// <summary>
/// The published schema (docs/pricing.schema.json) is the one the reader evaluates, is usable by editors (draft
/// 2020-12, an $id, a description on every property), and accepts every pricing file in the repository — the example,
/// which the Helm chart's pricing ConfigMap renders by default (helm/observacost/files/pricing.example.json), included.
/// </summary>
public sealed class PricingSchemaTests
{
    private static readonly string SchemaPath = Path.Combine(RepoPaths.Root, "docs", "pricing.schema.json");

    private static readonly JsonDocumentOptions WithComments = new() { CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Every pricing file in the tree: JSON files named pricing*.json, outside build output, the schema aside.</summary>
    private static List<string> PricingFiles() =>
    [
        .. Directory.EnumerateFiles(RepoPaths.Root, "pricing*.json", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(d => d is "bin" or "obj" or "node_modules" or ".tools" or ".git"))
            .Where(f => !f.EndsWith("pricing.schema.json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal),
    ];

    [Fact]
    public void EmbeddedSchema_IsThePublishedFile()
    {
        Assert.Equal(File.ReadAllText(SchemaPath), PricingSchema.Text());
    }

    [Fact]
    public void Schema_Draft2020_12WithIdAndDescriptions_OnEveryProperty()
    {
        JsonNode schema = JsonNode.Parse(File.ReadAllText(SchemaPath))!;
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", (string?)schema["$schema"]);
        Assert.StartsWith("https://", (string?)schema["$id"], StringComparison.Ordinal);

        // Every property (at the root and in every $defs object) describes itself, or refers to a definition that does.
        var undescribed = new List<string>();
        void Walk(JsonNode? node, string path)
        {
            if (node is not JsonObject obj)
            {
                return;
            }

            if (obj["properties"] is JsonObject properties && !path.Contains("Of/", StringComparison.Ordinal))
            {
                foreach ((string name, JsonNode? property) in properties)
                {
                    string? reference = (string?)property?["$ref"];
                    bool described = property?["description"] is not null
                        || (reference is not null && schema["$defs"]?[reference.Split('/')[^1]]?["description"] is not null);
                    if (!described)
                    {
                        undescribed.Add(path + "/properties/" + name);
                    }
                }
            }

            foreach ((string key, JsonNode? child) in obj)
            {
                if (child is JsonArray array)
                {
                    for (int i = 0; i < array.Count; i++)
                    {
                        Walk(array[i], path + "/" + key + "/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    Walk(child, path + "/" + key);
                }
            }
        }

        Walk(schema, "#");
        Assert.Empty(undescribed);
        Assert.Equal(["on-demand", "reserved", "spot"], schema["$defs"]!["rented"]!["properties"]!["commitment"]!["enum"]!.AsArray().Select(n => (string)n!));
    }

    [Fact]
    public void PricingFiles_InTheRepository_AllValidAgainstThePublishedSchema()
    {
        // The product's schema object (built from the embedded copy of the file: its $id can be registered once).
        JsonSchema schema = PricingSchema.Schema;
        List<string> files = PricingFiles();

        // docs/pricing.example.json and the chart's copy of it (a link; the ConfigMap's default) at least.
        Assert.Contains(files, f => f.EndsWith(Path.Combine("docs", "pricing.example.json"), StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(Path.Combine("helm", "observacost", "files", "pricing.example.json"), StringComparison.Ordinal));
        foreach (string file in files)
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file), WithComments);
            EvaluationResults results = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(results.IsValid, file + ": " + string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => d.InstanceLocation + " " + e.Key + ": " + e.Value))));
            Assert.Empty(PricingSchema.Validate(document.RootElement));
            Assert.True(PricingFileReader.TryParse(File.ReadAllText(file), out _, out IReadOnlyList<PricingError> errors), file + ": " + string.Join("; ", errors));
        }
    }

    [Theory]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": "yes" } } }""", "$.default.rented.energyIncluded", "expected true or false")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "owned": { "purchaseUsd": 0, "depreciationYears": 3 } } }""", "$.default.owned.purchaseUsd", "must be greater than 0")]
    [InlineData("""{ "energy": { "pue": 0.5, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } } }""", "$.energy.pue", "must be at least 1")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": -1, "energyIncluded": true } } }""", "$.default.rented.usdPerGpuHour", "must not be negative")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true, "commitment": "weekly" } } }""", "$.default.rented.commitment", "must be 'on-demand', 'reserved' or 'spot'")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1, "periods": [ { "name": "p", "usdPerKilowattHour": 0.1, "startHour": 7.5, "endHour": 9 } ] } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } } }""", "$.energy.tariff.periods[0].startHour", "must be a whole hour from 0 to 23")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1, "periods": [ { "name": "p", "usdPerKilowattHour": 0.1, "startHour": 1, "endHour": 9, "days": ["Mon", "Mon"] } ] } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } } }""", "$.energy.tariff.periods[0].days", "repeats a day")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } }, "idle": { "pools": { "a-b": { "utilizationPercent": 101 } } } }""", "$.idle.pools['a-b'].utilizationPercent", "must be between 0 and 100")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } }, "tokenCostSplit": { } }""", "$.tokenCostSplit.completionTokenWeight", "is required")]
    [InlineData("""{ "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } }, "capacity": { "lookbackDay": 7 } }""", "$.capacity.lookbackDay", "unknown property")]
    public void Reader_OneSchemaViolation_OneErrorWithPathAndMessage(string json, string path, string message)
    {
        Assert.False(PricingFileReader.TryParse(json, out _, out IReadOnlyList<PricingError> errors));
        Assert.Equal(new PricingError(path, message), Assert.Single(errors));
    }

    [Fact]
    public void Reader_SchemaKey_IsAcceptedForEditors()
    {
        string json = """{ "$schema": "./pricing.schema.json", "energy": { "pue": 1, "tariff": { "usdPerKilowattHour": 0.1 } }, "default": { "rented": { "usdPerGpuHour": 1, "energyIncluded": true } } }""";
        Assert.True(PricingFileReader.TryParse(json, out PricingFile? file, out IReadOnlyList<PricingError> errors), string.Join("; ", errors));
        Assert.Equal(1, file.Default!.Rented!.UsdPerGpuHour);
    }
}
