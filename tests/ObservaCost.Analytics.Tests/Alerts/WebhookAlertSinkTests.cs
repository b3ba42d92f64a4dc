using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Alerts;

/// <summary>The webhook sink against a real HTTP receiver on loopback.</summary>
public sealed class WebhookAlertSinkTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly ConcurrentQueue<JsonObject> _received = new();
    private readonly HttpClient _http = new();
    private WebApplication? _receiver;
    private Uri? _url;
    private int _failWith;

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _receiver = builder.Build();
        _receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            if (_failWith != 0)
            {
                return Results.StatusCode(_failWith);
            }

            _received.Enqueue((JsonObject)(await JsonNode.ParseAsync(request.Body))!);
            return Results.Ok();
        });
        await _receiver.StartAsync();
        string address = _receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _url = new Uri(address + "/hook");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _receiver!.DisposeAsync();
    }

    private WebhookAlertSink Sink(FakeTimeProvider time, WebhookFormat format = WebhookFormat.Json) =>
        new(_http, new AlertOptions { WebhookUrl = _url, Format = format, Cooldown = TimeSpan.FromHours(1) }, time, NullLogger<WebhookAlertSink>.Instance);

    private static AnomalyEvent Event(string entity, AnomalySeverity severity = AnomalySeverity.Critical, int minute = 0) => new()
    {
        Time = T0.AddMinutes(minute), Series = "power_watts", EntityKind = "gpu", Entity = entity, Detector = "rule_zombie_power",
        Severity = severity, Score = 1, Value = 633.5, ExpectedValue = 69, LowerBound = 69, UpperBound = 351,
    };

    [Fact]
    public async Task Send_Json_PostsEveryFieldOfTheEvent()
    {
        AlertResult result = await Sink(new FakeTimeProvider(T0)).SendAsync([Event("node-a/GPU-1")]);

        Assert.Equal(new AlertResult(1, 0, 0, true), result);
        JsonObject body = Assert.Single(_received);
        Assert.Equal("observacost", (string?)body["source"]);
        JsonNode alert = body["alerts"]![0]!;
        Assert.Equal("critical", (string?)alert["severity"]);
        Assert.Equal("node-a/GPU-1", (string?)alert["entity"]);
        Assert.Equal(633.5, (double)alert["value"]!);
        Assert.Equal(69, (double)alert["expectedValue"]!);
        Assert.Equal("2026-11-21T10:00:00.0000000+00:00", (string?)alert["time"]);
    }

    [Fact]
    public async Task Send_Slack_PostsTextAndOneSectionPerAlert()
    {
        await Sink(new FakeTimeProvider(T0), WebhookFormat.Slack).SendAsync([Event("node-a/GPU-1"), Event("node-a/GPU-2")]);

        JsonObject body = Assert.Single(_received);
        Assert.Equal("ObservaCost: 2 anomalies", (string?)body["text"]);
        JsonArray blocks = body["blocks"]!.AsArray();
        Assert.Equal(2, blocks.Count);
        Assert.Equal("section", (string?)blocks[0]!["type"]);
        Assert.Equal("*CRITICAL* `rule_zombie_power` on gpu `node-a/GPU-1`: power_watts = 633.5 (expected 69) at 2026-11-21 10:00 UTC", (string?)blocks[0]!["text"]!["text"]);
    }

    [Fact]
    public async Task Send_LongAnomaly_AlertsOnceThenAgainAfterAQuietCooldown()
    {
        var time = new FakeTimeProvider(T0);
        WebhookAlertSink sink = Sink(time);

        // The same GPU fires every 10 minutes for 3 hours: one alert, the rest suppressed (the cool-down slides).
        int sent = 0, suppressed = 0;
        for (int i = 0; i < 18; i++)
        {
            AlertResult r = await sink.SendAsync([Event("node-a/GPU-1", minute: i * 10)]);
            sent += r.Sent;
            suppressed += r.Suppressed;
            time.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Equal((1, 17), (sent, suppressed));

        // Quiet for more than the cool-down, then it fires again: a new alert.
        time.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(1, (await sink.SendAsync([Event("node-a/GPU-1", minute: 300)])).Sent);
        Assert.Equal(2, _received.Count);
    }

    [Fact]
    public async Task Send_ReceiverFails_ReportsItAndSendsAgainNextTime()
    {
        var time = new FakeTimeProvider(T0);
        WebhookAlertSink sink = Sink(time);
        _failWith = 503;
        Assert.Equal(new AlertResult(0, 0, 0, false), await sink.SendAsync([Event("node-a/GPU-1")]));

        _failWith = 0;
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(new AlertResult(1, 0, 0, true), await sink.SendAsync([Event("node-a/GPU-1", minute: 10)]));
        Assert.Single(_received);
    }

    [Fact]
    public async Task Send_BelowMinimumSeverityAndDuplicatesInOneBatch_AreNotSent()
    {
        AlertResult r = await Sink(new FakeTimeProvider(T0)).SendAsync(
            [Event("node-a/GPU-1", AnomalySeverity.Info), Event("node-a/GPU-2"), Event("node-a/GPU-2", minute: 1)]);

        Assert.Equal(new AlertResult(1, 1, 1, true), r);
        Assert.Single(Assert.Single(_received)["alerts"]!.AsArray());
    }
}
