namespace ObservaCost.Analytics.Energy;

/// <summary>One sample of a series: a value at an instant. Arrays of samples are in time order.</summary>
public readonly record struct TimedValue(DateTimeOffset Time, double Value);
