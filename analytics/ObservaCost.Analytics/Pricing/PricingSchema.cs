using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// The pricing file's JSON Schema, <c>docs/pricing.schema.json</c> (draft 2020-12; embedded in this assembly from that
/// one file), and its evaluation with JsonSchema.Net turned into the reader's errors: each with the JSON path of the
/// value (<c>$.gpus.H100.owned.purchaseUsd</c>) and a short message — the schema's <c>errorMessage</c> for the keyword
/// where it gives one, otherwise one derived from the keyword (<c>is required</c>, <c>unknown property</c>,
/// <c>expected a number</c>, <c>must be greater than 0</c>…). Only the combinator's own failure is reported, not its
/// branches'.
/// </summary>
public static class PricingSchema
{
    /// <summary>The manifest name of the embedded schema.</summary>
    public const string ResourceName = "ObservaCost.Analytics.Pricing.pricing.schema.json";

    private static readonly Lazy<(JsonSchema Schema, JsonNode Node)> Loaded = new(() =>
    {
        string text = Text();
        return (JsonSchema.FromText(text), JsonNode.Parse(text)!);
    });

    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List };

    /// <summary>The schema, built once (its <c>$id</c> is registered once per process).</summary>
    public static JsonSchema Schema => Loaded.Value.Schema;

    /// <summary>The schema's text, as published in <c>docs/pricing.schema.json</c>.</summary>
    public static string Text()
    {
        using Stream stream = typeof(PricingSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Every place the document breaks the schema, in the reader's terms.</summary>
    public static IReadOnlyList<PricingError> Validate(JsonElement document)
    {
        (JsonSchema schema, JsonNode schemaNode) = Loaded.Value;
        EvaluationResults results = schema.Evaluate(document, Options);
        var errors = new List<PricingError>();
        if (results.IsValid)
        {
            return errors;
        }

        IReadOnlyList<EvaluationResults> details = results.Details is { Count: > 0 } list ? list : [results];
        foreach (PricingError error in Combinators(details, schemaNode, document))
        {
            errors.Add(error);
        }

        foreach (EvaluationResults detail in details)
        {
            string evaluationPath = detail.EvaluationPath.ToString();
            if (detail.Errors is not { Count: > 0 } || InsideCombinator(evaluationPath) || evaluationPath.EndsWith("/not", StringComparison.Ordinal))
            {
                continue;
            }

            JsonNode? subschema = Subschema(schemaNode, detail.SchemaLocation);
            string[] instanceSegments = Segments(detail.InstanceLocation.ToString());
            (string path, JsonElement? value) = Locate(document, instanceSegments);
            foreach ((string keyword, string fallback) in detail.Errors)
            {
                foreach (PricingError error in Translate(keyword, fallback, subschema, path, value))
                {
                    if (!errors.Contains(error))
                    {
                        errors.Add(error);
                    }
                }
            }
        }

        return errors;
    }

    private static IEnumerable<PricingError> Translate(string keyword, string fallback, JsonNode? subschema, string path, JsonElement? value)
    {
        if (subschema is JsonValue boolean && boolean.TryGetValue(out bool allowed) && !allowed)
        {
            yield return new PricingError(path, "unknown property");
            yield break;
        }

        JsonObject? sub = subschema as JsonObject;
        switch (keyword)
        {
            case "required":
                foreach (string name in (sub?["required"] as JsonArray ?? []).Select(n => n!.GetValue<string>())
                    .Where(n => value is not { ValueKind: JsonValueKind.Object } v || !v.TryGetProperty(n, out JsonElement member) || member.ValueKind == JsonValueKind.Null))
                {
                    yield return new PricingError(PricingFileReader.Child(path, name), "is required");
                }

                yield break;
            case "additionalProperties" when sub is not null && sub["additionalProperties"] is JsonValue && value is { ValueKind: JsonValueKind.Object } obj:
                var known = sub["properties"] as JsonObject;
                foreach (JsonProperty member in obj.EnumerateObject().Where(m => known is null || !known.ContainsKey(m.Name)))
                {
                    yield return new PricingError(PricingFileReader.Child(path, member.Name), "unknown property");
                }

                yield break;
            case "type":
                string type = sub?["type"]?.GetValue<string>() ?? string.Empty;
                bool numeric = type is "number" or "integer";
                if (numeric && value is { ValueKind: JsonValueKind.Number } && Custom(sub, keyword) is { } wholeNumber)
                {
                    yield return new PricingError(path, wholeNumber);
                    yield break;
                }

                yield return new PricingError(path, type switch
                {
                    "object" => "expected an object",
                    "array" => "expected an array",
                    "string" => "expected a non-empty string",
                    "boolean" => "expected true or false",
                    _ when numeric => "expected a number",
                    _ => fallback,
                });
                yield break;
        }

        yield return new PricingError(path, Custom(sub, keyword) ?? Derived(keyword, sub) ?? fallback);
    }

    /// <summary>The schema's own message for a keyword: <c>errorMessage</c> as a string, or an object keyed by keyword.</summary>
    private static string? Custom(JsonObject? sub, string keyword) => sub?["errorMessage"] switch
    {
        JsonValue text => text.GetValue<string>(),
        JsonObject byKeyword => byKeyword[keyword]?.GetValue<string>(),
        _ => null,
    };

    private static string? Derived(string keyword, JsonObject? sub)
    {
        static string Format(JsonNode? n) => n is null ? "?" : n.GetValue<double>().ToString(CultureInfo.InvariantCulture);
        return keyword switch
        {
            "minimum" or "maximum" when sub?["minimum"] is not null && sub["maximum"] is not null => $"must be between {Format(sub["minimum"])} and {Format(sub["maximum"])}",
            "minimum" when Format(sub?["minimum"]) == "0" => "must not be negative",
            "minimum" => $"must be at least {Format(sub?["minimum"])}",
            "exclusiveMinimum" => $"must be greater than {Format(sub?["exclusiveMinimum"])}",
            "maximum" => $"must be at most {Format(sub?["maximum"])}",
            "pattern" when sub?["pattern"]?.GetValue<string>() == "\\S" => "expected a non-empty string",
            _ => null,
        };
    }

    /// <summary>
    /// The failed <c>anyOf</c>, <c>oneOf</c> and <c>not</c> (JsonSchema.Net reports only their branches): anyOf with no
    /// valid branch, oneOf with other than one, not whose branch holds; at the instance of the branch, with the
    /// schema's <c>errorMessage</c> for the keyword.
    /// </summary>
    private static IEnumerable<PricingError> Combinators(IReadOnlyList<EvaluationResults> details, JsonNode schemaNode, JsonElement document)
    {
        var branches = details
            .Select(d => (Detail: d, Segments: Segments(d.EvaluationPath.ToString())))
            .Where(b => b.Segments.Length >= 1
                && ((b.Segments.Length >= 2 && b.Segments[^2] is "anyOf" or "oneOf") || b.Segments[^1] == "not")
                && !InsideCombinator(string.Join('/', b.Segments[..(b.Segments[^1] == "not" ? ^1 : ^2)])))
            // The evaluation path names the schema's place only (every gpus entry shares it): the instance tells them apart.
            .GroupBy(b => string.Join('/', b.Segments[..(b.Segments[^1] == "not" ? ^1 : ^2)]) + "|" + b.Detail.InstanceLocation + "|" + (b.Segments[^1] == "not" ? "not" : b.Segments[^2]), StringComparer.Ordinal);
        foreach (var combinator in branches)
        {
            string keyword = combinator.Key[(combinator.Key.LastIndexOf('|') + 1)..];
            int valid = combinator.Count(b => b.Detail.IsValid);
            bool failed = keyword switch
            {
                "anyOf" => valid == 0,
                "oneOf" => valid != 1,
                _ => valid == 1,
            };
            if (!failed)
            {
                continue;
            }

            EvaluationResults first = combinator.First().Detail;
            string[] schemaSegments = Segments(Uri.UnescapeDataString(first.SchemaLocation.Fragment.TrimStart('#')));
            int at = Array.LastIndexOf(schemaSegments, keyword);
            JsonNode? owner = Resolve(schemaNode, at < 0 ? [] : schemaSegments[..at]);
            (string path, _) = Locate(document, Segments(first.InstanceLocation.ToString()));
            yield return new PricingError(path, Custom(owner as JsonObject, keyword) ?? keyword switch
            {
                "anyOf" => "matches none of the allowed forms",
                "oneOf" => "must match exactly one of the allowed forms",
                _ => "matches a form that is not allowed",
            });
        }
    }

    /// <summary>True for a result inside an <c>anyOf</c>, <c>oneOf</c> or <c>not</c> branch (the combinator reports the failure).</summary>
    private static bool InsideCombinator(string evaluationPath)
    {
        string[] segments = Segments(evaluationPath);
        for (int i = 0; i < segments.Length - 1; i++)
        {
            if (segments[i] is "anyOf" or "oneOf" or "not")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The subschema a result's absolute location names (its fragment is a JSON Pointer into the schema).</summary>
    private static JsonNode? Subschema(JsonNode schema, Uri location)
    {
        return Resolve(schema, Segments(Uri.UnescapeDataString(location.Fragment.TrimStart('#'))));
    }

    /// <summary>
    /// The node at the pointer's segments, as far as they lead: JsonSchema.Net appends the instance's property to
    /// some locations (<c>…/additionalProperties/capacity</c>), which ends the walk at the keyword's subschema.
    /// </summary>
    private static JsonNode? Resolve(JsonNode schema, string[] segments)
    {
        JsonNode? node = schema;
        foreach (string segment in segments)
        {
            JsonNode? next = node switch
            {
                JsonObject obj when obj.ContainsKey(segment) => obj[segment],
                JsonArray array when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < array.Count => array[i],
                _ => null,
            };
            if (next is null)
            {
                break;
            }

            node = next;
        }

        return node;
    }

    /// <summary>The reader's path of an instance location (<c>$.energy.tariff.periods[1]</c>) and the value there.</summary>
    private static (string Path, JsonElement? Value) Locate(JsonElement document, string[] segments)
    {
        string path = "$";
        JsonElement? value = document;
        foreach (string segment in segments)
        {
            if (value is { ValueKind: JsonValueKind.Array } array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                path += "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
                value = index < array.GetArrayLength() ? array[index] : null;
            }
            else
            {
                path = PricingFileReader.Child(path, segment);
                value = value is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(segment, out JsonElement member) ? member : null;
            }
        }

        return (path, value);
    }

    private static string[] Segments(string pointer) =>
        pointer.Length == 0 ? [] : [.. pointer.TrimStart('/').Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];
}
