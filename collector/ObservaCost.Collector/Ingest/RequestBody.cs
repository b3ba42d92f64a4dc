using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http.Features;

namespace ObservaCost.Collector.Ingest;

/// <summary>A request body read into a pooled buffer, decompressed, within a size limit.</summary>
public sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>
    /// Reads the body. Fails with 413 past <paramref name="maxBytes"/> (compressed or not) and 415 for a content
    /// encoding other than gzip or identity.
    /// </summary>
    public static async Task<(RequestBody? Body, IngestError? Error)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > maxBytes)
        {
            return (null, IngestError.TooLarge(maxBytes));
        }

        IHttpMaxRequestBodySizeFeature? sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        string encoding = request.Headers.ContentEncoding.ToString().Trim();
        Stream source;
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            source = request.Body;
        }
        else if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            source = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else
        {
            return (null, IngestError.UnsupportedMedia($"content encoding '{encoding}' is not supported: send gzip or none"));
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(request.ContentLength ?? 0, 64 * 1024) + 1, maxBytes + 1));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (null, IngestError.TooLarge(maxBytes));
                    }

                    byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                int read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, IngestError.TooLarge(maxBytes));
                }
            }
        }
        catch (InvalidDataException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, IngestError.BadRequest("the gzip body is corrupt: " + ex.Message));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, IngestError.TooLarge(maxBytes));
        }
        finally
        {
            if (!ReferenceEquals(source, request.Body))
            {
                await source.DisposeAsync();
            }
        }

        return (new RequestBody(buffer, length), null);
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>An ingest failure with its HTTP status.</summary>
public sealed record IngestError(int StatusCode, string Message, TimeSpan? RetryAfter = null)
{
    public static IngestError TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the body is larger than the limit of {maxBytes} bytes (Collector:Limits:MaxBodyBytes)"));

    public static IngestError UnsupportedMedia(string message) => new(StatusCodes.Status415UnsupportedMediaType, message);

    public static IngestError BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    public static IngestError Unauthorized(string message) => new(StatusCodes.Status401Unauthorized, message);

    public static IngestError SpoolFull(TimeSpan retryAfter) =>
        new(StatusCodes.Status429TooManyRequests, "the collector's spool is full while the store catches up; retry later", retryAfter);

    public IResult ToResult()
    {
        return new ErrorResult(this);
    }

    private sealed class ErrorResult(IngestError error) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = error.StatusCode;
            if (error.RetryAfter is { } retry)
            {
                httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (error.StatusCode == StatusCodes.Status401Unauthorized)
            {
                httpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"observacost\"";
            }

            return httpContext.Response.WriteAsJsonAsync(new ErrorBody(error.Message), IngestJsonContext.Default.ErrorBody);
        }
    }
}

public sealed record ErrorBody(string Error);
