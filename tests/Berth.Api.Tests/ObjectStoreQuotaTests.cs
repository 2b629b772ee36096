using System.Net;
using System.Net.Http.Headers;
using Amazon.S3;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Storage.Azure;
using Berth.Storage.S3;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Api.Tests;

/// <summary>
/// An object store that refuses writes for lack of room (the error an S3 server gives for a bucket quota, a 507 from
/// Azure Blob) answers as a full disk does: 507 <c>DENIED</c>, and the upload is removed with its data. The store here
/// is the server's own, whose writer throws that error past a quota, with the provider's detector registered.
/// </summary>
public sealed class ObjectStoreQuotaTests
{
    private const int Quota = 1 << 20;

    public static TheoryData<string> Stores => ["s3", "azure"];

    private static Exception Refusal(string store) => store == "s3"
        ? new AmazonS3Exception("The quota has been exceeded") { ErrorCode = "QuotaExceeded", StatusCode = HttpStatusCode.Forbidden }
        : new global::Azure.RequestFailedException(507, "Insufficient storage");

    private static BerthApplication Start(string store, QuotaUploadStore.Box box) => new(new Dictionary<string, string?> { ["Berth:Storage:Type"] = "filesystem" })
    {
        ConfigureTestServices = services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IUploadStore));
            services.RemoveAll<IUploadStore>();
            services.AddSingleton<IUploadStore>(sp =>
            {
                var inner = (IUploadStore)original.ImplementationFactory!(sp);
                box.Store = new QuotaUploadStore(inner, Quota, () => Refusal(store));
                return box.Store;
            });
            if (store == "s3")
            {
                services.AddSingleton<IStorageFullDetector, S3StorageFull>();
            }
            else
            {
                services.AddSingleton<IStorageFullDetector, AzureStorageFull>();
            }
        },
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Patch_StoreOverItsQuota_507AndTheUploadIsGone(string store)
    {
        var box = new QuotaUploadStore.Box();
        using var app = Start(store, box);
        using var client = app.CreateClient();
        var location = await client.StartUploadAsync("quota/app");
        var id = location.Split('/')[^1].Split('?')[0];

        var first = new ByteArrayContent(new byte[Quota / 2]);
        first.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using (var ok = await client.PatchAsync(location, first))
        {
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
            location = ok.Headers.Location!.OriginalString;
        }

        var second = new ByteArrayContent(new byte[Quota]);
        second.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using (var refused = await client.PatchAsync(location, second))
        {
            var error = await OciAssert.ErrorAsync(refused, HttpStatusCode.InsufficientStorage, "DENIED");
            Assert.Contains("storage is full", error.Message, StringComparison.Ordinal);
        }

        Assert.Contains(id, box.Store!.Deleted); // its data, at once
        using var status = await client.GetAsync(location);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task MonolithicPost_StoreOverItsQuota_507AndNothingKept(string store)
    {
        var box = new QuotaUploadStore.Box();
        using var app = Start(store, box);
        using var client = app.CreateClient();
        var blob = TestImages.Bytes(Quota + 1, 1901);

        using var refused = await client.PostAsync($"/v2/quota/app/blobs/uploads/?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));

        await OciAssert.ErrorAsync(refused, HttpStatusCode.InsufficientStorage, "DENIED");
        Assert.Single(box.Store!.Deleted);
        Assert.False(await client.BlobExistsAsync("quota/app", TestImages.Sha256(blob)));
    }

    /// <summary>The server's upload store, whose writers refuse bytes past <c>quota</c> in total with the store's error.</summary>
    private sealed class QuotaUploadStore(IUploadStore inner, long quota, Func<Exception> refusal) : IUploadStore
    {
        private long _written;

        public sealed class Box
        {
            public QuotaUploadStore? Store { get; set; }
        }

        public System.Collections.Concurrent.ConcurrentBag<string> Deleted { get; } = [];

        public Task CreateAsync(string uploadId, CancellationToken cancellationToken) => inner.CreateAsync(uploadId, cancellationToken);

        public Task CreatePrivateAsync(string uploadId, CancellationToken cancellationToken) => inner.CreatePrivateAsync(uploadId, cancellationToken);

        public Task<long?> GetLengthAsync(string uploadId, string? storeState, CancellationToken cancellationToken) => inner.GetLengthAsync(uploadId, storeState, cancellationToken);

        public async Task<(UploadAppendStatus Status, IUploadWriter? Writer)> OpenWriterAsync(string uploadId, long offset, string? storeState, CancellationToken cancellationToken)
        {
            var (status, writer) = await inner.OpenWriterAsync(uploadId, offset, storeState, cancellationToken);
            return (status, writer is null ? null : new Writer(this, writer));
        }

        public Task<Stream?> OpenReadAsync(string uploadId, string? storeState, CancellationToken cancellationToken) => inner.OpenReadAsync(uploadId, storeState, cancellationToken);

        public Task<UploadCommitResult> CommitAsync(string uploadId, Digest digest, string? storeState, CancellationToken cancellationToken) =>
            inner.CommitAsync(uploadId, digest, storeState, cancellationToken);

        public Task DeleteAsync(string uploadId, CancellationToken cancellationToken)
        {
            Deleted.Add(uploadId);
            return inner.DeleteAsync(uploadId, cancellationToken);
        }

        public IAsyncEnumerable<(string Id, DateTimeOffset LastWrite)> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        private sealed class Writer(QuotaUploadStore store, IUploadWriter inner) : IUploadWriter
        {
            public long Size => inner.Size;

            public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
            {
                if (Interlocked.Add(ref store._written, data.Length) > store.Limit())
                {
                    throw store.Refuse();
                }

                return inner.WriteAsync(data, cancellationToken);
            }

            public Task<string?> CommitAsync(CancellationToken cancellationToken) => inner.CommitAsync(cancellationToken);

            public Task CancelAsync(CancellationToken cancellationToken) => inner.CancelAsync(cancellationToken);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private long Limit() => quota;

        private Exception Refuse() => refusal();
    }
}
