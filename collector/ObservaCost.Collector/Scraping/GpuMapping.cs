using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>Where a GPU exporter page was scraped, and how to place its GPUs.</summary>
public sealed record GpuScrapeContext
{
    /// <summary>The time of the scrape; every sample of the page gets it.</summary>
    public required DateTimeOffset ScrapeTime { get; init; }

    /// <summary>The node used when the page has no hostname label (or always, with <see cref="PreferContextNode"/>).</summary>
    public required string Node { get; init; }

    /// <summary>
    /// Use <see cref="Node"/> even when the page has a hostname label. dcgm-exporter in Kubernetes may report its own pod
    /// name as <c>Hostname</c>; a scraper that knows the node from service discovery should set this.
    /// </summary>
    public bool PreferContextNode { get; init; }

    public string? Cluster { get; init; }

    public string? Pool { get; init; }

    /// <summary>
    /// Target labels, consulted for every label the mapper reads when the page lacks it (the page wins, as with
    /// Prometheus <c>honor_labels</c>). E.g. a <c>model</c> label from the scrape configuration.
    /// </summary>
    public IReadOnlyDictionary<string, string>? ExtraLabels { get; init; }

    /// <summary>A label to read the served model from (on the page or in <see cref="ExtraLabels"/>), e.g. <c>model</c>.</summary>
    public string? ServedModelLabel { get; init; }

    /// <summary>Optional: the model served by a pod, given its namespace (may be null) and name; consulted when no label names it.</summary>
    public Func<string?, string, string?>? ServedModelResolver { get; init; }

    /// <summary>
    /// Most workloads (pod and container) kept per GPU or MIG instance from one page; the rest are counted in
    /// <see cref="GpuMappingResult.WorkloadsOverLimit"/> and dropped.
    /// </summary>
    public int MaxWorkloadsPerGpu { get; init; } = ScrapeOptions.DefaultMaxWorkloadsPerGpu;
}

/// <summary>The GPUs of one exporter page, and what could not be mapped.</summary>
public sealed record GpuMappingResult
{
    /// <summary>One sample per GPU or MIG instance / partition, ordered by GPU index and instance.</summary>
    public required IReadOnlyList<GpuSample> Samples { get; init; }

    /// <summary>Page samples of a mapped metric that were read into a GPU.</summary>
    public int SamplesMapped { get; init; }

    /// <summary>Page samples of a mapped metric without a usable GPU index label; they are skipped.</summary>
    public int SamplesWithoutGpuIndex { get; init; }

    /// <summary>Readings the exporter marked as unavailable (DCGM and amd-smi blank sentinels); left null.</summary>
    public int BlankValues { get; init; }

    /// <summary>
    /// Readings refused, each left null with its reason: NaN or ±Inf (<see cref="PrometheusErrorKind.NonFiniteValue"/>),
    /// a negative power, energy, utilization, memory or Xid reading (<see cref="PrometheusErrorKind.NegativeValue"/>),
    /// utilization above 100 % or an activity ratio above 1 (<see cref="PrometheusErrorKind.AboveMaximum"/>).
    /// </summary>
    public SampleRejections Rejections { get; init; } = new();

    /// <summary>
    /// GPUs (or MIG instances) that showed up with more than one pod or container (a shared or time-sliced GPU): their
    /// <see cref="GpuSample"/> carries no placement, and each workload is in <see cref="Workloads"/>.
    /// </summary>
    public int PodConflicts { get; init; }

    /// <summary>
    /// One <see cref="GpuWorkloadSample"/> per workload of a shared GPU (see <see cref="PodConflicts"/>), with no
    /// utilization: an exporter that repeats a shared GPU's series once per pod gives the GPU's values, not the pod's.
    /// </summary>
    public IReadOnlyList<GpuWorkloadSample> Workloads { get; init; } = [];

    /// <summary>Workloads beyond <see cref="GpuScrapeContext.MaxWorkloadsPerGpu"/> on one GPU; dropped.</summary>
    public int WorkloadsOverLimit { get; init; }
}

/// <summary>Maps the parsed page of one GPU exporter to <see cref="GpuSample"/> records.</summary>
public interface IGpuExporterMapper
{
    GpuMappingResult Map(IReadOnlyList<PrometheusSample> samples, GpuScrapeContext context);
}

/// <summary>A reading of a GPU sample.</summary>
internal enum GpuField
{
    UtilizationPercent,
    GraphicsEngineActivityRatio,
    PowerWatts,
    EnergyJoules,
    MemoryUsedBytes,
    MemoryFreeBytes,
    MemoryReservedBytes,
    MemoryTotalBytes,
    TemperatureCelsius,
    XidErrors,
}

/// <summary>
/// How one exporter metric feeds a field: multiplied by <paramref name="Scale"/> and divided by
/// <paramref name="Divisor"/> (so mJ → J is exact); values at or above <paramref name="BlankAtOrAbove"/> are the
/// exporter's "unavailable" sentinels. When several metrics feed a field the lowest <paramref name="Priority"/> wins.
/// </summary>
internal readonly record struct GpuMetricRule(GpuField Field, double Scale, double BlankAtOrAbove, int Priority = 0, double Divisor = 1);

/// <summary>An exporter's metric names and label names: the one thing that differs between GPU exporters.</summary>
internal sealed class GpuExporterDialect
{
    public required IReadOnlyDictionary<string, GpuMetricRule> Rules { get; init; }

    /// <summary>Finds a rule for a metric name the exact lookup missed (e.g. after a name prefix); optional.</summary>
    public Func<string, GpuMetricRule?>? FallbackRule { get; init; }

    public required string[] IndexLabels { get; init; }

    /// <summary>Labels naming the device, e.g. <c>nvidia3</c>, read for the index when the index labels are absent.</summary>
    public string[] DeviceLabels { get; init; } = [];

    public required string[] UuidLabels { get; init; }

    public required string[] ModelLabels { get; init; }

    public required string[] NodeLabels { get; init; }

    public required string[] PodLabels { get; init; }

    public required string[] NamespaceLabels { get; init; }

    public required string[] ContainerLabels { get; init; }

    /// <summary>The slice (MIG instance, AMD partition) and its profile of a sample, or nulls for a whole GPU.</summary>
    public required Func<LabelReader, (string? Instance, string? Profile)> Slice { get; init; }

    /// <summary>The <c>source</c> tag of the <see cref="GpuWorkloadSample"/>s of a shared GPU, e.g. <c>dcgm</c>.</summary>
    public required string WorkloadSource { get; init; }

    /// <summary>
    /// Power and energy are the physical GPU's even on a slice's series (dcgm-exporter repeats device fields per MIG
    /// instance): they go to the whole GPU's sample (made if the page has none) and are dropped from the slice's.
    /// </summary>
    public bool DeviceReadingsBelongToWholeGpu { get; init; }
}

/// <summary>Reads labels from a sample, then from the context's target labels; empty values count as absent.</summary>
internal readonly struct LabelReader(LabelSet labels, IReadOnlyDictionary<string, string>? extra)
{
    public string? Get(string name)
    {
        string? value = labels.Get(name);
        if (string.IsNullOrEmpty(value) && extra is not null && extra.TryGetValue(name, out string? fallback))
        {
            value = fallback;
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }

    public string? First(string[] names)
    {
        foreach (string name in names)
        {
            string? value = Get(name);
            if (value is not null)
            {
                return value;
            }
        }

        return null;
    }
}

/// <summary>The one mapping mechanism, parameterised by <see cref="GpuExporterDialect"/>.</summary>
internal static class GpuPageMapper
{
    private const double MebibyteBytes = 1024 * 1024;

    public static GpuMappingResult Map(GpuExporterDialect dialect, IReadOnlyList<PrometheusSample> samples, GpuScrapeContext context)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(context);
        var gpus = new Dictionary<(int Index, string? Uuid, string? Instance), GpuAccumulator>();
        int mapped = 0, withoutIndex = 0, blank = 0;
        var rejections = new SampleRejections();
        foreach (PrometheusSample sample in samples)
        {
            GpuMetricRule? found = dialect.Rules.TryGetValue(sample.Name, out GpuMetricRule exact) ? exact : dialect.FallbackRule?.Invoke(sample.Name);
            if (found is not GpuMetricRule rule)
            {
                continue;
            }

            var labels = new LabelReader(sample.Labels, context.ExtraLabels);
            if (!TryGetIndex(dialect, labels, out int index))
            {
                withoutIndex++;
                continue;
            }

            string? uuid = labels.First(dialect.UuidLabels);
            (string? instance, string? profile) = dialect.Slice(labels);
            if (!gpus.TryGetValue((index, uuid, instance), out GpuAccumulator? gpu))
            {
                gpu = new GpuAccumulator(index, uuid, instance, profile);
                gpus.Add((index, uuid, instance), gpu);
            }

            mapped++;
            gpu.Place(dialect, labels, context);

            double value = sample.Value;
            if (!double.IsFinite(value))
            {
                rejections.Add(PrometheusErrorKind.NonFiniteValue, string.Create(CultureInfo.InvariantCulture, $"{sample.Name}{sample.Labels} is {value}, not a reading"));
                continue;
            }

            if (value >= rule.BlankAtOrAbove)
            {
                blank++;
                continue;
            }

            double reading = value * rule.Scale / rule.Divisor;
            (double minimum, double maximum) = Range(rule.Field);
            if (reading < minimum || reading > maximum)
            {
                bool below = reading < minimum;
                rejections.Add(
                    below ? PrometheusErrorKind.NegativeValue : PrometheusErrorKind.AboveMaximum,
                    string.Create(CultureInfo.InvariantCulture, $"{sample.Name}{sample.Labels} is {value}: {rule.Field} cannot be {(below ? "below" : "above")} {(below ? minimum : maximum)}"));
                continue;
            }

            gpu.Set(rule, reading);
        }

        if (dialect.DeviceReadingsBelongToWholeGpu)
        {
            foreach (GpuAccumulator slice in gpus.Values.Where(g => g.Instance is not null && g.HasDeviceReadings).ToList())
            {
                if (!gpus.TryGetValue((slice.Index, slice.Uuid, null), out GpuAccumulator? whole))
                {
                    whole = slice.WholeGpu();
                    gpus.Add((slice.Index, slice.Uuid, null), whole);
                }

                slice.MoveDeviceReadingsTo(whole);
            }
        }

        var workloads = new List<GpuWorkloadSample>();
        foreach (GpuAccumulator gpu in gpus.Values.Where(g => g.HasPodConflict))
        {
            gpu.AddWorkloads(workloads, dialect.WorkloadSource, context);
        }

        var result = gpus.Values
            .OrderBy(g => g.Index)
            .ThenBy(g => g.Instance is null ? -1 : int.TryParse(g.Instance, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue)
            .ThenBy(g => g.Instance, StringComparer.Ordinal)
            .ThenBy(g => g.Uuid, StringComparer.Ordinal)
            .Select(g => g.ToSample(context))
            .ToList();
        return new GpuMappingResult
        {
            Samples = result,
            SamplesMapped = mapped,
            SamplesWithoutGpuIndex = withoutIndex,
            BlankValues = blank,
            Rejections = rejections,
            PodConflicts = gpus.Values.Count(g => g.HasPodConflict),
            Workloads = workloads,
            WorkloadsOverLimit = gpus.Values.Sum(g => g.WorkloadsOverLimit),
        };
    }

    /// <summary>The readings a field accepts, in its unit: percentages up to 100, ratios up to 1, no negative quantities.</summary>
    private static (double Minimum, double Maximum) Range(GpuField field) => field switch
    {
        GpuField.UtilizationPercent => (0, 100),
        GpuField.GraphicsEngineActivityRatio => (0, 1),
        GpuField.TemperatureCelsius => (-273.15, double.PositiveInfinity),
        _ => (0, double.PositiveInfinity),
    };

    private static bool TryGetIndex(GpuExporterDialect dialect, LabelReader labels, out int index)
    {
        string? text = labels.First(dialect.IndexLabels);
        if (text is not null)
        {
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out index);
        }

        string? device = labels.First(dialect.DeviceLabels);
        if (device is not null)
        {
            int digits = device.Length;
            while (digits > 0 && char.IsAsciiDigit(device[digits - 1]))
            {
                digits--;
            }

            return int.TryParse(device.AsSpan(digits), NumberStyles.None, CultureInfo.InvariantCulture, out index);
        }

        index = -1;
        return false;
    }

    private sealed class GpuAccumulator(int index, string? uuid, string? instance, string? profile)
    {
        private readonly double?[] _values = new double?[Enum.GetValues<GpuField>().Length];
        private readonly int[] _priorities = new int[Enum.GetValues<GpuField>().Length];
        private bool _placed;
        private string? _model;
        private string? _node;
        private string? _pciBusId;
        private readonly List<Placement> _placements = [];
        private string? _source;
        private string? _profile = profile;

        public int Index { get; } = index;

        public string? Uuid { get; } = uuid;

        public string? Instance { get; } = instance;

        /// <summary>
        /// Reads placement labels. Every distinct pod and container on the GPU is kept as a workload (up to the
        /// context's limit); with more than one, the GPU is shared and its sample carries no placement.
        /// </summary>
        public void Place(GpuExporterDialect dialect, LabelReader labels, GpuScrapeContext context)
        {
            if (!_placed)
            {
                _placed = true;
                _model = labels.First(dialect.ModelLabels);
                _node = labels.First(dialect.NodeLabels);
                _pciBusId = labels.Get(GpuIdentity.PciBusIdTag);
                _source = labels.Get(Tags.Source);
            }
            else
            {
                _model ??= labels.First(dialect.ModelLabels);
                _node ??= labels.First(dialect.NodeLabels);
                _pciBusId ??= labels.Get(GpuIdentity.PciBusIdTag);
                _source ??= labels.Get(Tags.Source);
                _profile ??= dialect.Slice(labels).Profile;
            }

            string? pod = labels.First(dialect.PodLabels);
            if (pod is null)
            {
                return;
            }

            string? ns = labels.First(dialect.NamespaceLabels);
            string? container = labels.First(dialect.ContainerLabels);
            foreach (Placement known in _placements)
            {
                if (string.Equals(known.Pod, pod, StringComparison.Ordinal)
                    && string.Equals(known.Namespace, ns, StringComparison.Ordinal)
                    && string.Equals(known.Container, container, StringComparison.Ordinal))
                {
                    return;
                }
            }

            if (_placements.Count >= context.MaxWorkloadsPerGpu)
            {
                WorkloadsOverLimit++;
                return;
            }

            string? servedModel = context.ServedModelLabel is string key ? labels.Get(key) : null;
            if (servedModel is null && context.ServedModelResolver is not null)
            {
                servedModel = context.ServedModelResolver(ns, pod);
            }

            _placements.Add(new Placement(ns, pod, container, servedModel));
        }

        public bool HasPodConflict => _placements.Count > 1;

        public int WorkloadsOverLimit { get; private set; }

        public bool HasDeviceReadings => _values[(int)GpuField.PowerWatts] is not null || _values[(int)GpuField.EnergyJoules] is not null;

        /// <summary>A whole-GPU accumulator with this slice's identity, for a page whose GPU has only slice series.</summary>
        public GpuAccumulator WholeGpu() => new(Index, Uuid, null, null)
        {
            _placed = true,
            _model = _model,
            _node = _node,
            _pciBusId = _pciBusId,
            _source = _source,
        };

        /// <summary>Moves power and energy (the physical GPU's) to <paramref name="whole"/>, which keeps its own if it has them.</summary>
        public void MoveDeviceReadingsTo(GpuAccumulator whole)
        {
            foreach (GpuField field in (ReadOnlySpan<GpuField>)[GpuField.PowerWatts, GpuField.EnergyJoules])
            {
                int i = (int)field;
                whole._values[i] ??= _values[i];
                _values[i] = null;
            }
        }

        /// <summary>Adds one workload sample per pod and container of this shared GPU.</summary>
        public void AddWorkloads(List<GpuWorkloadSample> into, string source, GpuScrapeContext context)
        {
            GpuSample gpu = ToSample(context);
            foreach (Placement p in _placements)
            {
                into.Add(new GpuWorkloadSample
                {
                    Time = gpu.Time,
                    Cluster = gpu.Cluster,
                    Node = gpu.Node,
                    GpuIndex = gpu.GpuIndex,
                    GpuUuid = gpu.GpuUuid!,
                    MigInstance = gpu.MigInstance,
                    Namespace = p.Namespace,
                    Pod = p.Pod,
                    Container = p.Container,
                    ServedModel = p.ServedModel,
                    Source = source,
                    WorkloadsOnGpu = _placements.Count,
                });
            }
        }

        public void Set(GpuMetricRule rule, double value)
        {
            int field = (int)rule.Field;
            if (_values[field] is null || rule.Priority < _priorities[field])
            {
                _values[field] = value;
                _priorities[field] = rule.Priority;
            }
            else if (rule.Priority == _priorities[field])
            {
                _values[field] = value;
            }
        }

        public GpuSample ToSample(GpuScrapeContext context)
        {
            double? used = _values[(int)GpuField.MemoryUsedBytes];
            double? free = _values[(int)GpuField.MemoryFreeBytes];
            double? total = _values[(int)GpuField.MemoryTotalBytes];
            if (total is null && used is not null && free is not null)
            {
                total = used + free + (_values[(int)GpuField.MemoryReservedBytes] ?? 0);
            }

            string node = context.PreferContextNode ? context.Node : _node ?? context.Node;
            Placement? placement = _placements.Count == 1 ? _placements[0] : null;
            return new GpuSample
            {
                Time = context.ScrapeTime,
                Cluster = context.Cluster,
                Node = node,
                GpuIndex = Index,
                // The page's UUID label when it has one; else the GPU's bus id or index on its node (GpuIdentity), so
                // GPUs of a page without UUIDs stay apart.
                GpuUuid = GpuIdentity.Of(Uuid, _pciBusId, node, Index.ToString(CultureInfo.InvariantCulture)),
                GpuModel = _model,
                Pool = context.Pool,
                MigInstance = Instance,
                MigProfile = Instance is null ? null : _profile,
                Namespace = placement?.Namespace,
                Pod = placement?.Pod,
                Container = placement?.Container,
                ServedModel = placement?.ServedModel,
                UtilizationPercent = _values[(int)GpuField.UtilizationPercent],
                GraphicsEngineActivityRatio = _values[(int)GpuField.GraphicsEngineActivityRatio],
                PowerWatts = _values[(int)GpuField.PowerWatts],
                EnergyJoules = _values[(int)GpuField.EnergyJoules],
                MemoryUsedBytes = ToBytes(used),
                MemoryTotalBytes = ToBytes(total),
                TemperatureCelsius = _values[(int)GpuField.TemperatureCelsius],
                XidErrors = _values[(int)GpuField.XidErrors] is double xid ? (long)xid : null,
                Source = _source,
            };
        }

        private static long? ToBytes(double? value) => value is double v ? (long)Math.Round(v) : null;

        private sealed record Placement(string? Namespace, string Pod, string? Container, string? ServedModel);
    }

    /// <summary>Rules for a metric reported in MiB, read as bytes.</summary>
    internal static GpuMetricRule MebibytesRule(GpuField field, double blankAtOrAbove) => new(field, MebibyteBytes, blankAtOrAbove);
}
