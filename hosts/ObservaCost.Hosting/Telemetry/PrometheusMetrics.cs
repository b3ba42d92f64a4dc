using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ObservaCost.Hosting.Telemetry;

/// <summary>
/// <c>/metrics</c>: a pull reader of the host's OpenTelemetry meter provider, written as Prometheus text format 0.0.4
/// on each scrape. The numbers are the SDK's own aggregation of the instruments (cumulative), the same the OTLP
/// exporter sends, so nothing is counted twice. Names follow the OpenTelemetry-to-Prometheus rules: dots become
/// underscores, the unit is appended (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, <c>{…}</c> → nothing),
/// counters end in <c>_total</c>; label names likewise, sorted. Exponential histograms are not written.
/// </summary>
public sealed class PrometheusMetrics : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Lock _gate = new();
    private readonly TextExporter _exporter = new();

    public PrometheusMetrics() =>
        Reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };

    /// <summary>The reader the meter provider owns (registered by <see cref="ObservaCostTelemetry.AddObservaCostTelemetry"/>).</summary>
    internal MetricReader Reader { get; }

    /// <summary>Collects every instrument now and returns the exposition text (empty before the meter provider is built).</summary>
    public string Scrape()
    {
        lock (_gate)
        {
            _exporter.Families.Clear();
            if (!Reader.Collect(timeoutMilliseconds: 10_000))
            {
                return string.Empty;
            }

            var text = new StringBuilder(8192);
            foreach (StringBuilder family in _exporter.Families.Values)
            {
                text.Append(family);
            }

            return text.ToString();
        }
    }

    /// <summary>The meter provider disposes the reader too; a second dispose does nothing.</summary>
    public void Dispose() => Reader.Dispose();

    /// <summary>
    /// The value of one sample line of a scrape, e.g. <c>observacost_collector_points_written_total</c> or
    /// <c>observacost_collector_service_restarts_total{service="flaky"}</c> (labels sorted by name); 0 when absent.
    /// </summary>
    public double Value(string series)
    {
        ArgumentException.ThrowIfNullOrEmpty(series);
        string prefix = series + " ";
        foreach (string line in Scrape().Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>The Prometheus name of an instrument: <paramref name="name"/> sanitized, then the unit's suffix.</summary>
    public static string MetricName(string name, string? unit, bool counter)
    {
        ArgumentNullException.ThrowIfNull(name);
        string metric = Sanitize(name);
        string suffix = unit switch
        {
            null or "" => string.Empty,
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            "1" => counter ? string.Empty : "_ratio",
            _ when unit.StartsWith('{') => string.Empty,
            _ => "_" + Sanitize(unit),
        };
        if (suffix.Length > 0 && !metric.EndsWith(suffix, StringComparison.Ordinal))
        {
            metric += suffix;
        }

        return counter && !metric.EndsWith("_total", StringComparison.Ordinal) ? metric + "_total" : metric;
    }

    private static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':' ? c : '_');
        }

        if (sb.Length > 0 && char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }

        return sb.ToString();
    }

    /// <summary>
    /// Writes the batch that <see cref="Scrape"/>'s collection hands it. It declares no export mode (push, the
    /// default): the SDK lets a pull-only exporter be collected only through its internal pull interface.
    /// </summary>
    private sealed class TextExporter : BaseExporter<Metric>
    {
        /// <summary>One text block per family name, in the order first seen (two instruments with one name share a block).</summary>
        public Dictionary<string, StringBuilder> Families { get; } = new(StringComparer.Ordinal);

        public override ExportResult Export(in Batch<Metric> batch)
        {
            foreach (Metric metric in batch)
            {
                Write(metric);
            }

            return ExportResult.Success;
        }

        private void Write(Metric metric)
        {
            MetricType type = metric.MetricType;
            bool counter = type is MetricType.LongSum or MetricType.DoubleSum;
            bool histogram = type is MetricType.Histogram;
            if (type is MetricType.ExponentialHistogram)
            {
                return;
            }

            string name = MetricName(metric.Name, metric.Unit, counter);
            if (!Families.TryGetValue(name, out StringBuilder? family))
            {
                family = new StringBuilder();
                Families[name] = family;
                if (!string.IsNullOrEmpty(metric.Description))
                {
                    family.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(metric.Description)).Append('\n');
                }

                family.Append("# TYPE ").Append(name).Append(' ').Append(counter ? "counter" : histogram ? "histogram" : "gauge").Append('\n');
            }

            foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
            {
                List<(string Name, string Value)> labels = [];
                foreach (KeyValuePair<string, object?> tag in point.Tags)
                {
                    labels.Add((Sanitize(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty));
                }

                labels.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                if (histogram)
                {
                    long cumulative = 0;
                    foreach (HistogramBucket bucket in point.GetHistogramBuckets())
                    {
                        cumulative += bucket.BucketCount;
                        Sample(family, name + "_bucket", labels, ("le", double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : Number(bucket.ExplicitBound)), Integer(cumulative));
                    }

                    Sample(family, name + "_sum", labels, null, Number(point.GetHistogramSum()));
                    Sample(family, name + "_count", labels, null, Integer(point.GetHistogramCount()));
                    continue;
                }

                string value = type switch
                {
                    MetricType.LongSum or MetricType.LongSumNonMonotonic => Integer(point.GetSumLong()),
                    MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => Number(point.GetSumDouble()),
                    MetricType.LongGauge => Integer(point.GetGaugeLastValueLong()),
                    _ => Number(point.GetGaugeLastValueDouble()),
                };
                Sample(family, name, labels, null, value);
            }
        }

        private static void Sample(StringBuilder sb, string name, List<(string Name, string Value)> labels, (string Name, string Value)? extra, string value)
        {
            sb.Append(name);
            if (labels.Count > 0 || extra is not null)
            {
                sb.Append('{');
                bool first = true;
                foreach ((string label, string text) in extra is { } e ? [.. labels, e] : labels)
                {
                    sb.Append(first ? string.Empty : ",").Append(label).Append("=\"").Append(EscapeLabel(text)).Append('"');
                    first = false;
                }

                sb.Append('}');
            }

            sb.Append(' ').Append(value).Append('\n');
        }

        private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

        private static string Number(double value) =>
            double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);

        private static string EscapeLabel(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

        private static string EscapeHelp(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }
}
