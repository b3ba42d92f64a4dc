namespace ObservaCost.Analytics.Pricing;

/// <summary>One problem in a pricing file, at a JSON path such as <c>$.gpus.H100.owned.salvageUsd</c>.</summary>
public sealed record PricingError(string Path, string Message)
{
    public override string ToString() => Path + ": " + Message;
}

/// <summary>A pricing file that failed validation; <see cref="Errors"/> lists every problem found.</summary>
public sealed class PricingValidationException : Exception
{
    public PricingValidationException()
        : this([])
    {
    }

    public PricingValidationException(string message)
        : base(message)
    {
        Errors = [];
    }

    public PricingValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public PricingValidationException(IReadOnlyList<PricingError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<PricingError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<PricingError> errors)
    {
        return "The pricing file is invalid (" + errors.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " problem(s)):"
            + string.Concat(errors.Select(e => Environment.NewLine + "  " + e));
    }
}
