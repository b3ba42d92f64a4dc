using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Analytics.Forecasts;

/// <summary>
/// What a stored global forecast model was trained on and how its ensemble combines: written as
/// <c>forecast-model.json</c> beside the trees (<c>forecast-model.zip</c>, ML.NET's format).
/// </summary>
public sealed record ForecastModelManifest
{
    /// <summary>First hour of the training histories (UTC, inclusive).</summary>
    public required DateTimeOffset TrainingFrom { get; init; }

    /// <summary>End of the training histories (UTC, exclusive): the first hour of the forecast that trained it.</summary>
    public required DateTimeOffset TrainingTo { get; init; }

    /// <summary>SHA-256 (lower-case hex) of the training input: each series' name and hourly values, in name order.</summary>
    public required string InputHash { get; init; }

    /// <summary>The served models whose histories trained it, in name order.</summary>
    public required IReadOnlyList<string> Series { get; init; }

    public required int HorizonHours { get; init; }

    public required int TrainingRows { get; init; }

    public required double TrainingSeconds { get; init; }

    public required IReadOnlyList<string> MemberNames { get; init; }

    public required double[] Weights { get; init; }

    public required double[] LowerQuantile { get; init; }

    public required double[] UpperQuantile { get; init; }
}

/// <summary>A global ensemble with its manifest.</summary>
public sealed record StoredForecastModel(ForecastModelManifest Manifest, GlobalEnsembleFit Fit);

/// <summary>
/// Keeps the latest global forecast model in <see cref="ForecastOptions.ModelDirectory"/>: the trees as
/// <c>forecast-model.zip</c> (<c>MLContext.Model.Save</c>) and the manifest as <c>forecast-model.json</c>. Both are
/// written to temporary files and moved into place, manifest last, so a crash leaves the previous pair readable.
/// </summary>
public sealed class ForecastModelStore(ForecastOptions options)
{
    public const string ModelFile = "forecast-model.zip";
    public const string ManifestFile = "forecast-model.json";

    public string Directory => Path.GetFullPath(options.ModelDirectory);

    public void Save(StoredForecastModel stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        System.IO.Directory.CreateDirectory(Directory);
        string model = Path.Combine(Directory, ModelFile);
        string manifest = Path.Combine(Directory, ManifestFile);
        using (FileStream stream = File.Create(model + ".tmp"))
        {
            stored.Fit.Model.Save(stream);
        }

        File.WriteAllText(manifest + ".tmp", JsonSerializer.Serialize(stored.Manifest, ForecastModelJsonContext.Default.ForecastModelManifest));
        File.Move(model + ".tmp", model, overwrite: true);
        File.Move(manifest + ".tmp", manifest, overwrite: true);
    }

    /// <summary>The stored model, or null when there is none.</summary>
    /// <exception cref="IOException">The files exist but cannot be read.</exception>
    /// <exception cref="InvalidDataException">The files exist but do not hold a model.</exception>
    public StoredForecastModel? Load()
    {
        string model = Path.Combine(Directory, ModelFile);
        string manifestPath = Path.Combine(Directory, ManifestFile);
        if (!File.Exists(model) || !File.Exists(manifestPath))
        {
            return null;
        }

        try
        {
            ForecastModelManifest manifest = JsonSerializer.Deserialize(File.ReadAllText(manifestPath), ForecastModelJsonContext.Default.ForecastModelManifest)
                ?? throw new InvalidDataException($"{manifestPath} is empty.");
            using FileStream stream = File.OpenRead(model);
            GlobalTreeModel trees = GlobalTreeModel.Load(stream, manifest.HorizonHours, manifest.TrainingRows);
            return new StoredForecastModel(
                manifest,
                new GlobalEnsembleFit(manifest.MemberNames, manifest.Weights, manifest.LowerQuantile, manifest.UpperQuantile, trees, TimeSpan.FromSeconds(manifest.TrainingSeconds)));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"The forecast model in {Directory} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>SHA-256 of the series' names and values (little-endian doubles), in the given order.</summary>
    public static string InputHash(IEnumerable<KeyValuePair<string, double[]>> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> value = stackalloc byte[sizeof(double)];
        foreach ((string name, double[] values) in series)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData([0]);
            foreach (double v in values)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(value, v);
                hash.AppendData(value);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ForecastModelManifest))]
internal sealed partial class ForecastModelJsonContext : JsonSerializerContext;
