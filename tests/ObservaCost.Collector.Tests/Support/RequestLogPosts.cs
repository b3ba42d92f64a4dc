using System.Net.Http.Headers;
using System.Text;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>Requests to <c>POST /api/v1/requests</c> of the in-process collector.</summary>
public static class RequestLogPosts
{
    public static HttpRequestMessage Post(byte[] body, string contentType = "application/x-ndjson", string token = CollectorHost.AdminToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/requests") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    public static HttpRequestMessage Post(string body, string contentType = "application/x-ndjson", string token = CollectorHost.AdminToken) =>
        Post(Encoding.UTF8.GetBytes(body), contentType, token);
}
