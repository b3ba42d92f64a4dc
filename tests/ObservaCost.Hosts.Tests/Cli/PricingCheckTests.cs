using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Cli;

/// <summary><c>pricing check FILE</c> on the shipped example and on broken files.</summary>
public sealed class PricingCheckTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-pricing-" + Guid.NewGuid().ToString("N")[..12]);

    public PricingCheckTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Example => Path.Combine(RepoPaths.Root, "docs", "pricing.example.json");

    [Fact]
    public async Task Check_ExampleFile_PrintsTheH100SplitWorkedOutByHand()
    {
        CliRun run = await CliRun.RunAsync("pricing", "check", Example);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Errors);
        // gpus.H100 is owned: purchase 30,000 $, salvage 3,000 $, 4 years, opex 0.35 $/GPU-h.
        //   capex  = (30,000 − 3,000) / (4 × 8,760 h) = 27,000 / 35,040 = 0.770548 $/GPU-h → 0.7705
        //   energy at the H100's 700 W TDP  = 0.700 kW × PUE 1.3 × 0.12 $/kWh (base tariff) = 0.109200 → 0.1092
        //   energy at its 69.85 W idle draw = 0.06985 kW × 1.3 × 0.12 = 0.010897 → 0.0109
        //   total at TDP = 0.770548 + 0.35 + 0.1092 = 1.229748 → 1.2297
        Assert.Equal(["gpus.H100", "owned", "0.7705", "0.3500", "0.0000", "0.1092 (700 W)", "0.0109 (69.85 W)", "1.2297"], Row(run.Output, "gpus.H100"));
        // The default entry is rented on demand at 2.5 $/GPU-h with the energy included: nothing else is added.
        Assert.Equal(["default", "rented on-demand, energy included", "0.0000", "0.0000", "2.5000", "included", "included", "2.5000"], Row(run.Output, "default"));
        // The spot pool's rate, and the tariff windows: base 0.12, weekday peak 0.28 from 08 to 20 Mon–Fri, night 0.08 every day.
        Assert.Equal("0.9000", Row(run.Output, "pools.batch-spot")[4]);
        Assert.Equal(["weekday-peak", "0.2800", "08–20", "Mon Tue Wed Thu Fri"], Row(run.Output, "weekday-peak"));
        Assert.Equal(["night", "0.0800", "00–06", "every day"], Row(run.Output, "night"));
        Assert.Contains("PUE 1.30", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_ExampleFile_ListsTheCarbonSettings()
    {
        CliRun run = await CliRun.RunAsync("pricing", "check", Example);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Carbon intensity: illustrative German grid averages: time-of-use schedule (2 periods, Europe/Berlin, base 380 gCO2e/kWh).", run.Output, StringComparison.Ordinal);
        Assert.Equal(["midday-solar", "250.0", "10–16", "every day"], Row(run.Output, "midday-solar"));
        Assert.Equal(["evening-peak", "450.0", "17–21", "every day"], Row(run.Output, "evening-peak"));
        // H100: 1,500 kg over its 4 depreciation years = 1,500,000 g / 35,040 h = 42.808219… → 42.81 g per GPU-hour;
        // L40S: 600 kg over 3 years = 600,000 / 26,280 = 22.831050… → 22.83.
        Assert.Contains("Embodied carbon gpus.H100: 1500 kgCO2e per GPU over 4.0 years = 42.81 gCO2e per GPU-hour.", run.Output, StringComparison.Ordinal);
        Assert.Contains("Embodied carbon gpus.L40S: 600 kgCO2e per GPU over 3.0 years = 22.83 gCO2e per GPU-hour.", run.Output, StringComparison.Ordinal);
        Assert.Contains("Embodied carbon default: not given (0).", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_BrokenFile_IsOneLineNamingTheKeyAndExitCode2()
    {
        string broken = Path.Combine(_dir, "pricing.json");
        string text = await File.ReadAllTextAsync(Example);
        await File.WriteAllTextAsync(broken, text.Replace("\"salvageUsd\": 3000", "\"salvageUsd\": -3000", StringComparison.Ordinal));

        CliRun run = await CliRun.RunAsync("pricing", "check", broken);

        Assert.Equal(2, run.ExitCode);
        string line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"pricing check: {broken}: $.gpus.H100.owned.salvageUsd: ", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Output);
    }

    [Fact]
    public async Task Check_MissingFile_IsOneLineAndExitCode2()
    {
        CliRun run = await CliRun.RunAsync("pricing", "check", Path.Combine(_dir, "absent.json"));

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("pricing check: " + Path.Combine(_dir, "absent.json") + ": ", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    /// <summary>The cells of the table row whose first cell is <paramref name="first"/>.</summary>
    private static string[] Row(string output, string first) =>
        output.Split('\n')
            .Select(l => l.Split('│', StringSplitOptions.TrimEntries))
            .Where(cells => cells.Length > 2)
            .Select(cells => cells[1..^1])
            .Single(cells => cells[0] == first);
}
