using System.Globalization;
using System.Text.Json;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// Reads the OTLP/JSON encoding of <c>ExportMetricsServiceRequest</c> (lowerCamelCase names, 64-bit integers as
/// strings or numbers), keeping gauge and sum number data points.
/// </summary>
public static class OtlpJsonReader
{
    public static OtlpExport Read(ReadOnlySpan<byte> json)
    {
        var export = new OtlpExport();
        using JsonDocument doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
        if (!doc.RootElement.TryGetProperty("resourceMetrics", out JsonElement resourceMetrics) || resourceMetrics.ValueKind != JsonValueKind.Array)
        {
            return export;
        }

        foreach (JsonElement rm in resourceMetrics.EnumerateArray())
        {
            var resource = new Dictionary<string, string>(StringComparer.Ordinal);
            if (rm.TryGetProperty("resource", out JsonElement r) && r.TryGetProperty("attributes", out JsonElement ra))
            {
                ReadAttributes(ra, resource);
            }

            if (!rm.TryGetProperty("scopeMetrics", out JsonElement scopes))
            {
                continue;
            }

            foreach (JsonElement scope in scopes.EnumerateArray())
            {
                if (!scope.TryGetProperty("metrics", out JsonElement metrics))
                {
                    continue;
                }

                foreach (JsonElement metric in metrics.EnumerateArray())
                {
                    ReadMetric(metric, resource, export);
                }
            }
        }

        return export;
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
            if (!metric.TryGetProperty(kind, out JsonElement body) || !body.TryGetProperty("dataPoints", out JsonElement points))
            {
                continue;
            }

            foreach (JsonElement point in points.EnumerateArray())
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
