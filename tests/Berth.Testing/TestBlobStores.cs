using System.Runtime.CompilerServices;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Testing;

/// <summary>
/// Blob stores that answer reads the way other providers will, over the server's own file store, so the HTTP layer can
/// be tested against every kind of <see cref="BlobRead"/> answer. Use with <see cref="BerthApplication.ConfigureTestServices"/>.
/// </summary>
public static class TestBlobStores
{
    /// <summary>Answers <see cref="BlobRead.Streamed"/> where the file store would answer a local file (an object store's GET).</summary>
    public static void UseStreaming(IServiceCollection services) =>
        Replace(services, files => new StreamingBlobStore(files, long.MaxValue));

    /// <summary>
    /// As <see cref="UseStreaming"/>, but each stream ends after <paramref name="bytes"/> bytes while the answer still
    /// claims the full length: an object store's connection that breaks midway.
    /// </summary>
    public static Action<IServiceCollection> UseStreamingThatEndsAfter(long bytes) => services =>
        Replace(services, files => new StreamingBlobStore(files, bytes));

    /// <summary>Answers <see cref="BlobRead.Redirect"/> to <paramref name="baseUri"/> + algorithm/hex whenever the caller allows it (a presigning store).</summary>
    public static Action<IServiceCollection> UseRedirecting(Uri baseUri, DateTimeOffset expiresAt) => services =>
        Replace(services, files => new RedirectingBlobStore(files, baseUri, expiresAt));

    /// <summary>Wraps the store the server was composed with (the file store, or an object store under BERTH_TEST_STORAGE).</summary>
    private static void Replace(IServiceCollection services, Func<IBlobStore, IBlobStore> wrap)
    {
        var original = services.LastOrDefault(d => d.ServiceType == typeof(IBlobStore))
            ?? throw new InvalidOperationException("No IBlobStore is registered to wrap.");
        services.RemoveAll<IBlobStore>();
        services.AddSingleton(sp => wrap(original switch
        {
            { ImplementationInstance: IBlobStore instance } => instance,
            { ImplementationFactory: { } factory } => (IBlobStore)factory(sp),
            { ImplementationType: { } type } => (IBlobStore)ActivatorUtilities.GetServiceOrCreateInstance(sp, type),
            _ => throw new InvalidOperationException("The registered IBlobStore cannot be wrapped."),
        }));
    }

    /// <summary>Delegates everything but <see cref="IBlobStore.OpenAsync"/> to the store it wraps.</summary>
    private abstract class WrappingBlobStore(IBlobStore inner) : IBlobStore
    {
        protected IBlobStore Inner => inner;

        public Task<BlobStat> StatAsync(Digest digest, CancellationToken cancellationToken) => inner.StatAsync(digest, cancellationToken);

        public abstract Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken);

        public async IAsyncEnumerable<StoredBlob> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var blob in inner.ListAsync(cancellationToken))
            {
                yield return blob;
            }
        }

        public Task<BlobDeleteResult> DeleteAsync(Digest digest, CancellationToken cancellationToken) => inner.DeleteAsync(digest, cancellationToken);
    }

    private sealed class StreamingBlobStore(IBlobStore inner, long endAfter) : WrappingBlobStore(inner)
    {
        public override async Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken)
        {
            var read = await Inner.OpenAsync(digest, range, options, cancellationToken);
            if (read is not BlobRead.LocalFile file)
            {
                return read;
            }

            var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0);
            stream.Position = file.Offset;
            return new BlobRead.Streamed(new SliceStream(stream, Math.Min(file.Length, endAfter)), file.Offset, file.Length, file.TotalSize);
        }
    }

    private sealed class RedirectingBlobStore(IBlobStore inner, Uri baseUri, DateTimeOffset expiresAt) : WrappingBlobStore(inner)
    {
        public override async Task<BlobRead> OpenAsync(Digest digest, ByteRange? range, BlobReadOptions options, CancellationToken cancellationToken)
        {
            if (!options.AllowRedirect)
            {
                return await Inner.OpenAsync(digest, range, options, cancellationToken);
            }

            // A presigning store answers without reading: the object store applies the client's Range itself.
            return (await Inner.StatAsync(digest, cancellationToken)).Exists
                ? new BlobRead.Redirect(new Uri(baseUri, $"{digest.AlgorithmName}/{digest.Hex}"), expiresAt)
                : BlobRead.NotFound.Instance;
        }
    }

    /// <summary>The next <c>length</c> bytes of a stream, then its end, in reads of at most 1000 bytes (as a network stream).</summary>
    private sealed class SliceStream(Stream inner, long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer[..(int)Math.Min(Math.Min(buffer.Length, 1000), _left)]);
            _left -= read;
            return read;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
