using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ObservaCost.Storage.Influx;

/// <summary>
/// The one retry mechanism of the store client: a Polly 8 pipeline (retry around a per-try timeout) that every HTTP
/// request of <see cref="InfluxDbStore"/> goes through, writes, queries and deletes alike. Built from
/// <see cref="InfluxDbOptions"/> (<c>RetryMaxAttempts</c>, <c>RetryInitialDelay</c>, <c>RetryMaxDelay</c>,
/// <c>RetryMaxElapsed</c>, <c>RequestTimeout</c>) on the injected <see cref="TimeProvider"/>.
/// <list type="bullet">
/// <item>Retried: connection failures, a try that timed out, 429 (after its <c>Retry-After</c>, at most
/// <c>RetryMaxDelay</c>), and 5xx except 501 and 505, which no retry can change.</item>
/// <item>Never retried: every 4xx other than 429 — in particular a 400 partial write, whose good points the server
/// has already stored; the caller counts the rejected ones.</item>
/// <item>Delays: exponential from <c>RetryInitialDelay</c>, jittered, at most <c>RetryMaxDelay</c>; no new try once
/// <c>RetryMaxElapsed</c> has passed since the first, nor after <c>RetryMaxAttempts</c> retries.</item>
/// </list>
/// The collector's spool forwarder keeps its own outer loop: the spool, not this pipeline, is the durability boundary.
/// </summary>
internal static class StoreRetryPipeline
{
    /// <summary>When the first try started (<see cref="TimeProvider.GetTimestamp"/>); the elapsed budget counts from it.</summary>
    internal static readonly ResiliencePropertyKey<long> StartedKey = new("observacost.store.started");

    /// <summary>Called before each wait: the try that failed (1-based), the wait, and the failed outcome.</summary>
    internal delegate ValueTask RetryObserver(int attempt, TimeSpan delay, Outcome<HttpResponseMessage> outcome, ResilienceContext context);

    public static ResiliencePipeline<HttpResponseMessage> Create(InfluxDbOptions options, TimeProvider time, RetryObserver onRetry)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(onRetry);
        return new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.RetryMaxAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryInitialDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    IsTransient(args.Outcome, args.Context.CancellationToken)
                    && time.GetElapsedTime(args.Context.Properties.GetValue(StartedKey, time.GetTimestamp())) < options.RetryMaxElapsed),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, time, options.RetryMaxDelay)),
                OnRetry = args => onRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome, args.Context),
            })
            .AddTimeout(options.RequestTimeout)
            .Build();
    }

    /// <summary>
    /// The range delete's repeat (InfluxDbStore.Delete.cs), on the same mechanism: a try that reports <c>false</c> (the
    /// DELETE met a cache snapshot and dropped series were written back) is repeated after <c>RetryInitialDelay</c>,
    /// <paramref name="maxTries"/> tries in all; exceptions are not retried here (each request has the pipeline above).
    /// </summary>
    public static ResiliencePipeline<bool> CreateRepeatUntilTrue(InfluxDbOptions options, TimeProvider time, int maxTries)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ResiliencePipelineBuilder<bool> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<bool>
            {
                MaxRetryAttempts = maxTries - 1,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                Delay = options.RetryInitialDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is null && !args.Outcome.Result),
            })
            .Build();
    }

    /// <summary>Whether another try may succeed where this one failed.</summary>
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken callerToken)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TimeoutRejectedException
                || (outcome.Exception is OperationCanceledException && !callerToken.IsCancellationRequested);
        }

        return outcome.Result is { } response && IsTransient(response.StatusCode);
    }

    internal static bool IsTransient(HttpStatusCode status) =>
        status == HttpStatusCode.TooManyRequests
        || ((int)status >= 500 && status is not (HttpStatusCode.NotImplemented or HttpStatusCode.HttpVersionNotSupported));

    /// <summary>The server's <c>Retry-After</c> (delta or date), clamped to [0, <paramref name="max"/>]; null: use the backoff.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider time, TimeSpan max)
    {
        RetryConditionHeaderValue? header = response?.Headers.RetryAfter;
        TimeSpan? value = header?.Delta;
        if (value is null && header?.Date is { } date)
        {
            value = date - time.GetUtcNow();
        }

        return value is null ? null : value.Value < TimeSpan.Zero ? TimeSpan.Zero : value.Value > max ? max : value.Value;
    }
}
