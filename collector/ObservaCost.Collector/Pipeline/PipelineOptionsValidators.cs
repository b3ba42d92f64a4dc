using System.Globalization;
using Microsoft.Extensions.Options;

namespace ObservaCost.Collector.Pipeline;

public sealed class SpoolOptionsValidator : IValidateOptions<SpoolOptions>
{
    public ValidateOptionsResult Validate(string? name, SpoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = SpoolOptions.SectionName + ":";
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            failures.Add($"{p}Directory is required.");
        }

        if (options.MaxBytes < 1 << 20)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}MaxBytes must be at least 1 MiB (got {options.MaxBytes})."));
        }

        if (options.SegmentBytes < 64 * 1024 || options.SegmentBytes > options.MaxBytes)
        {
            failures.Add($"{p}SegmentBytes must be at least 64 KiB and at most {p}MaxBytes.");
        }

        if (options.RetryAfter < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{p}RetryAfter must be at least one second.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public sealed class ForwarderOptionsValidator : IValidateOptions<ForwarderOptions>
{
    public ValidateOptionsResult Validate(string? name, ForwarderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string p = ForwarderOptions.SectionName + ":";
        if (options.MaxBatchPoints is < 1 or > 1_000_000)
        {
            failures.Add($"{p}MaxBatchPoints must be between 1 and 1000000.");
        }

        if (options.MaxBatchesInFlight is < 1 or > 16)
        {
            failures.Add($"{p}MaxBatchesInFlight must be between 1 and 16.");
        }

        if (options.MaxBatchBytes is < 1024)
        {
            failures.Add($"{p}MaxBatchBytes must be at least 1024.");
        }

        if (options.RetryInitialDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryInitialDelay)
        {
            failures.Add($"{p}RetryInitialDelay must be positive and no longer than {p}RetryMaxDelay.");
        }

        if (options.IdlePoll <= TimeSpan.Zero)
        {
            failures.Add($"{p}IdlePoll must be positive.");
        }

        if (options.DeadLetterMaxBytes < 64 * 1024)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{p}DeadLetterMaxBytes must be at least 64 KiB (got {options.DeadLetterMaxBytes})."));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
