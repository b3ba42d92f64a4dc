using Microsoft.Extensions.Options;

namespace ObservaCost.Storage.Configuration;

public enum StorageBackend
{
    /// <summary>The embedded SQLite file store (the default on one machine).</summary>
    Embedded,
    /// <summary>An InfluxDB-compatible server.</summary>
    InfluxDb,
}

/// <summary>Which store to use. Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Embedded unless set; InfluxDb needs <c>Storage:InfluxDb:Url</c>.</summary>
    public StorageBackend Backend { get; set; } = StorageBackend.Embedded;
}

/// <summary>Checks <see cref="StorageOptions"/>.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Enum.IsDefined(options.Backend)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{StorageOptions.SectionName}:Backend must be Embedded or InfluxDb (got '{options.Backend}').");
    }
}
