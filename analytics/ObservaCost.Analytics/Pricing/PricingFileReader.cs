using System.Globalization;
using System.Text.Json;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// Reads a pricing file (JSON, format in <c>docs/pricing.md</c>) and validates all of it at once: every problem is
/// reported with the JSON path where it is, and unknown properties are errors (a misspelt key must not be ignored).
/// </summary>
public static class PricingFileReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = false,
    };

    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>Reads and validates the file at <paramref name="path"/>; throws <see cref="PricingValidationException"/>.</summary>
    public static PricingFile Load(string path)
    {
        return Parse(File.ReadAllText(path));
    }

    /// <summary>Parses and validates JSON text; throws <see cref="PricingValidationException"/> listing every problem.</summary>
    public static PricingFile Parse(string json)
    {
        return TryParse(json, out PricingFile? file, out IReadOnlyList<PricingError> errors)
            ? file
            : throw new PricingValidationException(errors);
    }

    /// <summary>Parses and validates JSON text; on failure <paramref name="errors"/> holds every problem found.</summary>
    public static bool TryParse(
        string json,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PricingFile? file,
        out IReadOnlyList<PricingError> errors)
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
            PricingFile? parsed = ReadRoot(document.RootElement, found);
            if (found.Count > 0 || parsed is null)
            {
                return false;
            }

            file = parsed;
            return true;
        }
    }

    private static PricingFile? ReadRoot(JsonElement root, List<PricingError> errors)
    {
        var obj = ObjectReader.Create(root, "$", errors);
        if (obj is null)
        {
            return null;
        }

        EnergyPricing? energy = obj.Object("energy", required: true) is { } energyElement
            ? ReadEnergy(energyElement, ObjectReader.Child("$", "energy"), errors)
            : null;
        PriceEntry? defaultEntry = obj.Object("default", required: false) is { } d
            ? ReadPriceEntry(d, ObjectReader.Child("$", "default"), "default", errors)
            : null;
        Dictionary<string, PriceEntry> pools = ReadEntries(obj, "pools", errors);
        Dictionary<string, PriceEntry> gpus = ReadEntries(obj, "gpus", errors);
        foreach (IGrouping<string, string> same in gpus.Keys.GroupBy(k => GpuModelName.Canonical(k) ?? k, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add(new PricingError(ObjectReader.Child("$", "gpus"), $"the GPU keys {string.Join(", ", same.Select(k => "'" + k + "'"))} name the same GPU model '{same.Key}': keep one"));
            foreach (string duplicate in same.Skip(1))
            {
                gpus.Remove(duplicate);
            }
        }

        if (!obj.Has("default") && IsEmptyOrAbsent(root, "pools") && IsEmptyOrAbsent(root, "gpus"))
        {
            errors.Add(new PricingError("$", "no price entry: give a default entry, gpus or pools"));
        }

        var revenue = new Dictionary<string, double>(StringComparer.Ordinal);
        if (obj.Object("revenueUsdPerMillionTokens", required: false) is { } revenueElement)
        {
            string revenuePath = ObjectReader.Child("$", "revenueUsdPerMillionTokens");
            foreach (JsonProperty property in revenueElement.EnumerateObject())
            {
                string path = ObjectReader.Child(revenuePath, property.Name);
                if (ObjectReader.ReadNumber(property.Value, path, errors, NonNegative) is double usd)
                {
                    revenue[property.Name] = usd;
                }
            }
        }

        var poolModels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj.Object("poolModels", required: false) is { } poolModelsElement)
        {
            string poolModelsPath = ObjectReader.Child("$", "poolModels");
            foreach (JsonProperty property in poolModelsElement.EnumerateObject())
            {
                string path = ObjectReader.Child(poolModelsPath, property.Name);
                if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()))
                {
                    errors.Add(new PricingError(path, "expected a non-empty model name"));
                }
                else
                {
                    poolModels[property.Name] = property.Value.GetString()!;
                }
            }
        }

        IdleThresholds idle = IdleThresholds.Default;
        var idlePools = new Dictionary<string, IdleThresholds>(StringComparer.Ordinal);
        if (obj.Object("idle", required: false) is { } idleElement)
        {
            string idlePath = ObjectReader.Child("$", "idle");
            var idleReader = ObjectReader.Create(idleElement, idlePath, errors)!;
            idle = ReadIdle(idleReader, IdleThresholds.Default);
            if (idleReader.Object("pools", required: false) is { } idlePoolsElement)
            {
                string idlePoolsPath = ObjectReader.Child(idlePath, "pools");
                foreach (JsonProperty property in idlePoolsElement.EnumerateObject())
                {
                    string path = ObjectReader.Child(idlePoolsPath, property.Name);
                    if (ObjectReader.Create(property.Value, path, errors) is { } poolReader)
                    {
                        idlePools[property.Name] = ReadIdle(poolReader, idle);
                        poolReader.ReportUnknown();
                    }
                }
            }

            idleReader.ReportUnknown();
        }

        double completionWeight = PricingFile.DefaultCompletionTokenWeight;
        if (obj.Object("tokenCostSplit", required: false) is { } splitElement)
        {
            var split = ObjectReader.Create(splitElement, ObjectReader.Child("$", "tokenCostSplit"), errors)!;
            completionWeight = split.Number("completionTokenWeight", required: true, v => v > 0 ? null : "must be greater than 0") ?? completionWeight;
            split.ReportUnknown();
        }

        TimeSpan lookback = TimeSpan.FromDays(7);
        var maxRates = new Dictionary<string, double>(StringComparer.Ordinal);
        if (obj.Object("capacity", required: false) is { } capacityElement)
        {
            string capacityPath = ObjectReader.Child("$", "capacity");
            var capacity = ObjectReader.Create(capacityElement, capacityPath, errors)!;
            if (capacity.Number("lookbackDays", required: false, v => v > 0 ? null : "must be greater than 0") is double days)
            {
                lookback = TimeSpan.FromDays(days);
            }

            if (capacity.Object("maxTokensPerSecondPerGpu", required: false) is { } ratesElement)
            {
                string ratesPath = ObjectReader.Child(capacityPath, "maxTokensPerSecondPerGpu");
                foreach (JsonProperty property in ratesElement.EnumerateObject())
                {
                    if (ObjectReader.ReadNumber(property.Value, ObjectReader.Child(ratesPath, property.Name), errors, v => v > 0 ? null : "must be greater than 0") is double rate)
                    {
                        maxRates[property.Name] = rate;
                    }
                }
            }

            capacity.ReportUnknown();
        }

        obj.ReportUnknown();
        return energy is null
            ? null
            : new PricingFile(energy, defaultEntry, pools, gpus, revenue, poolModels, idle, idlePools)
            {
                CompletionTokenWeight = completionWeight,
                CapacityLookback = lookback,
                MaxTokensPerSecondPerGpu = maxRates,
            };
    }

    private static IdleThresholds ReadIdle(ObjectReader reader, IdleThresholds fallback)
    {
        double? percent = reader.Number("utilizationPercent", required: false, v => v is >= 0 and <= 100 ? null : "must be between 0 and 100");
        double? seconds = reader.Number("minimumDurationSeconds", required: false, v => v > 0 ? null : "must be greater than 0");
        return new IdleThresholds(
            percent ?? fallback.UtilizationPercent,
            seconds is double s ? TimeSpan.FromSeconds(s) : fallback.MinimumDuration);
    }

    private static Dictionary<string, PriceEntry> ReadEntries(ObjectReader obj, string name, List<PricingError> errors)
    {
        var entries = new Dictionary<string, PriceEntry>(StringComparer.Ordinal);
        if (obj.Object(name, required: false) is { } element)
        {
            string sectionPath = ObjectReader.Child("$", name);
            foreach (JsonProperty property in element.EnumerateObject())
            {
                string path = ObjectReader.Child(sectionPath, property.Name);
                if (ReadPriceEntry(property.Value, path, name + "." + property.Name, errors) is { } entry)
                {
                    entries[property.Name] = entry;
                }
            }
        }

        return entries;
    }

    private static PriceEntry? ReadPriceEntry(JsonElement element, string path, string key, List<PricingError> errors)
    {
        var obj = ObjectReader.Create(element, path, errors);
        if (obj is null)
        {
            return null;
        }

        int before = errors.Count;
        JsonElement? ownedElement = obj.Object("owned", required: false);
        JsonElement? rentedElement = obj.Object("rented", required: false);
        obj.ReportUnknown();
        if (obj.Has("owned") == obj.Has("rented"))
        {
            errors.Add(new PricingError(path, "give exactly one of 'owned' and 'rented'"));
            return null;
        }

        OwnedHardware? owned = null;
        RentedHardware? rented = null;
        if (ownedElement is { } o)
        {
            string ownedPath = ObjectReader.Child(path, "owned");
            var reader = ObjectReader.Create(o, ownedPath, errors)!;
            double? purchase = reader.Number("purchaseUsd", required: true, v => v > 0 ? null : "must be greater than 0");
            double? salvage = reader.Number("salvageUsd", required: false, NonNegative);
            double? years = reader.Number("depreciationYears", required: true, v => v > 0 ? null : "must be greater than 0");
            double? opex = reader.Number("opexUsdPerGpuHour", required: false, NonNegative);
            reader.ReportUnknown();
            if (purchase is double p && salvage is double s && s > p)
            {
                errors.Add(new PricingError(ObjectReader.Child(ownedPath, "salvageUsd"), "must not exceed purchaseUsd"));
            }

            if (errors.Count == before && purchase is double price && years is double y)
            {
                owned = new OwnedHardware(price, salvage ?? 0.0, y, opex ?? 0.0);
            }
        }
        else if (rentedElement is { } r)
        {
            string rentedPath = ObjectReader.Child(path, "rented");
            var reader = ObjectReader.Create(r, rentedPath, errors)!;
            double? usd = reader.Number("usdPerGpuHour", required: true, NonNegative);
            string? commitmentText = reader.String("commitment", required: false);
            bool? energyIncluded = reader.Bool("energyIncluded", required: true);
            reader.ReportUnknown();
            RentalCommitment commitment = RentalCommitment.OnDemand;
            switch (commitmentText)
            {
                case null or "on-demand":
                    break;
                case "reserved":
                    commitment = RentalCommitment.Reserved;
                    break;
                case "spot":
                    commitment = RentalCommitment.Spot;
                    break;
                default:
                    errors.Add(new PricingError(ObjectReader.Child(rentedPath, "commitment"), "must be 'on-demand', 'reserved' or 'spot'"));
                    break;
            }

            if (errors.Count == before && usd is double u && energyIncluded is bool included)
            {
                rented = new RentedHardware(u, commitment, included);
            }
        }

        return owned is null && rented is null ? null : new PriceEntry(key, owned, rented);
    }

    private static EnergyPricing? ReadEnergy(JsonElement element, string path, List<PricingError> errors)
    {
        var obj = ObjectReader.Create(element, path, errors);
        if (obj is null)
        {
            return null;
        }

        double? pue = obj.Number("pue", required: true, v => v >= 1 ? null : "must be at least 1");
        double? nodePowerWatts = obj.Number("nodePowerWatts", required: false, NonNegative);
        EnergyTariff? tariff = obj.Object("tariff", required: true) is { } t
            ? ReadTariff(t, ObjectReader.Child(path, "tariff"), errors)
            : null;
        obj.ReportUnknown();
        return pue is double p && tariff is not null ? new EnergyPricing(p, nodePowerWatts, tariff) : null;
    }

    private static EnergyTariff? ReadTariff(JsonElement element, string path, List<PricingError> errors)
    {
        var obj = ObjectReader.Create(element, path, errors);
        if (obj is null)
        {
            return null;
        }

        int before = errors.Count;
        double? baseRate = obj.Number("usdPerKilowattHour", required: true, NonNegative);
        string? zoneId = obj.String("timeZone", required: false);
        string? offsetText = obj.String("utcOffset", required: false);
        TimeZoneInfo zone = TimeZoneInfo.Utc;
        if (zoneId is not null && offsetText is not null)
        {
            errors.Add(new PricingError(path, "give at most one of 'timeZone' and 'utcOffset'"));
        }
        else if (zoneId is not null)
        {
            string zonePath = ObjectReader.Child(path, "timeZone");
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out TimeZoneInfo? found))
            {
                errors.Add(new PricingError(zonePath, $"unknown time zone '{zoneId}' (use an IANA id such as 'Europe/Berlin')"));
            }
            else if (!HasQuarterHourOffsets(found))
            {
                errors.Add(new PricingError(zonePath, $"time zone '{zoneId}' has UTC offsets that are not multiples of 15 minutes"));
            }
            else
            {
                zone = found;
            }
        }
        else if (offsetText is not null)
        {
            string offsetPath = ObjectReader.Child(path, "utcOffset");
            if (TryParseOffset(offsetText, out TimeSpan offset))
            {
                zone = TimeZoneInfo.CreateCustomTimeZone("UTC" + offsetText, offset, "UTC" + offsetText, "UTC" + offsetText);
            }
            else
            {
                errors.Add(new PricingError(offsetPath, "must be ±HH:MM within ±14:00 and a multiple of 15 minutes, e.g. '+05:30'"));
            }
        }

        var periods = new List<TariffPeriod>();
        if (obj.Array("periods", required: false) is { } periodsElement)
        {
            string periodsPath = ObjectReader.Child(path, "periods");
            var owner = new int[7, 24];
            int index = 0;
            foreach (JsonElement item in periodsElement.EnumerateArray())
            {
                string itemPath = periodsPath + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
                TariffPeriod? period = ReadPeriod(item, itemPath, errors);
                if (period is not null)
                {
                    string? overlap = null;
                    foreach (DayOfWeek day in period.Days)
                    {
                        for (int hour = period.StartHour; hour < period.EndHour; hour++)
                        {
                            if (owner[(int)day, hour] != 0 && overlap is null)
                            {
                                overlap = string.Create(
                                    CultureInfo.InvariantCulture,
                                    $"overlaps periods[{owner[(int)day, hour] - 1}] on {DayNames[(int)day]} at hour {hour}");
                            }

                            owner[(int)day, hour] = index + 1;
                        }
                    }

                    if (overlap is not null)
                    {
                        errors.Add(new PricingError(itemPath, overlap));
                    }

                    periods.Add(period);
                }

                index++;
            }
        }

        obj.ReportUnknown();
        return errors.Count == before && baseRate is double rate ? new EnergyTariff(rate, periods, zone) : null;
    }

    private static TariffPeriod? ReadPeriod(JsonElement element, string path, List<PricingError> errors)
    {
        var obj = ObjectReader.Create(element, path, errors);
        if (obj is null)
        {
            return null;
        }

        int before = errors.Count;
        string? name = obj.String("name", required: true);
        double? rate = obj.Number("usdPerKilowattHour", required: true, NonNegative);
        double? start = obj.Number("startHour", required: true, v => v is >= 0 and <= 23 && v == Math.Floor(v) ? null : "must be a whole hour from 0 to 23");
        double? end = obj.Number("endHour", required: true, v => v is >= 1 and <= 24 && v == Math.Floor(v) ? null : "must be a whole hour from 1 to 24");
        if (start is double s && end is double e && e <= s)
        {
            errors.Add(new PricingError(ObjectReader.Child(path, "endHour"), "must be after startHour (split a period that crosses midnight in two)"));
        }

        var days = new HashSet<DayOfWeek>();
        if (obj.Array("days", required: false) is { } daysElement)
        {
            string daysPath = ObjectReader.Child(path, "days");
            int index = 0;
            foreach (JsonElement item in daysElement.EnumerateArray())
            {
                string itemPath = daysPath + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
                int day = item.ValueKind == JsonValueKind.String ? Array.IndexOf(DayNames, item.GetString()) : -1;
                if (day < 0)
                {
                    errors.Add(new PricingError(itemPath, "must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun"));
                }
                else if (!days.Add((DayOfWeek)day))
                {
                    errors.Add(new PricingError(itemPath, "repeats a day"));
                }

                index++;
            }

            if (index == 0)
            {
                errors.Add(new PricingError(daysPath, "must name at least one day (leave it out for every day)"));
            }
        }
        else
        {
            days.UnionWith(Enum.GetValues<DayOfWeek>());
        }

        obj.ReportUnknown();
        return errors.Count == before && name is not null && rate is double r && start is double st && end is double en
            ? new TariffPeriod(name, r, (int)st, (int)en, days)
            : null;
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

    private static bool IsEmptyOrAbsent(JsonElement root, string name)
    {
        return !root.TryGetProperty(name, out JsonElement value)
            || value.ValueKind == JsonValueKind.Null
            || (value.ValueKind == JsonValueKind.Object && !value.EnumerateObject().Any());
    }

    private static string? NonNegative(double value) => value >= 0 ? null : "must not be negative";

    /// <summary>Reads the properties of one JSON object, recording which were read to report unknown ones.</summary>
    private sealed class ObjectReader
    {
        private readonly JsonElement _element;
        private readonly string _path;
        private readonly List<PricingError> _errors;
        private readonly HashSet<string> _known = new(StringComparer.Ordinal);

        private ObjectReader(JsonElement element, string path, List<PricingError> errors)
        {
            _element = element;
            _path = path;
            _errors = errors;
        }

        public static ObjectReader? Create(JsonElement element, string path, List<PricingError> errors)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new PricingError(path, "expected an object"));
                return null;
            }

            return new ObjectReader(element, path, errors);
        }

        public static string Child(string path, string name)
        {
            bool simple = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
                && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
            return simple ? path + "." + name : path + "['" + name.Replace("'", "\\'", StringComparison.Ordinal) + "']";
        }

        public static double? ReadNumber(JsonElement value, string path, List<PricingError> errors, Func<double, string?> check)
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number))
            {
                errors.Add(new PricingError(path, "expected a number"));
                return null;
            }

            if (check(number) is { } problem)
            {
                errors.Add(new PricingError(path, problem));
                return null;
            }

            return number;
        }

        public bool Has(string name) => _element.TryGetProperty(name, out _);

        public double? Number(string name, bool required, Func<double, string?> check)
        {
            return Get(name, required) is { } value ? ReadNumber(value, Child(_path, name), _errors, check) : null;
        }

        public string? String(string name, bool required)
        {
            if (Get(name, required) is not { } value)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            {
                _errors.Add(new PricingError(Child(_path, name), "expected a non-empty string"));
                return null;
            }

            return value.GetString();
        }

        public bool? Bool(string name, bool required)
        {
            if (Get(name, required) is not { } value)
            {
                return null;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                _errors.Add(new PricingError(Child(_path, name), "expected true or false"));
                return null;
            }

            return value.GetBoolean();
        }

        public JsonElement? Object(string name, bool required) => Typed(name, required, JsonValueKind.Object, "expected an object");

        public JsonElement? Array(string name, bool required) => Typed(name, required, JsonValueKind.Array, "expected an array");

        public void ReportUnknown()
        {
            foreach (JsonProperty property in _element.EnumerateObject())
            {
                if (!_known.Contains(property.Name))
                {
                    _errors.Add(new PricingError(Child(_path, property.Name), "unknown property"));
                }
            }
        }

        private JsonElement? Typed(string name, bool required, JsonValueKind kind, string message)
        {
            if (Get(name, required) is not { } value)
            {
                return null;
            }

            if (value.ValueKind != kind)
            {
                _errors.Add(new PricingError(Child(_path, name), message));
                return null;
            }

            return value;
        }

        private JsonElement? Get(string name, bool required)
        {
            _known.Add(name);
            if (_element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null)
            {
                return value;
            }

            if (required)
            {
                _errors.Add(new PricingError(Child(_path, name), "is required"));
            }

            return null;
        }
    }
}
