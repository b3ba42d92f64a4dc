using System.Globalization;
using System.Text.Json;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Simulator.Model;
using Spectre.Console;

namespace ObservaCost.SingleMachine.Cli;

/// <summary>
/// <c>pricing check FILE</c>: loads the file with the product's own reader (<see cref="PricingFileReader"/>, the one
/// analytics uses) and prints what it understood: one row per price entry (<c>default</c>, <c>gpus.MODEL</c>,
/// <c>pools.NAME</c>) with its $/GPU-hour split into capex, opex, rental and energy, the tariff windows and the PUE.
/// Energy is shown at two sample powers of the entry's GPU model, its board power limit (TDP) and its idle draw
/// (the figures of the simulator's <see cref="GpuModels"/>, taken from real captures): GPU power × PUE × the base
/// tariff; the node's share of <c>nodePowerWatts</c> comes on top in the cost model. An invalid file prints one line
/// per problem, naming its JSON path, and exits with 2. The carbon settings follow: the intensity's source and form,
/// its time-of-use schedule or hourly file, and each entry's embodied carbon per GPU-hour.
/// </summary>
public static class PricingCheck
{
    public static int Run(string file, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(context);
        string json;
        try
        {
            json = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            context.Errors.WriteLine($"pricing check: {file}: {ex.Message}");
            return ObservaCostCli.UsageExitCode;
        }

        if (!PricingFileReader.TryParse(json, out PricingFile? pricing, out IReadOnlyList<PricingError> errors, Path.GetDirectoryName(Path.GetFullPath(file))))
        {
            foreach (PricingError error in errors)
            {
                context.Errors.WriteLine($"pricing check: {file}: {error}");
            }

            return ObservaCostCli.UsageExitCode;
        }

        IAnsiConsole console = context.Console;
        console.WriteLine($"{file}: valid. PUE {Number(pricing.Energy.Pue, 2)}; node power {(pricing.Energy.NodePowerWatts is double w ? Number(w, 0) + " W per node, shared by its GPUs" : "not set")}.");
        console.Write(EntriesTable(pricing, EntryNames(json)));
        console.WriteLine("Energy at a sample power: GPU power × PUE × the base tariff; a GPU model the demo fleet does not know has no sample power (—).");
        console.WriteLine("Rented entries with energy included show no energy: the rental price pays for it.");
        console.Write(TariffTable(pricing.Energy.Tariff));
        WriteCarbon(console, pricing);
        return 0;
    }

    /// <summary>The carbon settings: the intensity's form and source, its schedule, and each entry's embodied carbon.</summary>
    private static void WriteCarbon(IAnsiConsole console, PricingFile pricing)
    {
        if (pricing.Energy.Carbon is not { } carbon)
        {
            console.WriteLine("Carbon: not configured (no carbon section): carbon figures are not measured.");
            return;
        }

        console.WriteLine("Carbon intensity: " + carbon.Describe() + ".");
        if (carbon.Schedule is { Periods.Count: > 0 } schedule)
        {
            var table = new Table().Title($"Carbon intensity schedule ({Markup.Escape(schedule.TimeZone.Id)})");
            table.AddColumn("window");
            table.AddColumn("gCO2e/kWh");
            table.AddColumn("hours");
            table.AddColumn("days");
            table.AddRow("base (any other time)", Number(schedule.BaseUsdPerKilowattHour, 1), "—", "—");
            foreach (TariffPeriod period in schedule.Periods)
            {
                table.AddRow(Markup.Escape(period.Name), Number(period.UsdPerKilowattHour, 1), string.Create(CultureInfo.InvariantCulture, $"{period.StartHour:00}–{period.EndHour:00}"), Days(period));
            }

            console.Write(table);
        }

        if (carbon.Hourly.Count > 0)
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Hourly file {carbon.HourlyFile}: {carbon.Hourly.Count} hours, {carbon.Hourly.Keys.Min():yyyy-MM-dd HH:mm} – {carbon.Hourly.Keys.Max():yyyy-MM-dd HH:mm} UTC, mean {carbon.Hourly.Values.Average():0.#} gCO2e/kWh."));
        }

        foreach (PriceEntry entry in pricing.Entries)
        {
            console.WriteLine(entry.Embodied is { } e
                ? $"Embodied carbon {entry.Key}: {Number(e.KgCo2ePerGpu, 0)} kgCO2e per GPU over {Number(e.AmortisationYears, 1)} years = {Number(entry.EmbodiedCo2eGramsPerGpuHour, 2)} gCO2e per GPU-hour."
                : $"Embodied carbon {entry.Key}: not given (0).");
        }
    }

    private static string Days(TariffPeriod period) =>
        period.Days.Count == 7 ? "every day" : string.Join(' ', period.Days.Order().Select(d => d.ToString()[..3]));

    /// <summary>The energy cost of one GPU-hour at <paramref name="powerWatts"/>: kW × PUE × $/kWh.</summary>
    public static double EnergyUsdPerGpuHour(double powerWatts, double pue, double usdPerKilowattHour) =>
        powerWatts / 1000.0 * pue * usdPerKilowattHour;

    private static Table EntriesTable(PricingFile pricing, IReadOnlyList<(string Key, string? Pool, string? Gpu)> names)
    {
        var table = new Table().Title("$/GPU-hour by price entry");
        foreach (string column in new[] { "entry", "kind", "capex", "opex", "rental", "energy at TDP", "energy at idle", "total at TDP" })
        {
            table.AddColumn(new TableColumn(column));
        }

        double baseRate = pricing.Energy.Tariff.BaseUsdPerKilowattHour;
        foreach ((string key, string? pool, string? gpu) in names)
        {
            PriceEntry? entry = key == "default" ? pricing.Default : pricing.TryResolve(pool, gpu, out PriceEntry? found) ? found : null;
            if (entry is null)
            {
                continue;
            }

            GpuModelSpec? spec = GpuModels.Find(gpu);
            string kind = entry.Owned is not null ? "owned"
                : $"rented {Commitment(entry.Rented!.Commitment)}, energy {(entry.Rented.EnergyIncluded ? "included" : "billed")}";
            string tdp = "—", idle = "—", total = "—";
            if (!entry.EnergyBilledSeparately)
            {
                tdp = idle = "included";
                total = Number(entry.HardwareUsdPerGpuHour, 4);
            }
            else if (spec is not null)
            {
                double atTdp = EnergyUsdPerGpuHour(spec.MaxPowerWatts, pricing.Energy.Pue, baseRate);
                tdp = $"{Number(atTdp, 4)} ({Number(spec.MaxPowerWatts, 0)} W)";
                idle = $"{Number(EnergyUsdPerGpuHour(spec.IdlePowerWatts, pricing.Energy.Pue, baseRate), 4)} ({Number(spec.IdlePowerWatts, 2)} W)";
                total = Number(entry.HardwareUsdPerGpuHour + atTdp, 4);
            }

            table.AddRow(Markup.Escape(key), Markup.Escape(kind), Number(entry.CapexUsdPerGpuHour, 4), Number(entry.OpexUsdPerGpuHour, 4), Number(entry.RentalUsdPerGpuHour, 4), tdp, idle, total);
        }

        return table;
    }

    private static Table TariffTable(EnergyTariff tariff)
    {
        var table = new Table().Title($"Energy tariff ({Markup.Escape(tariff.TimeZone.Id)})");
        table.AddColumn("window");
        table.AddColumn("$/kWh");
        table.AddColumn("hours");
        table.AddColumn("days");
        table.AddRow("base (any other time)", Number(tariff.BaseUsdPerKilowattHour, 4), "—", "—");
        foreach (TariffPeriod period in tariff.Periods)
        {
            table.AddRow(Markup.Escape(period.Name), Number(period.UsdPerKilowattHour, 4), string.Create(CultureInfo.InvariantCulture, $"{period.StartHour:00}–{period.EndHour:00}"), Days(period));
        }

        return table;
    }

    /// <summary>The entries in file order: <c>default</c>, then <c>gpus.MODEL</c>, then <c>pools.NAME</c> (names read from the JSON; prices from the reader).</summary>
    private static IReadOnlyList<(string Key, string? Pool, string? Gpu)> EntryNames(string json)
    {
        var names = new List<(string, string?, string?)>();
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        JsonElement root = document.RootElement;
        if (root.TryGetProperty("default", out _))
        {
            names.Add(("default", null, null));
        }

        if (root.TryGetProperty("gpus", out JsonElement gpus))
        {
            names.AddRange(gpus.EnumerateObject().Select(g => ("gpus." + g.Name, (string?)null, (string?)g.Name)));
        }

        if (root.TryGetProperty("pools", out JsonElement pools))
        {
            names.AddRange(pools.EnumerateObject().Select(p => ("pools." + p.Name, (string?)p.Name, (string?)null)));
        }

        return names;
    }

    private static string Commitment(RentalCommitment commitment) => commitment switch
    {
        RentalCommitment.OnDemand => "on-demand",
        RentalCommitment.Reserved => "reserved",
        _ => "spot",
    };

    private static string Number(double value, int decimals) => value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
