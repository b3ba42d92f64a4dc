using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// Prices as data: hardware per pool, GPU model or default, energy, revenue, pool → model mapping and idle
/// thresholds. Loaded and validated by <see cref="PricingFileReader"/>; the format is in <c>docs/pricing.md</c>.
/// </summary>
public sealed class PricingFile
{
    private readonly IReadOnlyDictionary<string, PriceEntry> _pools;
    private readonly IReadOnlyDictionary<string, PriceEntry> _gpus;
    private readonly IReadOnlyDictionary<string, double> _revenue;
    private readonly IReadOnlyDictionary<string, string> _poolModels;
    private readonly IReadOnlyDictionary<string, IdleThresholds> _idlePools;

    public PricingFile(
        EnergyPricing energy,
        PriceEntry? defaultEntry,
        IReadOnlyDictionary<string, PriceEntry> pools,
        IReadOnlyDictionary<string, PriceEntry> gpus,
        IReadOnlyDictionary<string, double> revenueUsdPerMillionTokens,
        IReadOnlyDictionary<string, string> poolModels,
        IdleThresholds idle,
        IReadOnlyDictionary<string, IdleThresholds> idlePools)
    {
        Energy = energy;
        Default = defaultEntry;
        _pools = pools;
        // Keys in either form ("H100" or "NVIDIA H100 80GB HBM3") match: both sides go through the one normaliser.
        _gpus = gpus.ToDictionary(g => GpuModelName.Canonical(g.Key) ?? g.Key, g => g.Value, StringComparer.Ordinal);
        _revenue = revenueUsdPerMillionTokens;
        _poolModels = poolModels;
        Idle = idle;
        _idlePools = idlePools;
    }

    public EnergyPricing Energy { get; }

    public PriceEntry? Default { get; }

    /// <summary>Every hardware entry: the pools', then the GPU models', then the default (for listing the prices in force).</summary>
    public IReadOnlyList<PriceEntry> Entries =>
        [.. _pools.Values.OrderBy(e => e.Key, StringComparer.Ordinal), .. _gpus.Values.OrderBy(e => e.Key, StringComparer.Ordinal), .. Default is null ? [] : new[] { Default }];

    /// <summary>The configured revenue per 1M tokens, by model.</summary>
    public IReadOnlyDictionary<string, double> RevenueUsdPerMillionTokensByModel => _revenue;

    /// <summary>Idle thresholds for pools without their own override.</summary>
    public IdleThresholds Idle { get; }

    /// <summary>The price of a GPU: its pool's entry, else its model's entry, else the default entry.</summary>
    public bool TryResolve(string? pool, string? gpuModel, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PriceEntry? entry)
    {
        if (pool is not null && _pools.TryGetValue(pool, out entry))
        {
            return true;
        }

        if (GpuModelName.Canonical(gpuModel) is { } key && _gpus.TryGetValue(key, out entry))
        {
            return true;
        }

        entry = Default;
        return entry is not null;
    }

    /// <summary>As <see cref="TryResolve"/>, throwing <see cref="KeyNotFoundException"/> when nothing matches.</summary>
    public PriceEntry Resolve(string? pool, string? gpuModel)
    {
        return TryResolve(pool, gpuModel, out PriceEntry? entry)
            ? entry
            : throw new KeyNotFoundException($"No price for pool '{pool}', GPU model '{gpuModel}' and no default entry.");
    }

    /// <summary>The default weight of a completion token against a prompt token in the cost split.</summary>
    public const double DefaultCompletionTokenWeight = 4.0;

    /// <summary>
    /// How many prompt tokens one completion token costs in the prompt/completion split (docs/analytics.md): a
    /// window's cost is shared over prompt + weight × completion tokens.
    /// </summary>
    public double CompletionTokenWeight { get; init; } = DefaultCompletionTokenWeight;

    /// <summary>How far back the peak sustained tokens/s per GPU of a model is looked for when not configured.</summary>
    public TimeSpan CapacityLookback { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Configured peak tokens/s per GPU per model, overriding the observed peak.</summary>
    public IReadOnlyDictionary<string, double> MaxTokensPerSecondPerGpu { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Revenue per 1M tokens for a model, when configured.</summary>
    public double? RevenueUsdPerMillionTokens(string model) => _revenue.TryGetValue(model, out double usd) ? usd : null;

    /// <summary>The model a pool serves, when the file maps it.</summary>
    public string? ServedModelForPool(string pool) => _poolModels.TryGetValue(pool, out string? model) ? model : null;

    /// <summary>The pool's idle thresholds, or the file-wide ones.</summary>
    public IdleThresholds IdleThresholdsFor(string? pool)
    {
        return pool is not null && _idlePools.TryGetValue(pool, out IdleThresholds? thresholds) ? thresholds : Idle;
    }

    /// <summary>The longest idle minimum duration of any pool: how far past a window's edges an idle run must be seen to be judged whole.</summary>
    public TimeSpan LongestIdleMinimumDuration => _idlePools.Values.Select(t => t.MinimumDuration).Append(Idle.MinimumDuration).Max();
}
