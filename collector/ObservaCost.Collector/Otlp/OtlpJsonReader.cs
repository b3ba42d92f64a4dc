using System.Globalization;
using System.Text.Json;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// Reads the OTLP/JSON encoding of <c>ExportMetricsServiceRequest</c> (lowerCamelCase names, 64-bit integers as
/// strings or numbers), keeping gauge and sum number data points.
/// </summary>
/// <remarks>
/// A body that is not such a request is refused (<see cref="JsonException"/>, <see cref="InvalidDataException"/>,
/// <see cref="InvalidOperationException"/> or <see cref="FormatException"/>, with the reason): invalid JSON or UTF-8, a
/// lone surrogate escape, a property given twice in one object, nesting deeper than 32, a root that is not an object,
/// or <c>resourceMetrics</c>, <c>scopeMetrics</c>, <c>metrics</c> or <c>dataPoints</c> that is not an array. An empty
/// object is an empty export.
/// </remarks>
public static class OtlpJsonReader
{
    public static OtlpExport Read(ReadOnlySpan<byte> json)
    {
        var export = new OtlpExport();
        using JsonDocument doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 32, AllowDuplicateProperties = false });
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("the body must be a JSON object (ExportMetricsServiceRequest)");
        }

        foreach (JsonElement rm in ArrayOf(doc.RootElement, "resourceMetrics"))
        {
            var resource = new Dictionary<string, string>(StringComparer.Ordinal);
            if (rm.TryGetProperty("resource", out JsonElement r) && r.TryGetProperty("attributes", out JsonElement ra))
            {
                ReadAttributes(ra, resource);
            }

            foreach (JsonElement scope in ArrayOf(rm, "scopeMetrics"))
            {
                foreach (JsonElement metric in ArrayOf(scope, "metrics"))
                {
                    ReadMetric(metric, resource, export);
                }
            }
        }

        return export;
    }

    /// <summary>The elements of array property <paramref name="name"/> of object <paramref name="parent"/>; none when it is absent or null.</summary>
    private static JsonElement.ArrayEnumerator ArrayOf(JsonElement parent, string name)
    {
        if (parent.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"an element holding '{name}' must be an object, not {parent.ValueKind}");
        }

        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return default;
        }

        return value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : throw new InvalidDataException($"'{name}' must be an array, not {value.ValueKind}");
    }

    private static void ReadMetric(JsonElement metric, Dictionary<string, string> resource, OtlpExport export)
    {
        string name = metric.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? string.Empty : string.Empty;
        string unit = metric.TryGetProperty("unit", out JsonElement u) ? u.GetString() ?? string.Empty : string.Empty;
        foreach (string unsupported in new[] { "histogram", "exponentialHistogram", "summary" })
        {
            if (metric.TryGetProperty(unsupported, out JsonElement h) && h.TryGetProperty("dataPoints", out JsonElement hp))
            {
                export.UnsupportedPoints += hp.GetArrayLength();
            }
        }

        foreach (string kind in new[] { "gauge", "sum" })
        {
            if (!metric.TryGetProperty(kind, out JsonElement body))
            {
                continue;
            }

            foreach (JsonElement point in ArrayOf(body, "dataPoints"))
            {
                var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                if (point.TryGetProperty("attributes", out JsonElement pa))
                {
                    ReadAttributes(pa, attributes);
                }

                long time = point.TryGetProperty("timeUnixNano", out JsonElement t) ? ReadInt64(t) : 0;
                double? value = point.TryGetProperty("asDouble", out JsonElement d) ? ReadDouble(d)
                    : point.TryGetProperty("asInt", out JsonElement i) ? ReadInt64(i) : null;
                if (value is null)
                {
                    export.Rejections.Add(new OtlpRejection(name, "data point has no value"));
                    continue;
                }

                export.Points.Add(new OtlpDataPoint(name, unit, resource, attributes, time, value.Value));
            }
        }
    }

    private static void ReadAttributes(JsonElement array, Dictionary<string, string> into)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (JsonElement kv in array.EnumerateArray())
        {
            if (!kv.TryGetProperty("key", out JsonElement k) || !kv.TryGetProperty("value", out JsonElement v))
            {
                continue;
            }

            string? text = v.TryGetProperty("stringValue", out JsonElement s) ? s.GetString()
                : v.TryGetProperty("intValue", out JsonElement i) ? ReadInt64(i).ToString(CultureInfo.InvariantCulture)
                : v.TryGetProperty("doubleValue", out JsonElement d) ? ReadDouble(d).ToString("R", CultureInfo.InvariantCulture)
                : v.TryGetProperty("boolValue", out JsonElement b) ? (b.GetBoolean() ? "true" : "false")
                : null;
            if (text is not null && k.GetString() is { Length: > 0 } key)
            {
                into[key] = text;
            }
        }
    }

    private static long ReadInt64(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? long.Parse(e.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
        : e.GetInt64();

    private static double ReadDouble(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            string s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
            null => double.NaN,
        }
        : e.GetDouble();
}
