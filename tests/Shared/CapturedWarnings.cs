using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ObservaCost.Testing;

/// <summary>A logger that keeps the warnings and errors written to it, as formatted.</summary>
public sealed class CapturedWarnings<T> : ILogger<T>
{
    public ConcurrentQueue<string> Warnings { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (IsEnabled(logLevel))
        {
            Warnings.Enqueue(formatter(state, exception));
        }
    }
}
