namespace ObservaCost.Collector.Pipeline;

internal static class PeriodicTimerExtensions
{
    /// <summary>Waits for the next tick; false when the host is stopping.</summary>
    public static async Task<bool> TryWaitForNextTickAsync(this PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
