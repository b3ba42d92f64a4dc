using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Alerts;

/// <summary>The body a webhook receives.</summary>
public enum WebhookFormat
{
    /// <summary><c>{"source":"observacost","alerts":[{...event...}]}</c>.</summary>
    Json,

    /// <summary>A Slack incoming-webhook message: <c>{"text": ..., "blocks": [...]}</c>.</summary>
    Slack,
}

/// <summary>Where alerts go and how often. Bound from <c>Analytics:Alerts</c>.</summary>
public sealed class AlertOptions
{
    public const string SectionName = "Analytics:Alerts";

    /// <summary>The webhook URL; no URL, no alerts.</summary>
    public Uri? WebhookUrl { get; set; }

    public WebhookFormat Format { get; set; } = WebhookFormat.Json;

    /// <summary>Events below this severity are stored but not sent. Default warning.</summary>
    public AnomalySeverity MinimumSeverity { get; set; } = AnomalySeverity.Warning;

    /// <summary>
    /// An alert for a (detector, entity, series) is not repeated while its events keep arriving less than this apart,
    /// so a long anomaly alerts once; after a quiet cool-down, it alerts again. Default 1 h.
    /// </summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many (detector, entity, series) keys are remembered; the longest quiet are forgotten first. Default 10,000.</summary>
    public int MaxTrackedKeys { get; set; } = 10_000;

    /// <summary>At most this many alerts in one webhook call. Default 50.</summary>
    public int MaxAlertsPerMessage { get; set; } = 50;

    /// <summary>Time limit of one webhook call. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>What one <see cref="WebhookAlertSink.SendAsync"/> did.</summary>
public sealed record AlertResult(int Sent, int Suppressed, int BelowSeverity, bool Delivered);

/// <summary>
/// Sends anomaly events to a webhook, generic JSON or Slack-compatible, with de-duplication and a sliding cool-down
/// per (detector, entity, series): a long anomaly — the same key firing every window — alerts once. A failed call
/// is logged and reported, and the keys it carried are not marked, so the next window alerts again.
/// </summary>
public sealed partial class WebhookAlertSink(HttpClient http, AlertOptions options, TimeProvider time, ILogger<WebhookAlertSink> logger)
{
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<AlertResult> SendAsync(IReadOnlyList<AnomalyEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (options.WebhookUrl is null)
        {
            return new AlertResult(0, 0, 0, Delivered: true);
        }

        DateTimeOffset now = time.GetUtcNow();
        var fresh = new List<(string Key, AnomalyEvent Event)>();
        int suppressed = 0, below = 0;
        lock (_gate)
        {
            foreach (AnomalyEvent e in events.OrderBy(e => e.Time))
            {
                if (e.Severity < options.MinimumSeverity)
                {
                    below++;
                    continue;
                }

                string key = e.Detector + "\u0001" + e.EntityKind + "\u0001" + e.Entity + "\u0001" + e.Series;
                bool repeat = _lastSeen.TryGetValue(key, out DateTimeOffset last) && now - last < options.Cooldown;
                if (repeat || fresh.Any(f => f.Key == key))
                {
                    _lastSeen[key] = now; // still going: the cool-down slides
                    suppressed++;
                    continue;
                }

                fresh.Add((key, e));
            }
        }

        if (fresh.Count == 0)
        {
            return new AlertResult(0, suppressed, below, Delivered: true);
        }

        bool delivered = true;
        foreach (AnomalyEvent[] chunk in fresh.Select(f => f.Event).Chunk(options.MaxAlertsPerMessage))
        {
            delivered &= await PostAsync(chunk, cancellationToken);
        }

        if (delivered)
        {
            lock (_gate)
            {
                foreach ((string key, _) in fresh)
                {
                    _lastSeen[key] = now;
                }

                Trim();
            }
        }

        return new AlertResult(delivered ? fresh.Count : 0, suppressed, below, delivered);
    }

    /// <summary>The generic JSON body.</summary>
    public static JsonObject JsonBody(IReadOnlyList<AnomalyEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var alerts = new JsonArray();
        foreach (AnomalyEvent e in events)
        {
            alerts.Add(new JsonObject
            {
                ["time"] = e.Time.ToString("o", CultureInfo.InvariantCulture),
                ["severity"] = e.Severity.ToString().ToLowerInvariant(),
                ["detector"] = e.Detector,
                ["entityKind"] = e.EntityKind,
                ["entity"] = e.Entity,
                ["series"] = e.Series,
                ["value"] = e.Value,
                ["score"] = e.Score,
                ["expectedValue"] = e.ExpectedValue,
                ["lowerBound"] = e.LowerBound,
                ["upperBound"] = e.UpperBound,
                ["magnitude"] = e.Magnitude,
            });
        }

        return new JsonObject { ["source"] = "observacost", ["alerts"] = alerts };
    }

    /// <summary>The Slack incoming-webhook body: a text fallback and one section block per alert.</summary>
    public static JsonObject SlackBody(IReadOnlyList<AnomalyEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var blocks = new JsonArray();
        foreach (AnomalyEvent e in events)
        {
            string expected = e.ExpectedValue is double x ? string.Create(CultureInfo.InvariantCulture, $" (expected {x:G6})") : string.Empty;
            blocks.Add(new JsonObject
            {
                ["type"] = "section",
                ["text"] = new JsonObject
                {
                    ["type"] = "mrkdwn",
                    ["text"] = string.Create(CultureInfo.InvariantCulture,
                        $"*{e.Severity.ToString().ToUpperInvariant()}* `{e.Detector}` on {e.EntityKind} `{e.Entity}`: {e.Series} = {e.Value:G6}{expected} at {e.Time:yyyy-MM-dd HH:mm} UTC"),
                },
            });
        }

        string text = string.Create(CultureInfo.InvariantCulture, $"ObservaCost: {events.Count} anomal{(events.Count == 1 ? "y" : "ies")}");
        return new JsonObject { ["text"] = text, ["blocks"] = blocks };
    }

    private async Task<bool> PostAsync(AnomalyEvent[] chunk, CancellationToken cancellationToken)
    {
        JsonObject body = options.Format == WebhookFormat.Slack ? SlackBody(chunk) : JsonBody(chunk);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.Timeout);
        try
        {
            using HttpResponseMessage response = await http.PostAsJsonAsync(options.WebhookUrl, body, cts.Token);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            LogFailed(logger, chunk.Length, options.WebhookUrl!.Host, $"HTTP {(int)response.StatusCode}");
            return false;
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFailed(logger, chunk.Length, options.WebhookUrl!.Host, ex.Message);
            return false;
        }
    }

    private void Trim()
    {
        int excess = _lastSeen.Count - options.MaxTrackedKeys;
        if (excess <= 0)
        {
            return;
        }

        foreach (string key in _lastSeen.OrderBy(p => p.Value).Take(excess).Select(p => p.Key).ToList())
        {
            _lastSeen.Remove(key);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "{Count} alerts could not be sent to the webhook at {Host}: {Reason}; they will be sent with the next window")]
    private static partial void LogFailed(ILogger logger, int count, string host, string reason);
}
