using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.Api.Hosting;

/// <summary>
/// The size limit of request bodies. Every body may be at most <see cref="DefaultMaxBytes"/> unless its route sets
/// another limit with <see cref="Set"/> after the request is authorized: blob uploads lift it (their size is
/// <c>--max-blob-size</c>'s business), a manifest PUT raises it to <c>--max-manifest-size</c>. So a stranger's
/// gigabyte is never read: a body over the limit fails its first read when its <c>Content-Length</c> already says
/// so, or the read that crosses the limit, with a <see cref="BadHttpRequestException"/> of status 413; a body nobody
/// read is not drained beyond the limit either (Kestrel then closes the connection after the answer).
/// </summary>
/// <remarks>
/// Kestrel enforces the limit itself through <see cref="IHttpMaxRequestBodySizeFeature"/>, which the middleware
/// sets for each request. A server without that feature (the in-memory test server) gets the same behaviour from
/// <see cref="RequestBodyLimitMiddleware"/>, which then counts the bytes read through a wrapping stream.
/// </remarks>
public static class RequestBodyLimits
{
    /// <summary>
    /// 64 KiB: more than any body Berth takes apart from blobs and manifests (a management JSON body, a token request's
    /// form), and what <see cref="Management.RequestBody"/> allows.
    /// </summary>
    public const long DefaultMaxBytes = 64 * 1024;

    /// <summary>
    /// Sets the limit of this request's body (null: none). Must be called before anything reads the body; afterwards
    /// (and on a server that cannot change it) nothing happens and false is returned.
    /// </summary>
    public static bool Set(HttpContext context, long? maxBytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
            return true;
        }

        return false;
    }

    /// <summary>The message of a body refused for its size, in the words every API uses.</summary>
    public static string TooLarge(long? limit) =>
        limit is { } bytes ? $"the request body is larger than {bytes} bytes, the limit of this request" : "the request body is too large";

    /// <summary>The limit in force for this request (null: none).</summary>
    public static long? Get(HttpContext context) => context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
}

/// <summary>Applies <see cref="RequestBodyLimits.DefaultMaxBytes"/> to every request before any endpoint sees it.</summary>
public sealed class RequestBodyLimitMiddleware
{
    private readonly RequestDelegate _next;

    public RequestBodyLimitMiddleware(RequestDelegate next) => _next = next;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { } server)
        {
            if (!server.IsReadOnly)
            {
                server.MaxRequestBodySize = RequestBodyLimits.DefaultMaxBytes;
            }
        }
        else
        {
            var limited = new LimitedBodyFeature(context.Request.Body, context.Request.ContentLength, RequestBodyLimits.DefaultMaxBytes);
            context.Features.Set<IHttpMaxRequestBodySizeFeature>(limited);
            context.Request.Body = limited.Stream;
        }

        return _next(context);
    }

    /// <summary>The limit for a server that has none of its own: a stream that counts what is read through it.</summary>
    private sealed class LimitedBodyFeature : IHttpMaxRequestBodySizeFeature
    {
        private readonly long? _contentLength;
        private long _read;

        public LimitedBodyFeature(Stream inner, long? contentLength, long limit)
        {
            _contentLength = contentLength;
            MaxRequestBodySize = limit;
            Stream = new CountingStream(inner, this);
        }

        public Stream Stream { get; }

        /// <summary>True once the body has been read from, as Kestrel's feature.</summary>
        public bool IsReadOnly { get; private set; }

        public long? MaxRequestBodySize { get; set; }

        private void OnRead(int count)
        {
            IsReadOnly = true;
            if (MaxRequestBodySize is not { } limit)
            {
                return;
            }

            _read += count;
            if (_contentLength > limit || _read > limit)
            {
                throw new BadHttpRequestException(RequestBodyLimits.TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
            }
        }

        private void BeforeRead()
        {
            IsReadOnly = true;
            if (MaxRequestBodySize is { } limit && _contentLength > limit)
            {
                throw new BadHttpRequestException(RequestBodyLimits.TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
            }
        }

        private sealed class CountingStream(Stream inner, LimitedBodyFeature owner) : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

            public override int Read(Span<byte> buffer)
            {
                owner.BeforeRead();
                var read = inner.Read(buffer);
                owner.OnRead(read);
                return read;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                owner.BeforeRead();
                var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                owner.OnRead(read);
                return read;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
