using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Tests.Output;

/// <summary>
/// A hand-made report of 7 days compared with the 7 before, with every section filled: 3 pools, 2 models with revenue,
/// anomalies, a 24-hour forecast of both models. Its figures are arbitrary but distinct, so a value printed in the wrong
/// row cannot pass for the right one.
/// </summary>
internal static class SampleReport
{
    public static readonly DateTimeOffset From = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset To = From.AddDays(7);

    private static ReportFigure Fig(double? current, double? previous) => new(current, previous);

    public static EfficiencyReport Create(bool withRevenue = true)
    {
        var fleet = new FleetFigures
        {
            GpuHours = Fig(2688, 2650.5),
            UtilizedGpuHours = Fig(1510.25, 1402.75),
            UtilizationPercent = Fig(56.1849, 52.9240),
            PromptTokens = Fig(8.1234e9, 7.9e9),
            CompletionTokens = Fig(2.0456e9, 1.98e9),
            Tokens = Fig(10.169e9, 9.88e9),
            RequestCount = Fig(4_120_333, 3_998_120),
            MaxTokens = Fig(21.5e9, 21.2e9),
            CapacityUtilizationPercent = Fig(47.2977, 46.6038),
            IdleGpuHours = Fig(612.5, 701.25),
            IdleCostUsd = Fig(1432.17, 1640.02),
            IdleSharePercent = Fig(22.7865, 26.4573),
            IdleCostSharePercent = Fig(18.1234, 20.9876),
            CostUsd = Fig(7902.33, 7814.18),
            CapexUsd = Fig(4120.5, 4063.44),
            OpexUsd = Fig(1204.91, 1190.01),
            EnergyCostUsd = Fig(1176.92, 1160.73),
            RentalUsd = Fig(1400.00, 1400.00),
            EnergyCostSharePercent = Fig(14.8933, 14.8542),
            GpuEnergyKilowattHours = Fig(7431.2, 7302.9),
            NodeEnergyKilowattHours = Fig(null, null),
            FacilityEnergyKilowattHours = Fig(9660.56, 9493.77),
            Pue = Fig(1.3, 1.3),
            TokensPerKilowattHour = Fig(1_052_625.6, 1_040_685.4),
            JoulesPerToken = Fig(3.4201, 3.4593),
            TokensPerSecondPerWatt = Fig(0.2924, 0.2891),
            CostPerMillionTokensUsd = Fig(0.7771, 0.7909),
            CostPerMillionPromptTokensUsd = Fig(0.6123, 0.6301),
            CostPerMillionCompletionTokensUsd = Fig(1.4321, 1.4455),
            RevenueUsd = withRevenue ? Fig(12_204.8, 11_856) : Fig(null, null),
            RoiPercent = withRevenue ? Fig(54.4453, 51.7245) : Fig(null, null),
            MarginPerMillionTokensUsd = withRevenue ? Fig(0.4231, 0.4091) : Fig(null, null),
            LatencyP50Ms = Fig(182.4, 190.1),
            LatencyP95Ms = Fig(611.9, 640.2),
            ThroughputTokensPerSecond = Fig(16_813.82, 16_335.98),
        };

        PoolFigures Pool(string name, double gpuHours, double utilization, double idle, double idleCost, double share, double cost, double previousIdleCost, double previousShare) => new()
        {
            Pool = name,
            GpuHours = Fig(gpuHours, null),
            UtilizationPercent = Fig(utilization, null),
            IdleGpuHours = Fig(idle, null),
            IdleCostUsd = Fig(idleCost, previousIdleCost),
            IdleSharePercent = Fig(share, previousShare),
            CostUsd = Fig(cost, null),
        };

        ModelFigures Model(string name, double tokens, double cost, double perMillion, double previousPerMillion, double p50, double p95) => new()
        {
            Model = name,
            GpuHours = Fig(tokens / 4e6, null),
            PromptTokens = Fig(tokens * 0.8, null),
            CompletionTokens = Fig(tokens * 0.2, null),
            Tokens = Fig(tokens, null),
            CostUsd = Fig(cost, null),
            CostPerMillionTokensUsd = Fig(perMillion, previousPerMillion),
            CostPerMillionPromptTokensUsd = Fig(perMillion * 0.8, null),
            CostPerMillionCompletionTokensUsd = Fig(perMillion * 1.9, null),
            TokensPerKilowattHour = Fig(987_654.3 + tokens / 1e6, null),
            JoulesPerToken = Fig(3.6449, null),
            CapacityUtilizationPercent = Fig(44.125, null),
            RevenueUsd = withRevenue ? Fig(cost * 1.5, null) : Fig(null, null),
            MarginPerMillionTokensUsd = withRevenue ? Fig(perMillion * 0.5, null) : Fig(null, null),
            LatencyP50Ms = Fig(p50, null),
            LatencyP95Ms = Fig(p95, null),
        };

        var timeline = Enumerable.Range(0, 7).Select(d => new TimelinePoint(
            From.AddDays(d), 384, 50 + (d * 1.75) + (d % 2 * 4), 101 - (d * 3.5), 234 - (d * 7.25), 1128.9 + d, 1380.08 + (d * 10), 1.45e9 + (d * 1e7), 1_056_000 - (d * 1000) - (d % 3 * 2500))).ToList();

        DateTimeOffset[] hours = [.. Enumerable.Range(0, 24).Select(h => To.AddHours(h))];
        ModelForecast Forecast(string model, double baseTokens, double capacity) => new()
        {
            Model = model,
            Method = "holt-winters",
            IssuedAt = To,
            GpusInFleet = 8,
            TokensPerSecondPerGpu = capacity / 3600 / 8,
            Hours = [.. hours.Select((h, i) => new ForecastHour(h, baseTokens + (i * 1e6), baseTokens * 0.9, baseTokens * 1.1 + (i * 1e6), capacity, 6, 2 - (i * 0.01), 4.6))],
            ProjectedIdleGpuHours = 45.24,
            ProjectedIdleCostUsd = 104.05,
        };

        return new EfficiencyReport
        {
            Period = new ReportPeriod(From, To),
            PreviousPeriod = new ReportPeriod(From.AddDays(-7), From),
            Summary =
            [
                "From 2026-11-23 00:00 UTC to 2026-11-30 00:00 UTC the fleet ran 2,688 GPU-hours at 56.2 % mean utilization (+3.3 points).",
                "Idle capacity cost $1,432.17 (18.1 % of spend), down from $1,640.02; pool a100-train idled most.",
            ],
            Fleet = fleet,
            Pools =
            [
                Pool("a100-train", 1344, 61.25, 201.5, 512.34, 14.9926, 3902.11, 601.2, 17.3),
                Pool("h100-serve", 896, 58.5, 260.75, 701.88, 29.1016, 2987.65, 790.45, 31.2),
                Pool("l4-batch", 448, 33.375, 150.25, 217.95, 33.5379, 1012.57, 248.37, 35.01),
            ],
            Models =
            [
                Model("llama-3-70b", 6.1e9, 5104.22, 0.8367, 0.8512, 201.3, 702.6),
                Model("mistral-7b", 4.069e9, 2798.11, 0.6877, 0.7001, 95.2, 310.8),
            ],
            Tariff = new ReportTariff(0.12, "Europe/Amsterdam", [new ReportTariffPeriod("peak", 0.21, 8, 20, ["Mon", "Tue", "Wed", "Thu", "Fri"])], 1.3),
            Anomalies = new AnomalySection
            {
                Info = Fig(3, 1),
                Warning = Fig(2, 4),
                Critical = Fig(1, 0),
                Total = Fig(6, 5),
                Events =
                [
                    new ReportAnomaly(To.AddHours(-5), "critical", "seasonal-residual", "gpu", "node-3/gpu-1", "power_watts", 712.5, 398.2),
                    new ReportAnomaly(To.AddHours(-30), "warning", "spectral-residual", "model", "mistral-7b", "latency_p95_ms", 1204.7, null),
                ],
                ListedLimit = 50,
            },
            Forecast = new ForecastSection
            {
                Available = true,
                Horizon = new ReportPeriod(To, To.AddHours(24)),
                TargetUtilization = 0.8,
                Models = [Forecast("llama-3-70b", 3.1e7, 5.2e7), Forecast("mistral-7b", 2.2e7, 4.4e7)],
                ProjectedIdleGpuHours = 90.48,
                ProjectedIdleCostUsd = 208.1,
            },
            Timeline = timeline,
            TimelineStep = TimeSpan.FromDays(1),
            Method = new MethodNotes
            {
                Definitions = ReportDefinitions.All,
                PricingInputs = [new PricingInput("gpus.H100 capex", 0.7705, "$/GPU-h"), new PricingInput("energy.base", 0.12, "$/kWh")],
                NotMeasured = ["Node power is not in the data: node energy is not measured and facility energy covers the GPUs only."],
                Notes = ["Windows computed before rental was split from opex would carry it inside opex; these carry it apart."],
            },
            Reproducibility = new Reproducibility
            {
                PricingFileSha256 = "3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081",
                InputsSha256 = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d",
                CostWindowPoints = 5376,
                IdleWindowPoints = 1204,
                AnomalyEventPoints = 11,
                ForecastPoints = 48,
                SoftwareVersion = "0.12.0",
                Commit = "5d1a833",
            },
        };
    }
}
