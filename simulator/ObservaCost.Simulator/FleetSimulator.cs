using System.Globalization;
using Microsoft.Extensions.Options;
using ObservaCost.Simulator.Configuration;
using ObservaCost.Simulator.Model;

namespace ObservaCost.Simulator;

/// <summary>One simulated GPU: where it sits and what it normally serves (null: a spare GPU).</summary>
public sealed record SimulatedGpu(int Ordinal, string Node, int Index, string Uuid, string PciBusId, string Pool, GpuModelSpec Model, string? ServedModel, string? Pod);

/// <summary>One reading of one GPU at one time, in dcgm-exporter's units except energy in mJ as DCGM counts it.</summary>
public readonly record struct GpuReading(
    SimulatedGpu Gpu,
    DateTimeOffset Time,
    double UtilizationPercent,
    double PowerWatts,
    long EnergyMillijoules,
    long XidCode,
    string? Pod,
    string? ServedModel,
    int MemoryUsedMebibytes,
    double TemperatureCelsius);

/// <summary>One simulated inference request, as a request log records it.</summary>
public readonly record struct SimulatedRequest(
    DateTimeOffset Timestamp,
    string Model,
    string Tenant,
    string Pool,
    string Node,
    int PromptTokens,
    int CompletionTokens,
    double TimeToFirstTokenMs,
    double LatencyMs);

/// <summary>
/// The seeded fleet model (docs/simulator.md). Deterministic: the same <see cref="FleetOptions"/> (seed included) and
/// the same anchor time give the same GPUs, readings and requests, whatever the order or spacing of the calls, except
/// the energy counters, which integrate power over the steps taken (<see cref="Step"/>).
/// </summary>
/// <remarks>
/// Demand of a model per minute = peak requests per minute × diurnal curve (35 % at 03:00 UTC, 100 % at 15:00 UTC,
/// a raised cosine) × weekly factor (60 % on Saturday and Sunday) × ±8 % noise × an active spike's factor × an active
/// Xid's served share. A serving GPU's utilization is its pool's peak utilization × that demand (every serving GPU of
/// the model gets an equal share), ±3 points, within [0, 100]; power = idle + 0.9 × (TDP − idle) × utilization,
/// ±1 % of the range, within [idle, TDP].
/// </remarks>
public sealed class FleetSimulator
{
    /// <summary>The tag value every series of the simulator carries (<c>source=simulated</c>).</summary>
    public const string SourceTag = "simulated";

    /// <summary>The Kubernetes namespace of every simulated pod.</summary>
    public const string Namespace = "inference";

    private const ulong UtilizationStream = 1, PowerStream = 2, EnergyStream = 3, DemandStream = 4, CountStream = 5,
        TimestampStream = 6, TenantStream = 7, GpuStream = 8, PromptStream = 9, CompletionStream = 10, UuidStream = 11;

    private readonly FleetOptions _options;
    private readonly SimulationRandom _random;
    private readonly Dictionary<string, SimulatedModelOptions> _models;
    private readonly Dictionary<string, SimulatedGpu[]> _servingGpus;
    private readonly double[] _tenantCumulativeShare;
    private readonly long[] _energyMillijoules;
    private readonly (SimulatedFaultOptions Fault, DateTimeOffset Start, DateTimeOffset End)[] _faults;
    private DateTimeOffset? _lastStep;

    public FleetSimulator(FleetOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ValidateOptionsResult validation = new FleetOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(FleetOptions.SectionName, typeof(FleetOptions), validation.Failures);
        }

        _options = options;
        _random = new SimulationRandom(options.Seed);
        DateTimeOffset now = time.GetUtcNow();
        Anchor = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        _models = options.Models.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var gpus = new List<SimulatedGpu>();
        foreach (SimulatedPoolOptions pool in options.Pools)
        {
            GpuModelSpec model = GpuModels.Find(pool.GpuModel)!;
            for (int n = 0; n < pool.Nodes; n++)
            {
                string node = NodeName(pool, n);
                for (int g = 0; g < pool.GpusPerNode; g++)
                {
                    bool spare = g >= pool.GpusPerNode - pool.SpareGpusPerNode;
                    int ordinal = gpus.Count;
                    ulong id = _random.Hash(UuidStream, ordinal);
                    ulong id2 = _random.Hash(UuidStream, ordinal, 1);
                    string uuid = string.Create(CultureInfo.InvariantCulture,
                        $"GPU-{(uint)(id >> 32):x8}-{(ushort)(id >> 16):x4}-{(ushort)id:x4}-{(ushort)(id2 >> 48):x4}-{id2 & 0xFFFFFFFFFFFFUL:x12}");
                    string pci = string.Create(CultureInfo.InvariantCulture, $"00000000:{0x18 + (g * 0x10):X2}:00.0");
                    gpus.Add(new SimulatedGpu(ordinal, node, g, uuid, pci, pool.Name, model,
                        spare ? null : pool.ServedModel,
                        spare ? null : string.Create(CultureInfo.InvariantCulture, $"vllm-{pool.ServedModel}-{node}-{g}")));
                }
            }
        }

        Gpus = gpus;
        Nodes = [.. gpus.Select(g => g.Node).Distinct(StringComparer.Ordinal)];
        _servingGpus = options.Models.ToDictionary(
            m => m.Name,
            m => gpus.Where(g => string.Equals(g.ServedModel, m.Name, StringComparison.Ordinal)).ToArray(),
            StringComparer.Ordinal);
        double total = options.Tenants.Sum(t => t.Share);
        double running = 0;
        _tenantCumulativeShare = [.. options.Tenants.Select(t => running += t.Share / total)];
        _energyMillijoules = [.. gpus.Select(g => 1_000_000_000L + (long)(_random.Uniform(EnergyStream, g.Ordinal) * 4e9))];
        _faults = [.. options.Faults.Select(f => (f, Anchor + f.StartOffset, Anchor + f.StartOffset + f.Duration))];
    }

    public FleetOptions Options => _options;

    /// <summary>The anchor: the clock's time at construction, down to the minute. History ends here; faults are placed relative to it.</summary>
    public DateTimeOffset Anchor { get; }

    public IReadOnlyList<SimulatedGpu> Gpus { get; }

    public IReadOnlyList<string> Nodes { get; }

    /// <summary>The node name of a pool's node: <c>sim-{pool}-{n:00}</c> (1-based), so demo nodes read as simulated.</summary>
    public static string NodeName(SimulatedPoolOptions pool, int index)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return string.Create(CultureInfo.InvariantCulture, $"sim-{pool.Name}-{index + 1:00}");
    }

    /// <summary>
    /// Advances the fleet to <paramref name="time"/> (later than the previous step) and returns every GPU's reading
    /// there. The energy counters add power × the time since the previous step; a driver restart at or before
    /// <paramref name="time"/> and after the previous step sets its node's counters to the energy since the restart.
    /// </summary>
    public IReadOnlyList<GpuReading> Step(DateTimeOffset time)
    {
        if (_lastStep is DateTimeOffset last && time <= last)
        {
            throw new ArgumentOutOfRangeException(nameof(time), time, string.Create(CultureInfo.InvariantCulture, $"steps must move forward (the last was {last:O})"));
        }

        var readings = new GpuReading[Gpus.Count];
        foreach (SimulatedGpu gpu in Gpus)
        {
            GpuReading reading = Read(gpu, time);
            double seconds = _lastStep is DateTimeOffset previous ? (time - previous).TotalSeconds : 0;
            long energy = _energyMillijoules[gpu.Ordinal] + (long)Math.Round(reading.PowerWatts * seconds * 1000);
            foreach ((SimulatedFaultOptions fault, DateTimeOffset start, _) in _faults)
            {
                if (fault.Kind == FaultKind.DriverRestart && start <= time && (_lastStep is null || _lastStep < start) && OnNode(fault, gpu))
                {
                    energy = (long)Math.Round(reading.PowerWatts * (time - start).TotalSeconds * 1000);
                }
            }

            _energyMillijoules[gpu.Ordinal] = energy;
            readings[gpu.Ordinal] = reading with { EnergyMillijoules = energy };
        }

        _lastStep = time;
        return readings;
    }

    /// <summary>The requests with timestamps in [<paramref name="from"/>, <paramref name="to"/>), in time order.</summary>
    public IReadOnlyList<SimulatedRequest> RequestsBetween(DateTimeOffset from, DateTimeOffset to)
    {
        var requests = new List<SimulatedRequest>();
        long firstMinute = from.ToUnixTimeSeconds() / 60;
        for (long minute = firstMinute; minute * 60 < to.ToUnixTimeSeconds() + 60; minute++)
        {
            var minuteStart = DateTimeOffset.FromUnixTimeSeconds(minute * 60);
            if (minuteStart >= to)
            {
                break;
            }

            foreach (SimulatedModelOptions model in _options.Models)
            {
                AddRequests(requests, model, minute, from, to);
            }
        }

        requests.Sort(static (a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.Model + a.Node, b.Model + b.Node));
        return requests;
    }

    /// <summary>
    /// The demand factor of <paramref name="model"/> in the minute holding <paramref name="time"/>: 1 is the peak;
    /// spikes raise it, an Xid on one of the model's GPUs lowers it to the served share.
    /// </summary>
    public double Demand(string model, DateTimeOffset time)
    {
        long minute = time.ToUnixTimeSeconds() / 60;
        var minuteStart = DateTimeOffset.FromUnixTimeSeconds(minute * 60);
        double hour = minuteStart.UtcDateTime.TimeOfDay.TotalHours;
        double diurnal = 0.35 + (0.65 * (0.5 - (0.5 * Math.Cos(2 * Math.PI * (hour - 3) / 24))));
        double weekly = minuteStart.UtcDateTime.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 0.6 : 1;
        double noise = 1 + (0.08 * _random.Signed(DemandStream ^ SimulationRandom.StreamOf(model), minute));
        double factor = diurnal * weekly * noise;
        foreach ((SimulatedFaultOptions fault, DateTimeOffset start, DateTimeOffset end) in _faults)
        {
            if (minuteStart < start || minuteStart >= end)
            {
                continue;
            }

            if (fault.Kind == FaultKind.DemandSpike && string.Equals(fault.Model, model, StringComparison.Ordinal))
            {
                factor *= fault.Factor;
            }
            else if (fault.Kind == FaultKind.XidError && string.Equals(PoolOf(fault)?.ServedModel, model, StringComparison.Ordinal))
            {
                factor *= fault.Factor;
            }
        }

        return factor;
    }

    private void AddRequests(List<SimulatedRequest> requests, SimulatedModelOptions model, long minute, DateTimeOffset from, DateTimeOffset to)
    {
        SimulatedGpu[] serving = _servingGpus[model.Name];
        if (serving.Length == 0)
        {
            return;
        }

        ulong stream = SimulationRandom.StreamOf(model.Name);
        double rate = model.PeakRequestsPerMinute * Demand(model.Name, DateTimeOffset.FromUnixTimeSeconds(minute * 60));
        int count = Math.Min(_options.MaxRequestsPerMinute, (int)Math.Floor(rate + _random.Uniform(CountStream ^ stream, minute)));
        TokenSizeDistribution sizes = TokenSizeDistribution.For(model.TokenProfile);
        for (int k = 0; k < count; k++)
        {
            long key = (minute * 1_000_000) + k;
            var timestamp = DateTimeOffset.FromUnixTimeMilliseconds((minute * 60_000) + (long)(_random.Uniform(TimestampStream ^ stream, key) * 60_000));
            if (timestamp < from || timestamp >= to)
            {
                continue;
            }

            double u = _random.Uniform(TenantStream ^ stream, key);
            int tenant = Array.FindIndex(_tenantCumulativeShare, c => u < c);
            SimulatedGpu gpu = serving[(int)(_random.Hash(GpuStream ^ stream, key) % (ulong)serving.Length)];
            int prompt = sizes.PromptTokens(_random.Uniform(PromptStream ^ stream, key));
            int completion = sizes.CompletionTokens(_random.Uniform(CompletionStream ^ stream, key));
            double ttft = Math.Round(30 + (prompt * model.MillisecondsPerPromptToken), 1);
            requests.Add(new SimulatedRequest(timestamp, model.Name, _options.Tenants[tenant < 0 ? ^1 : tenant].Name, gpu.Pool, gpu.Node,
                prompt, completion, ttft, Math.Round(ttft + (completion * model.MillisecondsPerCompletionToken), 1)));
        }
    }

    private GpuReading Read(SimulatedGpu gpu, DateTimeOffset time)
    {
        long second = time.ToUnixTimeSeconds();
        string? servedModel = gpu.ServedModel;
        string? pod = gpu.Pod;
        double utilization = 0;
        long xid = 0;
        bool zombie = false, stuck = false, xidActive = false;
        foreach ((SimulatedFaultOptions fault, DateTimeOffset start, DateTimeOffset end) in _faults)
        {
            if (time < start || time >= end || fault.Kind is FaultKind.DemandSpike or FaultKind.DriverRestart || !OnGpu(fault, gpu))
            {
                continue;
            }

            switch (fault.Kind)
            {
                case FaultKind.Zombie:
                    zombie = true;
                    servedModel = fault.Model;
                    pod = fault.Model + "-0";
                    break;
                case FaultKind.StuckAtZero:
                    stuck = true;
                    servedModel = fault.Model;
                    pod = fault.Model + "-0";
                    break;
                case FaultKind.XidError:
                    xidActive = true;
                    xid = fault.XidCode;
                    break;
            }
        }

        SimulatedPoolOptions pool = _options.Pools.First(p => string.Equals(p.Name, gpu.Pool, StringComparison.Ordinal));
        if (zombie)
        {
            utilization = 96 + (2 * _random.Signed(UtilizationStream, gpu.Ordinal, second));
        }
        else if (!stuck && !xidActive && servedModel is not null)
        {
            utilization = (pool.PeakUtilizationPercent * Demand(servedModel, time)) + (3 * _random.Signed(UtilizationStream, gpu.Ordinal, second));
        }

        utilization = Math.Round(Math.Clamp(utilization, 0, 100));
        double range = gpu.Model.MaxPowerWatts - gpu.Model.IdlePowerWatts;
        double power = gpu.Model.IdlePowerWatts + (0.9 * range * utilization / 100) + (0.01 * range * _random.Signed(PowerStream, gpu.Ordinal, second));
        power = Math.Round(Math.Clamp(power, gpu.Model.IdlePowerWatts, gpu.Model.MaxPowerWatts), 3);
        int memoryUsed = pod is null ? 0 : (int)(gpu.Model.MemoryTotalMebibytes * 0.88);
        double temperature = Math.Round(28 + (45 * (power - gpu.Model.IdlePowerWatts) / range));
        return new GpuReading(gpu, time, utilization, power, 0, xid, pod, servedModel, memoryUsed, temperature);
    }

    private SimulatedPoolOptions? PoolOf(SimulatedFaultOptions fault) =>
        _options.Pools.FirstOrDefault(p => string.Equals(p.Name, fault.Pool, StringComparison.Ordinal));

    private bool OnNode(SimulatedFaultOptions fault, SimulatedGpu gpu) =>
        string.Equals(fault.Pool, gpu.Pool, StringComparison.Ordinal) && PoolOf(fault) is { } pool && string.Equals(NodeName(pool, fault.NodeIndex), gpu.Node, StringComparison.Ordinal);

    private bool OnGpu(SimulatedFaultOptions fault, SimulatedGpu gpu) => OnNode(fault, gpu) && fault.GpuIndex == gpu.Index;
}
