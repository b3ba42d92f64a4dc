using System.Globalization;
using Microsoft.Extensions.Options;

namespace ObservaCost.Storage.Writing;

/// <summary>Batching of writes to the store. Configuration section <c>Storage:Batching</c>.</summary>
public sealed class PointBatchingOptions
{
    public const string SectionName = "Storage:Batching";

    /// <summary>Points per batch (InfluxDB recommends 5,000).</summary>
    public int MaxBatchPoints { get; set; } = 5_000;

    /// <summary>Bytes of line protocol per batch.</summary>
    public int MaxBatchBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Longest a point waits in a batch that is not full.</summary>
    public TimeSpan MaxBatchAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Full batches that may wait for the store before writers are held back.</summary>
    public int MaxPendingBatches { get; set; } = 8;

    /// <summary>First delay before a batch the store could not take is sent again.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between two tries of a batch.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long disposal waits for pending batches.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="PointBatchingOptions"/>, naming each configuration key.</summary>
public sealed class PointBatchingOptionsValidator : IValidateOptions<PointBatchingOptions>
{
    public ValidateOptionsResult Validate(string? name, PointBatchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = PointBatchingOptions.SectionName + ":";
        if (options.MaxBatchPoints is < 1 or > 1_000_000)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}MaxBatchPoints must be between 1 and 1000000 (got {options.MaxBatchPoints})."));
        }

        if (options.MaxBatchBytes is < 1024 or > 256 * 1024 * 1024)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}MaxBatchBytes must be between 1 KiB and 256 MiB (got {options.MaxBatchBytes})."));
        }

        if (options.MaxPendingBatches is < 1 or > 1024)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}MaxPendingBatches must be between 1 and 1024 (got {options.MaxPendingBatches})."));
        }

        if (options.MaxBatchAge <= TimeSpan.Zero)
        {
            failures.Add($"{p}MaxBatchAge must be positive.");
        }

        if (options.RetryInitialDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryInitialDelay)
        {
            failures.Add($"{p}RetryInitialDelay must be positive and no longer than {p}RetryMaxDelay.");
        }

        if (options.ShutdownTimeout < TimeSpan.Zero)
        {
            failures.Add($"{p}ShutdownTimeout must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
