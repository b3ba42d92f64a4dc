using System.Diagnostics;
using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace ObservaCost.Storage.Influx;

/// <summary>
/// The one log of the store client's HTTP requests, at Debug: method, path (never the query string, which holds the
/// InfluxQL and may hold credentials), status and duration. It replaces IHttpClientFactory's default loggers, which
/// write four Information lines per request (a backfill of one window made 72), so a run at Information shows the
/// work done — one line per window — and not the traffic under it.
/// </summary>
internal sealed partial class InfluxRequestLog(ILogger<InfluxRequestLog> logger) : IHttpClientLogger
{
    public object? LogRequestStart(HttpRequestMessage request) => logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : null;

    public void LogRequestStop(object? context, HttpRequestMessage request, HttpResponseMessage response, TimeSpan elapsed)
    {
        if (context is not null)
        {
            LogRequest(logger, request.Method.Method, request.RequestUri?.AbsolutePath ?? string.Empty, (int)response.StatusCode, elapsed.TotalMilliseconds);
        }
    }

    public void LogRequestFailed(object? context, HttpRequestMessage request, HttpResponseMessage? response, Exception exception, TimeSpan elapsed)
    {
        if (context is not null)
        {
            LogRequestError(logger, request.Method.Method, request.RequestUri?.AbsolutePath ?? string.Empty, elapsed.TotalMilliseconds, exception.Message);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "InfluxDB {Method} {Path}: {Status} in {ElapsedMs:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "InfluxDB {Method} {Path} failed after {ElapsedMs:F1} ms: {Failure}")]
    private static partial void LogRequestError(ILogger logger, string method, string path, double elapsedMs, string failure);
}
