using System.Globalization;
using System.Text.Json;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// Reads a pricing file (JSON, format in <c>docs/pricing.md</c>) and validates all of it at once: first against its
/// JSON Schema (<c>docs/pricing.schema.json</c>, embedded, evaluated with JsonSchema.Net), then the checks a schema
/// cannot express (salvage above purchase, an unknown time zone, a period ending before it starts, overlapping
/// periods, two keys for one GPU model). Every problem is reported with the JSON path where it is; unknown properties
/// are errors (a misspelt key must not be ignored). A valid file is then mapped to the domain's <see cref="PricingFile"/>.
/// </summary>
public static class PricingFileReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = false,
    };

    /// <summary>The carbon schedule's rate property: gCO2e per kWh.</summary>
    private const string CarbonRate = "gco2ePerKilowattHour";

    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>Reads and validates the file at <paramref name="path"/>; throws <see cref="PricingValidationException"/>.</summary>
    public static PricingFile Load(string path)
    {
        return Parse(File.ReadAllText(path), Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses and validates JSON text; throws <see cref="PricingValidationException"/> listing every problem.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="baseDirectory">The pricing file's folder, which a carbon <c>hourlyFile</c> path is relative to; null: the current directory.</param>
    public static PricingFile Parse(string json, string? baseDirectory = null)
    {
        return TryParse(json, out PricingFile? file, out IReadOnlyList<PricingError> errors, baseDirectory)
            ? file
            : throw new PricingValidationException(errors);
    }

    /// <summary>Parses and validates JSON text; on failure <paramref name="errors"/> holds every problem found.</summary>
    public static bool TryParse(
        string json,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PricingFile? file,
        out IReadOnlyList<PricingError> errors,
        string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var found = new List<PricingError>();
        errors = found;
        file = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            found.Add(new PricingError("$", string.Create(
                CultureInfo.InvariantCulture,
                $"not valid JSON at line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}: {ex.Message}")));
            return false;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            found.AddRange(PricingSchema.Validate(root));
            var schemaPaths = new HashSet<string>(found.Select(e => e.Path), StringComparer.Ordinal);
            bool Clean(string path) => !schemaPaths.Any(p => p == path || p.StartsWith(path + ".", StringComparison.Ordinal)
                || p.StartsWith(path + "[", StringComparison.Ordinal));
            IReadOnlyDictionary<DateTimeOffset, double> hourlyCarbon = new Dictionary<DateTimeOffset, double>();
            if (root.ValueKind == JsonValueKind.Object)
            {
                CheckDomain(root, Clean, found);
                hourlyCarbon = ReadHourlyCarbon(root, baseDirectory, Clean, found);
            }

            if (found.Count > 0)
            {
                return false;
            }

            file = Map(root, hourlyCarbon);
            return true;
        }
    }

    /// <summary>The checks the schema cannot express, on the parts of the document the schema accepted.</summary>
    private static void CheckDomain(JsonElement root, Func<string, bool> clean, List<PricingError> errors)
    {
        if (Property(root, "gpus") is { ValueKind: JsonValueKind.Object } gpus)
        {
            foreach (IGrouping<string, string> same in gpus.EnumerateObject().Select(p => p.Name)
                .GroupBy(k => GpuModelName.Canonical(k) ?? k, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                errors.Add(new PricingError("$.gpus", $"the GPU keys {string.Join(", ", same.Select(k => "'" + k + "'"))} name the same GPU model '{same.Key}': keep one"));
            }
        }

        foreach ((string path, JsonElement entry) in PriceEntries(root))
        {
            string ownedPath = Child(path, "owned");
            if (Property(entry, "owned") is { ValueKind: JsonValueKind.Object } owned
                && Number(owned, "purchaseUsd") is double purchase && clean(Child(ownedPath, "purchaseUsd"))
                && Number(owned, "salvageUsd") is double salvage && clean(Child(ownedPath, "salvageUsd"))
                && salvage > purchase)
            {
                errors.Add(new PricingError(Child(ownedPath, "salvageUsd"), "must not exceed purchaseUsd"));
            }

            if (Property(entry, "rented") is not null && Property(entry, "embodiedCarbon") is { ValueKind: JsonValueKind.Object } embodied
                && Property(embodied, "amortisationYears") is null && clean(Child(path, "embodiedCarbon")))
            {
                errors.Add(new PricingError(Child(Child(path, "embodiedCarbon"), "amortisationYears"), "is required for a rented entry (an owned one defaults to its depreciationYears)"));
            }
        }

        if (Property(Property(root, "energy"), "tariff") is { ValueKind: JsonValueKind.Object } tariff)
        {
            CheckSchedule(tariff, "$.energy.tariff", "usdPerKilowattHour", clean, errors);
        }

        if (Property(root, "carbon") is { ValueKind: JsonValueKind.Object } carbon)
        {
            CheckSchedule(carbon, "$.carbon", CarbonRate, clean, errors);
            if (Property(carbon, "periods") is { ValueKind: JsonValueKind.Array } && Property(carbon, CarbonRate) is null && clean("$.carbon"))
            {
                errors.Add(new PricingError(Child("$.carbon", CarbonRate), "is required with periods (the intensity outside them)"));
            }
        }
    }

    /// <summary>
    /// The checks of a time-of-use schedule (the energy tariff, the carbon intensity): a known time zone with
    /// quarter-hour offsets, periods that end after they start and do not overlap. <paramref name="rateName"/> is the
    /// periods' rate property.
    /// </summary>
    private static void CheckSchedule(JsonElement tariff, string tariffPath, string rateName, Func<string, bool> clean, List<PricingError> errors)
    {
        if (Property(tariff, "timeZone") is { ValueKind: JsonValueKind.String } zoneElement && Property(tariff, "utcOffset") is null
            && clean(Child(tariffPath, "timeZone")))
        {
            string zoneId = zoneElement.GetString()!;
            string zonePath = Child(tariffPath, "timeZone");
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out TimeZoneInfo? zone))
            {
                errors.Add(new PricingError(zonePath, $"unknown time zone '{zoneId}' (use an IANA id such as 'Europe/Berlin')"));
            }
            else if (!HasQuarterHourOffsets(zone))
            {
                errors.Add(new PricingError(zonePath, $"time zone '{zoneId}' has UTC offsets that are not multiples of 15 minutes"));
            }
        }

        if (Property(tariff, "periods") is not { ValueKind: JsonValueKind.Array } periods)
        {
            return;
        }

        var owner = new int[7, 24];
        int index = 0;
        foreach (JsonElement period in periods.EnumerateArray())
        {
            string path = Child(tariffPath, "periods") + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
            index++;
            if (!clean(path))
            {
                continue;
            }

            TariffPeriod mapped = MapPeriod(period, rateName);
            if (mapped.EndHour <= mapped.StartHour)
            {
                errors.Add(new PricingError(Child(path, "endHour"), "must be after startHour (split a period that crosses midnight in two)"));
                continue;
            }

            string? overlap = null;
            foreach (DayOfWeek day in mapped.Days)
            {
                for (int hour = mapped.StartHour; hour < mapped.EndHour; hour++)
                {
                    if (owner[(int)day, hour] != 0 && overlap is null)
                    {
                        overlap = string.Create(CultureInfo.InvariantCulture, $"overlaps periods[{owner[(int)day, hour] - 1}] on {DayNames[(int)day]} at hour {hour}");
                    }

                    owner[(int)day, hour] = index;
                }
            }

            if (overlap is not null)
            {
                errors.Add(new PricingError(path, overlap));
            }
        }
    }

    /// <summary>The domain's pricing of a document that passed the schema and the domain checks.</summary>
    private static PricingFile Map(JsonElement root, IReadOnlyDictionary<DateTimeOffset, double> hourlyCarbon)
    {
        JsonElement energy = root.GetProperty("energy");
        var energyPricing = new EnergyPricing(
            energy.GetProperty("pue").GetDouble(),
            Number(energy, "nodePowerWatts"),
            MapSchedule(energy.GetProperty("tariff"), "usdPerKilowattHour")!)
        {
            Carbon = Property(root, "carbon") is { } carbon
                ? new CarbonIntensity(MapSchedule(carbon, CarbonRate), hourlyCarbon, Property(carbon, "hourlyFile")?.GetString(), Property(carbon, "source")?.GetString())
                : null,
        };


        IdleThresholds idle = IdleThresholds.Default;
        var idlePools = new Dictionary<string, IdleThresholds>(StringComparer.Ordinal);
        if (Property(root, "idle") is { } idleElement)
        {
            idle = MapIdle(idleElement, IdleThresholds.Default);
            foreach (JsonProperty pool in Members(idleElement, "pools"))
            {
                idlePools[pool.Name] = MapIdle(pool.Value, idle);
            }
        }

        return new PricingFile(
            energyPricing,
            Property(root, "default") is { } d ? MapEntry(d, "default") : null,
            Members(root, "pools").ToDictionary(p => p.Name, p => MapEntry(p.Value, "pools." + p.Name), StringComparer.Ordinal),
            Members(root, "gpus").ToDictionary(p => p.Name, p => MapEntry(p.Value, "gpus." + p.Name), StringComparer.Ordinal),
            Members(root, "revenueUsdPerMillionTokens").ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
            Members(root, "poolModels").ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            idle,
            idlePools)
        {
            CompletionTokenWeight = Number(Property(root, "tokenCostSplit"), "completionTokenWeight") ?? PricingFile.DefaultCompletionTokenWeight,
            CapacityLookback = TimeSpan.FromDays(Number(Property(root, "capacity"), "lookbackDays") ?? 7),
            MaxTokensPerSecondPerGpu = Members(Property(root, "capacity"), "maxTokensPerSecondPerGpu")
                .ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal),
        };
    }

    /// <summary>
    /// A time-of-use schedule (the energy tariff, or the carbon intensity with gCO2e/kWh as its rates): its base rate,
    /// periods and time zone; null when it has no base rate (a carbon section with an hourly file only).
    /// </summary>
    private static EnergyTariff? MapSchedule(JsonElement tariff, string rateName)
    {
        if (Number(tariff, rateName) is not double baseRate)
        {
            return null;
        }

        TimeZoneInfo zone = TimeZoneInfo.Utc;
        if (Property(tariff, "timeZone") is { } zoneId)
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId.GetString()!);
        }
        else if (Property(tariff, "utcOffset") is { } offsetElement && TryParseOffset(offsetElement.GetString()!, out TimeSpan offset))
        {
            string name = "UTC" + offsetElement.GetString();
            zone = TimeZoneInfo.CreateCustomTimeZone(name, offset, name, name);
        }


        List<TariffPeriod> periods = Property(tariff, "periods") is { } periodsElement ? [.. periodsElement.EnumerateArray().Select(p => MapPeriod(p, rateName))] : [];
        return new EnergyTariff(baseRate, periods, zone);
    }

    /// <summary>The carbon section's hourly file, read and checked; its problems are reported at <c>$.carbon.hourlyFile</c>.</summary>
    private static IReadOnlyDictionary<DateTimeOffset, double> ReadHourlyCarbon(JsonElement root, string? baseDirectory, Func<string, bool> clean, List<PricingError> errors)
    {
        const string FilePath = "$.carbon.hourlyFile";
        if (Property(Property(root, "carbon"), "hourlyFile") is not { ValueKind: JsonValueKind.String } fileElement || !clean("$.carbon"))
        {
            return new Dictionary<DateTimeOffset, double>();
        }

        string file = fileElement.GetString()!;
        string full = Path.GetFullPath(file, baseDirectory ?? Directory.GetCurrentDirectory());
        IReadOnlyDictionary<DateTimeOffset, double> hours = HourlyCarbonFile.Read(full, Property(Property(root, "carbon"), "hourlyColumn")?.GetString(), out IReadOnlyList<string> problems);
        errors.AddRange(problems.Select(p => new PricingError(FilePath, $"{file}: {p}")));
        return hours;
    }

    private static PriceEntry MapEntry(JsonElement entry, string key)
    {
        JsonElement? embodied = Property(entry, "embodiedCarbon");
        if (Property(entry, "owned") is { } owned)
        {
            double years = owned.GetProperty("depreciationYears").GetDouble();
            return new PriceEntry(key, new OwnedHardware(
                owned.GetProperty("purchaseUsd").GetDouble(),
                Number(owned, "salvageUsd") ?? 0.0,
                years,
                Number(owned, "opexUsdPerGpuHour") ?? 0.0), null)
            {
                Embodied = embodied is { } ownedCarbon ? new EmbodiedCarbon(ownedCarbon.GetProperty("kgCo2ePerGpu").GetDouble(), Number(ownedCarbon, "amortisationYears") ?? years) : null,
            };
        }

        JsonElement rented = entry.GetProperty("rented");
        RentalCommitment commitment = Property(rented, "commitment")?.GetString() switch
        {
            "reserved" => RentalCommitment.Reserved,
            "spot" => RentalCommitment.Spot,
            _ => RentalCommitment.OnDemand,
        };
        return new PriceEntry(key, null, new RentedHardware(rented.GetProperty("usdPerGpuHour").GetDouble(), commitment, rented.GetProperty("energyIncluded").GetBoolean()))
        {
            Embodied = embodied is { } carbon ? new EmbodiedCarbon(carbon.GetProperty("kgCo2ePerGpu").GetDouble(), carbon.GetProperty("amortisationYears").GetDouble()) : null,
        };
    }

    /// <summary>A period whose values the schema accepted (hours are whole numbers in range, days known and distinct).</summary>
    private static TariffPeriod MapPeriod(JsonElement period, string rateName)
    {
        var days = new HashSet<DayOfWeek>();
        if (Property(period, "days") is { } daysElement)
        {
            days.UnionWith(daysElement.EnumerateArray().Select(d => (DayOfWeek)Array.IndexOf(DayNames, d.GetString())));
        }
        else
        {
            days.UnionWith(Enum.GetValues<DayOfWeek>());
        }

        return new TariffPeriod(
            period.GetProperty("name").GetString()!,
            period.GetProperty(rateName).GetDouble(),
            (int)period.GetProperty("startHour").GetDouble(),
            (int)period.GetProperty("endHour").GetDouble(),
            days);
    }

    private static IdleThresholds MapIdle(JsonElement element, IdleThresholds fallback) =>
        new(
            Number(element, "utilizationPercent") ?? fallback.UtilizationPercent,
            Number(element, "minimumDurationSeconds") is double seconds ? TimeSpan.FromSeconds(seconds) : fallback.MinimumDuration);

    /// <summary>Every price entry of the document with its path: default, gpus.*, pools.*.</summary>
    private static IEnumerable<(string Path, JsonElement Entry)> PriceEntries(JsonElement root)
    {
        if (Property(root, "default") is { ValueKind: JsonValueKind.Object } d)
        {
            yield return ("$.default", d);
        }

        foreach (string section in new[] { "gpus", "pools" })
        {
            foreach (JsonProperty entry in Members(root, section).Where(p => p.Value.ValueKind == JsonValueKind.Object))
            {
                yield return (Child(Child("$", section), entry.Name), entry.Value);
            }
        }
    }

    private static JsonElement? Property(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static double? Number(JsonElement? element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetDouble(out double number) ? number : null;

    private static IEnumerable<JsonProperty> Members(JsonElement? element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Object } value ? value.EnumerateObject() : [];

    /// <summary>The JSON path of a member: <c>$.a.b</c>, or <c>$.a['b-c']</c> when the name is not an identifier.</summary>
    internal static string Child(string path, string name)
    {
        bool simple = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        return simple ? path + "." + name : path + "['" + name.Replace("'", "\\'", StringComparison.Ordinal) + "']";
    }

    private static bool TryParseOffset(string text, out TimeSpan offset)
    {
        offset = TimeSpan.Zero;
        if (text.Length != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':'
            || !int.TryParse(text.AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int hours)
            || !int.TryParse(text.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int minutes)
            || minutes >= 60 || minutes % 15 != 0)
        {
            return false;
        }

        offset = new TimeSpan(hours, minutes, 0);
        if (text[0] == '-')
        {
            offset = -offset;
        }

        return offset.Duration() <= TimeSpan.FromHours(14);
    }

    private static bool HasQuarterHourOffsets(TimeZoneInfo zone)
    {
        static bool Quarter(TimeSpan t) => t.Ticks % TimeSpan.FromMinutes(15).Ticks == 0;

        // Local mean time before standard time (e.g. +00:53:28 in Berlin before 1893) is irrelevant to prices.
        return Quarter(zone.BaseUtcOffset) && zone.GetAdjustmentRules()
            .Where(rule => rule.DateEnd.Year >= 1970)
            .All(rule => Quarter(zone.BaseUtcOffset + rule.BaseUtcOffsetDelta) && Quarter(rule.DaylightDelta));
    }

}
