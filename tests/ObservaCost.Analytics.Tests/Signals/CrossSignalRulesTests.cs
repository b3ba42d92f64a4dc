using System.Globalization;
using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Signals;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Signals;

/// <summary>
/// Each cross-signal rule on series built from real captures: the H100's power under load and at rest
/// (nvidia-smi dmon, shared/data/nvidia-smi) and the Azure LLM code trace's tokens per minute, with one thing
/// broken per case — and the same series unbroken as the control that must stay quiet.
/// </summary>
public sealed class CrossSignalRulesTests
{
    private static readonly DateTimeOffset T0 = new(2023, 11, 16, 18, 0, 0, TimeSpan.Zero);
    private static readonly CrossSignalOptions Options = new();
    private static readonly double[] LoadWatts = DmonPower("load");
    private static readonly double[] IdleWatts = DmonPower("idle");
    private static readonly double[] TraceTokensPerMinute = TracePerMinute();

    [Fact]
    public void ZombiePower_PowerStaysHighWhileTokensStop_FlagsTheGpuOnceFromTheStall()
    {
        // 20 minutes at rest before traffic, 60 minutes of serving, then the process hangs at full power for 20
        // minutes: no tokens at all. (The rest tells the rule what "high" means for this GPU.)
        GpuSignal gpu = Gpu(100, i => i < 20 ? IdleWatts[i % IdleWatts.Length] : LoadWatts[i % LoadWatts.Length], xid: _ => null);
        ModelTokenSignal tokens = Tokens(100, i => i is >= 20 and < 80 ? TraceTokensPerMinute[i % TraceTokensPerMinute.Length] : 0);

        IReadOnlyList<AnomalyEvent> events = Evaluate(gpu, tokens);

        AnomalyEvent zombie = Assert.Single(events, e => e.Detector == CrossSignalRules.ZombieDetector);
        Assert.Equal(T0.AddMinutes(80), zombie.Time);
        Assert.Equal(AnomalySeverity.Critical, zombie.Severity);
        Assert.InRange(zombie.Value, 631, 636);
        Assert.DoesNotContain(events, e => e.Detector == CrossSignalRules.UnusedAllocationDetector); // 20 min < 30 min
    }

    [Fact]
    public void ZombiePower_TokensKeepFlowing_StaysQuiet()
    {
        GpuSignal gpu = Gpu(100, i => i < 20 ? IdleWatts[i % IdleWatts.Length] : LoadWatts[i % LoadWatts.Length], xid: _ => null);
        ModelTokenSignal tokens = Tokens(100, i => TraceTokensPerMinute[i % TraceTokensPerMinute.Length] + 1);
        Assert.Empty(Evaluate(gpu, tokens));
    }

    [Fact]
    public void UnusedAllocation_HeldAtRestWithNoTokensFor40Minutes_WarnsButIsNoZombie()
    {
        // Serving for an hour at load power, then held by the model at rest (69 W) with no requests for 40 minutes.
        GpuSignal gpu = Gpu(100, i => i < 60 ? LoadWatts[i % LoadWatts.Length] : IdleWatts[i % IdleWatts.Length], xid: _ => null);
        ModelTokenSignal tokens = Tokens(100, i => i < 60 ? TraceTokensPerMinute[i % TraceTokensPerMinute.Length] + 1 : 0);

        IReadOnlyList<AnomalyEvent> events = Evaluate(gpu, tokens);

        AnomalyEvent unused = Assert.Single(events);
        Assert.Equal(CrossSignalRules.UnusedAllocationDetector, unused.Detector);
        Assert.Equal(T0.AddMinutes(60), unused.Time);
        Assert.Equal(40, unused.Magnitude);
    }

    [Fact]
    public void XidThroughputDrop_Xid79ThenTokensCollapse_FlagsTheXidMinute()
    {
        // Xid 79 (GPU fallen off the bus) at minute 50; the trace's tokens stop after it.
        GpuSignal gpu = Gpu(70, i => LoadWatts[i % LoadWatts.Length], xid: i => i >= 50 ? 79 : 0);
        ModelTokenSignal tokens = Tokens(70, i => i < 50 ? TraceTokensPerMinute[i % TraceTokensPerMinute.Length] + 1 : 0);

        AnomalyEvent xid = Assert.Single(Evaluate(gpu, tokens), e => e.Detector == CrossSignalRules.XidDropDetector);
        Assert.Equal(T0.AddMinutes(50), xid.Time);
        Assert.Equal(79, xid.Value);
        Assert.Equal(1.0, xid.Magnitude);
    }

    [Fact]
    public void XidThroughputDrop_XidWithoutThroughputChange_StaysQuiet()
    {
        GpuSignal gpu = Gpu(70, i => LoadWatts[i % LoadWatts.Length], xid: i => i >= 50 ? 13 : 0);
        ModelTokenSignal tokens = Tokens(70, i => TraceTokensPerMinute[i % TraceTokensPerMinute.Length] + 1);
        Assert.DoesNotContain(Evaluate(gpu, tokens), e => e.Detector == CrossSignalRules.XidDropDetector);
    }

    [Fact]
    public void CostDrift_CostPerTokenRisesAtSteadyUtilization_Warns()
    {
        // Six hours: $/1M from 0.167 (the hand-checked fleet's figure) to 0.25 while utilization stays near 60 %.
        double[] cost = [0.167, 0.170, 0.168, 0.230, 0.245, 0.250];
        double[] util = [60, 61, 59, 60, 62, 60];
        AnomalyEvent drift = Assert.Single(CrossSignalRules.CostDrift(Windows(cost, util), T0, T0.AddHours(6), Options));
        Assert.Equal(T0.AddHours(5), drift.Time);
        Assert.Equal((0.230 + 0.245 + 0.250) / 3, drift.Value, 12);
        Assert.Equal((0.167 + 0.170 + 0.168) / 3, drift.ExpectedValue!.Value, 12);
    }

    [Fact]
    public void CostDrift_UtilizationFallsToo_IsNotDrift()
    {
        // The same rise explained by the GPUs doing less: utilization from 60 % to 35 %.
        double[] cost = [0.167, 0.170, 0.168, 0.230, 0.245, 0.250];
        double[] util = [60, 58, 55, 40, 37, 35];
        Assert.Empty(CrossSignalRules.CostDrift(Windows(cost, util), T0, T0.AddHours(6), Options));
    }

    private static IReadOnlyList<AnomalyEvent> Evaluate(GpuSignal gpu, ModelTokenSignal tokens) =>
        CrossSignalRules.Evaluate([gpu], [tokens], [], T0, T0.AddHours(3), Options);

    private static GpuSignal Gpu(int minutes, Func<int, double> watts, Func<int, long?> xid) =>
        new("GPU-H100", "node-a", [.. Enumerable.Range(0, minutes).Select(i => new GpuMinute(T0.AddMinutes(i), watts(i), null, "code-llm", xid(i)))]);

    private static ModelTokenSignal Tokens(int minutes, Func<int, double> perMinute) =>
        new("code-llm", [.. Enumerable.Range(0, minutes).Select(i => new TimedValue(T0.AddMinutes(i), perMinute(i)))]);

    private static ModelWindowSignal Windows(double[] cost, double[] util) =>
        new("code-llm", [.. cost.Select((c, i) => (T0.AddHours(i), c, util[i]))]);

    /// <summary>The power column of the H100's dmon capture.</summary>
    private static double[] DmonPower(string phase) =>
        [.. File.ReadAllLines(RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "query-gpu-csv", $"linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__{phase}__dmon.txt"))
            .Where(l => !l.StartsWith('#'))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture))];

    /// <summary>Tokens per minute of the Azure code trace from its first full minute, 18:18.</summary>
    private static double[] TracePerMinute()
    {
        var perMinute = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(RepoPaths.Data("llm-traces", "azure-llm-inference-2023", "AzureLLMInferenceTrace_code.csv")).Skip(1))
        {
            string[] cells = line.Split(',');
            string minute = cells[0][..16];
            perMinute[minute] = perMinute.GetValueOrDefault(minute) + double.Parse(cells[1], CultureInfo.InvariantCulture) + double.Parse(cells[2], CultureInfo.InvariantCulture);
        }

        return [.. perMinute.Where(p => string.CompareOrdinal(p.Key, "2023-11-16 18:18") >= 0).Select(p => p.Value)];
    }
}
