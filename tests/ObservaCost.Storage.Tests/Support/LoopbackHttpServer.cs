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
    private readonly Func<RecordedRequest, int, Answer> _answer;
    private readonly Task _loop;
    private readonly List<RecordedRequest> _requests = [];

    public sealed record RecordedRequest(string Method, string PathAndQuery, string? Authorization, string Body);

    public sealed record Answer(int Status, string Body = "", string ContentType = "application/json", int? RetryAfterSeconds = null);

    private LoopbackHttpServer(Func<RecordedRequest, int, Answer> answer)
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
    public static LoopbackHttpServer Start(Func<RecordedRequest, int, Answer> answer) => new(answer);

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

            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync();
            }

            var recorded = new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, context.Request.Headers["Authorization"], body);
            int index;
            lock (_requests)
            {
                index = _requests.Count;
                _requests.Add(recorded);
            }

            Answer answer = _answer(recorded, index);
            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers["Retry-After"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            byte[] bytes = Encoding.UTF8.GetBytes(answer.Body);
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
