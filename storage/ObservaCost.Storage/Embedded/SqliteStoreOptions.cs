using Microsoft.Extensions.Options;

namespace ObservaCost.Storage.Embedded;

/// <summary>The embedded SQLite store. Configuration section <c>Storage:Embedded</c>.</summary>
public sealed class SqliteStoreOptions
{
    public const string SectionName = "Storage:Embedded";

    /// <summary>The database file; its folder is created if missing.</summary>
    public string Path { get; set; } = "data/observacost.db";

    /// <summary>How long values are kept; zero keeps them forever.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How often writes check for expired values.</summary>
    public TimeSpan RetentionCheckInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a statement waits for a lock held by another connection.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="SqliteStoreOptions"/>, naming each configuration key.</summary>
public sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = SqliteStoreOptions.SectionName + ":";
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{p}Path is required.");
        }
        else if (options.Path.AsSpan().IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{p}Path '{options.Path}' has characters a path cannot hold.");
        }

        if (options.Retention < TimeSpan.Zero)
        {
            failures.Add($"{p}Retention must not be negative (0 keeps data forever).");
        }

        if (options.RetentionCheckInterval <= TimeSpan.Zero)
        {
            failures.Add($"{p}RetentionCheckInterval must be positive.");
        }

        if (options.BusyTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{p}BusyTimeout must be at least one second.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
