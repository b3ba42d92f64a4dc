using System.Buffers;
using System.Buffers.Binary;
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
    /// Reads the body. Fails with 413 past <paramref name="maxBytes"/> (compressed or not), 415 for a content or
    /// transfer coding other than gzip or identity (or gzip twice), and 400 for a gzip body that is corrupt or cut
    /// short: its trailer (CRC-32 and length of the last member) must match what was decompressed.
    /// </summary>
    /// <remarks>
    /// <c>Transfer-Encoding: gzip, chunked</c> is decoded like <c>Content-Encoding: gzip</c> (Kestrel removes the
    /// chunking). .NET's <see cref="GZipStream"/> checks a trailer that is present but ends quietly, without an error,
    /// when the body stops before it: hence the trailer check here.
    /// </remarks>
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

        if (GzipLayers(request, out IngestError? codingError) is not { } gzipLayers)
        {
            return (null, codingError);
        }

        TrailerTap? tap = gzipLayers == 1 ? new TrailerTap(request.Body) : null;
        Stream source = tap is null ? request.Body : new GZipStream(tap, CompressionMode.Decompress, leaveOpen: true);

        // With a Content-Length and no compression the size is known: one buffer of exactly that size. Otherwise the
        // buffer grows by half (not doubling), so the last growth wastes at most a third of the body.
        long expected = tap is null && request.ContentLength is { } declared ? declared + 1 : 64 * 1024;
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(expected, maxBytes + 1));
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

                    byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length + (long)(buffer.Length / 2), maxBytes + 1));
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

            if (tap is not null && !tap.TrailerMatches(buffer.AsSpan(0, length)))
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return (null, IngestError.BadRequest("the gzip body is truncated or corrupt: it ends without a trailer that matches its content (CRC-32 and length)"));
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

    /// <summary>How many gzip layers wrap the body (0 or 1), from Content-Encoding and Transfer-Encoding; null and an error otherwise.</summary>
    private static int? GzipLayers(HttpRequest request, out IngestError? error)
    {
        int gzip = 0;
        error = null;
        foreach ((string header, string? value) in new[] { ("content", request.Headers.ContentEncoding.ToString()), ("transfer", request.Headers.TransferEncoding.ToString()) })
        {
            foreach (string coding in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (coding.Equals("identity", StringComparison.OrdinalIgnoreCase) || (header == "transfer" && coding.Equals("chunked", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                if (!coding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !coding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
                {
                    error = IngestError.UnsupportedMedia($"{header} encoding '{coding}' is not supported: send gzip or none");
                    return null;
                }

                gzip++;
            }
        }

        if (gzip > 1)
        {
            error = IngestError.UnsupportedMedia("the body is gzip-encoded more than once (Content-Encoding and Transfer-Encoding): send it gzipped once");
            return null;
        }

        return gzip;
    }

    /// <summary>Passes the compressed body through and keeps its last 8 bytes: the gzip trailer of the last member.</summary>
    private sealed class TrailerTap(Stream inner) : Stream
    {
        private readonly byte[] _tail = new byte[8];
        private long _total;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        /// <summary>
        /// True when the body ended with a trailer whose ISIZE is the length of the last member's data and whose
        /// CRC-32 is that data's (the last ISIZE bytes of the output; earlier members' trailers zlib has checked).
        /// </summary>
        public bool TrailerMatches(ReadOnlySpan<byte> decompressed)
        {
            if (_total < 18)
            {
                return false; // shorter than a gzip header and trailer
            }

            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(_tail);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(_tail.AsSpan(4));
            return size <= decompressed.Length && System.IO.Hashing.Crc32.HashToUInt32(decompressed[^(int)size..]) == crc;
        }

        public override int Read(byte[] buffer, int offset, int count) => Keep(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken);
            return Keep(buffer.Span[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Keep(ReadOnlySpan<byte> read)
        {
            if (read.Length >= 8)
            {
                read[^8..].CopyTo(_tail);
            }
            else if (read.Length > 0)
            {
                _tail.AsSpan(read.Length).CopyTo(_tail);
                read.CopyTo(_tail.AsSpan(8 - read.Length));
            }

            _total += read.Length;
            return read.Length;
        }
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

            return httpContext.Response.WriteAsJsonAsync(new ErrorBody(error.Message), IngestJsonContext.Default.ErrorBody);
        }
    }
}

public sealed record ErrorBody(string Error);
