namespace ObservaCost.Reporting.Reports;

/// <summary>A figure of a section with its definition: what the writers list, in this order.</summary>
public sealed record DefinedFigure(KpiDefinition Definition, ReportFigure Figure);

/// <summary>
/// Every KPI of the report in one sentence with its formula and unit, and the one list of which member of
/// <see cref="FleetFigures"/>, <see cref="PoolFigures"/> and <see cref="ModelFigures"/> each is: the method notes, the
/// CSV and the Markdown all read their names, units and order from here.
/// </summary>
public static class ReportDefinitions
{
    private static readonly (KpiDefinition Definition, Func<FleetFigures, ReportFigure> Figure)[] Fleet =
    [
        (new("gpuHours", "GPU-hours", "GPU-h", "GPU-hours charged: every GPU in the data for the time it was seen, summed over the stored cost windows."), f => f.GpuHours),
        (new("utilizedGpuHours", "Utilized GPU-hours", "GPU-h", "GPU-hours × the GPU's mean utilization in each window, summed."), f => f.UtilizedGpuHours),
        (new("utilizationPercent", "Mean utilization", "%", "Utilized GPU-hours / GPU-hours × 100."), f => f.UtilizationPercent),
        (new("promptTokens", "Prompt tokens", "tokens", "Prompt tokens served, summed over the cost windows."), f => f.PromptTokens),
        (new("completionTokens", "Completion tokens", "tokens", "Completion tokens served, summed over the cost windows."), f => f.CompletionTokens),
        (new("tokens", "Tokens served", "tokens", "Prompt tokens + completion tokens."), f => f.Tokens),
        (new("requestCount", "Requests", "requests", "Requests served, summed over the cost windows."), f => f.RequestCount),
        (new("maxTokens", "Maximum capacity", "tokens", "Tokens the GPU-hours could have served: each model's GPU-hours × its peak sustained tokens/s per GPU × 3,600 s, summed (the cost windows' max_tokens)."), f => f.MaxTokens),
        (new("capacityUtilizationPercent", "Usable vs maximum capacity", "%", "Tokens served / maximum capacity × 100."), f => f.CapacityUtilizationPercent),
        (new("idleGpuHours", "Idle GPU-hours", "GPU-h", "GPU-hours below the pool's idle utilization threshold for at least its minimum duration, summed over the stored idle windows."), f => f.IdleGpuHours),
        (new("idleCostUsd", "Idle cost", "USD", "Hardware and energy dollars of the idle GPU-hours, summed over the idle windows (a part of the spend, not extra)."), f => f.IdleCostUsd),
        (new("idleSharePercent", "Idle share", "%", "Idle GPU-hours / GPU-hours × 100."), f => f.IdleSharePercent),
        (new("idleCostSharePercent", "Idle cost share", "%", "Idle cost / spend × 100."), f => f.IdleCostSharePercent),
        (new("costUsd", "Spend", "USD", "Capex + opex + rental + energy cost, summed over the cost windows."), f => f.CostUsd),
        (new("capexUsd", "Capex", "USD", "GPU-hours of owned hardware × (purchase − salvage) / (depreciation years × 8,760 h)."), f => f.CapexUsd),
        (new("opexUsd", "Opex", "USD", "GPU-hours of owned hardware × its opex per GPU-hour (plus the rental of cost windows computed before rental was split from opex, when rental is not measured)."), f => f.OpexUsd),
        (new("energyCostUsd", "Energy cost", "USD", "Facility energy × the tariff rate in force at each moment, when the energy is billed separately."), f => f.EnergyCostUsd),
        (new("rentalUsd", "Rental", "USD", "GPU-hours of rented hardware × its rental price per GPU-hour; not measured when a cost window of the period was computed before rental was split from opex."), f => f.RentalUsd),
        (new("energyCostSharePercent", "Energy cost share", "%", "Energy cost / spend × 100."), f => f.EnergyCostSharePercent),
        (new("gpuEnergyKilowattHours", "GPU energy", "kWh", "GPU energy from the energy counters, else the integral of the power samples, / 3.6e6 J/kWh."), f => f.GpuEnergyKilowattHours),
        (new("nodeEnergyKilowattHours", "Node energy", "kWh", "Non-GPU node energy (the pricing file's node power shared over the node's GPUs) / 3.6e6 J/kWh."), f => f.NodeEnergyKilowattHours),
        (new("facilityEnergyKilowattHours", "Facility energy", "kWh", "(GPU energy + node energy) × PUE."), f => f.FacilityEnergyKilowattHours),
        (new("pue", "PUE", "ratio", "Facility energy / (GPU energy + node energy)."), f => f.Pue),
        (new("tokensPerKilowattHour", "Tokens per kWh", "tokens/kWh", "Tokens served / facility energy in kWh."), f => f.TokensPerKilowattHour),
        (new("joulesPerToken", "Joules per token", "J/token", "Facility energy in J / tokens served."), f => f.JoulesPerToken),
        (new("tokensPerSecondPerWatt", "Performance per watt", "tokens/s/W", "Throughput in tokens/s / mean facility power in W = tokens / facility energy in J."), f => f.TokensPerSecondPerWatt),
        (new("costPerMillionTokensUsd", "Cost per 1M tokens", "USD/1M tokens", "Spend / tokens served × 1,000,000."), f => f.CostPerMillionTokensUsd),
        (new("costPerMillionPromptTokensUsd", "Cost per 1M prompt tokens", "USD/1M tokens", "The spend charged to prompt tokens by the prompt/completion split / prompt tokens × 1,000,000."), f => f.CostPerMillionPromptTokensUsd),
        (new("costPerMillionCompletionTokensUsd", "Cost per 1M completion tokens", "USD/1M tokens", "The spend charged to completion tokens by the split / completion tokens × 1,000,000."), f => f.CostPerMillionCompletionTokensUsd),
        (new("revenueUsd", "Revenue", "USD", "Tokens of each model with a configured price × its revenue per 1M tokens / 1,000,000, summed."), f => f.RevenueUsd),
        (new("roiPercent", "ROI", "%", "(revenue − spend) / spend × 100, over the whole spend."), f => f.RoiPercent),
        (new("marginPerMillionTokensUsd", "Margin per 1M tokens", "USD/1M tokens", "(revenue − spend) / tokens served × 1,000,000."), f => f.MarginPerMillionTokensUsd),
        (new("latencyP50Ms", "Latency p50", "ms", "Mean over the stored windows of each window's median request latency (percentiles do not add)."), f => f.LatencyP50Ms),
        (new("latencyP95Ms", "Latency p95", "ms", "Mean over the stored windows of each window's 95th-percentile request latency."), f => f.LatencyP95Ms),
        (new("throughputTokensPerSecond", "Throughput", "tokens/s", "Tokens served / the period's length in seconds."), f => f.ThroughputTokensPerSecond),
        (new("co2eKilograms", "Carbon", "kgCO2e", "Operational + embodied carbon, summed over the cost windows / 1,000; not measured when a window of the period has no carbon (no intensity configured, or computed before carbon)."), f => f.Co2eKilograms),
        (new("operationalCo2eKilograms", "Operational carbon", "kgCO2e", "Facility energy (GPU and node, PUE included) × the grid's carbon intensity in force at each moment (method notes: carbon intensity) / 1,000."), f => f.OperationalCo2eKilograms),
        (new("embodiedCo2eKilograms", "Embodied carbon", "kgCO2e", "GPU-hours × the GPU's embodied carbon / (amortisation years × 8,760 h), from the pricing file's embodiedCarbon entries / 1,000."), f => f.EmbodiedCo2eKilograms),
        (new("idleCo2eKilograms", "Idle carbon", "kgCO2e", "Operational and embodied carbon of the idle GPU-hours, summed over the idle windows (a part of the carbon, not extra)."), f => f.IdleCo2eKilograms),
        (new("co2eGramsPerMillionTokens", "Carbon per 1M tokens", "gCO2e/1M tokens", "Carbon in grams / tokens served × 1,000,000."), f => f.Co2eGramsPerMillionTokens),
    ];

    private static readonly (string Key, Func<PoolFigures, ReportFigure> Figure)[] Pool =
    [
        ("gpuHours", p => p.GpuHours), ("utilizationPercent", p => p.UtilizationPercent), ("idleGpuHours", p => p.IdleGpuHours),
        ("idleCostUsd", p => p.IdleCostUsd), ("idleSharePercent", p => p.IdleSharePercent), ("costUsd", p => p.CostUsd),
        ("co2eKilograms", p => p.Co2eKilograms), ("idleCo2eKilograms", p => p.IdleCo2eKilograms),
    ];

    private static readonly (string Key, Func<ModelFigures, ReportFigure> Figure)[] Model =
    [
        ("gpuHours", m => m.GpuHours), ("promptTokens", m => m.PromptTokens), ("completionTokens", m => m.CompletionTokens), ("tokens", m => m.Tokens),
        ("costUsd", m => m.CostUsd), ("costPerMillionTokensUsd", m => m.CostPerMillionTokensUsd),
        ("costPerMillionPromptTokensUsd", m => m.CostPerMillionPromptTokensUsd), ("costPerMillionCompletionTokensUsd", m => m.CostPerMillionCompletionTokensUsd),
        ("tokensPerKilowattHour", m => m.TokensPerKilowattHour), ("joulesPerToken", m => m.JoulesPerToken),
        ("capacityUtilizationPercent", m => m.CapacityUtilizationPercent), ("revenueUsd", m => m.RevenueUsd),
        ("marginPerMillionTokensUsd", m => m.MarginPerMillionTokensUsd), ("latencyP50Ms", m => m.LatencyP50Ms), ("latencyP95Ms", m => m.LatencyP95Ms),
        ("co2eKilograms", m => m.Co2eKilograms), ("co2eGramsPerMillionTokens", m => m.Co2eGramsPerMillionTokens),
    ];

    private static readonly Dictionary<string, KpiDefinition> ByKey = Fleet.ToDictionary(f => f.Definition.Key, f => f.Definition, StringComparer.Ordinal);

    /// <summary>Every KPI's definition, in the report's order.</summary>
    public static IReadOnlyList<KpiDefinition> All { get; } = [.. Fleet.Select(f => f.Definition)];

    /// <summary>The definition of a KPI key (the camelCase member name).</summary>
    public static KpiDefinition Of(string key) => ByKey[key];

    public static IReadOnlyList<DefinedFigure> FleetFigures(FleetFigures fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return [.. Fleet.Select(f => new DefinedFigure(f.Definition, f.Figure(fleet)))];
    }

    public static IReadOnlyList<DefinedFigure> PoolFigures(PoolFigures pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return [.. Pool.Select(f => new DefinedFigure(Of(f.Key), f.Figure(pool)))];
    }

    public static IReadOnlyList<DefinedFigure> ModelFigures(ModelFigures model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. Model.Select(f => new DefinedFigure(Of(f.Key), f.Figure(model)))];
    }
}
