using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ObservaCost.Storage.Tests.Support;

/// <summary>
/// A real HTTP server on 127.0.0.1 that answers each request with a handler and records every request (method, path
/// and query, body), for answers no real server here gives on demand (503 then 204) and for the InfluxDB 2.x
/// management API (no influxd 2.x is installed here).
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<RecordedRequest, int, Task<Answer>> _answer;
    private readonly Task _loop;
    private readonly List<RecordedRequest> _requests = [];

    /// <summary>A request as received; <see cref="Body"/> is the raw body as UTF-8 (gzip bodies: see <see cref="BodyBytes"/>).</summary>
    public sealed record RecordedRequest(string Method, string PathAndQuery, string? Authorization, byte[] BodyBytes, string? ContentType, string? ContentEncoding)
    {
        public string Body => Encoding.UTF8.GetString(BodyBytes);
    }

    public sealed record Answer(int Status, string Body = "", string ContentType = "application/json", int? RetryAfterSeconds = null, byte[]? BodyBytes = null);

    private LoopbackHttpServer(Func<RecordedRequest, int, Task<Answer>> answer)
    {
        _answer = answer;
        int port = FreePort();
        Url = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Url.AbsoluteUri);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToList();
            }
        }
    }

    /// <summary>Starts a server; <paramref name="answer"/> gets each request and its 0-based index.</summary>
    public static LoopbackHttpServer Start(Func<RecordedRequest, int, Answer> answer) => new((r, i) => Task.FromResult(answer(r, i)));

    /// <summary>Starts a server whose answers may take a round trip elsewhere (a translating proxy).</summary>
    public static LoopbackHttpServer StartAsync(Func<RecordedRequest, int, Task<Answer>> answer) => new(answer);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var recorded = new RecordedRequest(
                context.Request.HttpMethod,
                context.Request.Url!.PathAndQuery,
                context.Request.Headers["Authorization"],
                body.ToArray(),
                context.Request.ContentType,
                context.Request.Headers["Content-Encoding"]);
            int index;
            lock (_requests)
            {
                index = _requests.Count;
                _requests.Add(recorded);
            }

            Answer answer;
            try
            {
                answer = await _answer(recorded, index);
            }
            catch (HttpRequestException ex)
            {
                answer = new Answer(502, "{\"error\":\"" + ex.Message.Replace("\"", "'", StringComparison.Ordinal) + "\"}");
            }

            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers["Retry-After"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            byte[] bytes = answer.BodyBytes ?? Encoding.UTF8.GetBytes(answer.Body);
            if (bytes.Length > 0)
            {
                context.Response.ContentType = answer.ContentType;
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
            }

            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
