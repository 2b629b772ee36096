using System.Security.Cryptography;
using Berth.Storage.Conformance;
using Berth.Testing.Servers;

namespace Berth.Storage.S3.Tests;

/// <summary>The blob and upload contract on <see cref="S3BlobStore"/> against radosgw, each test below its own prefix of one bucket.</summary>
[RequiresServer("S3 (radosgw)", "BERTH_TEST_S3", "127.0.0.1:7480")]
public sealed class S3BlobStoreConformance(S3TestBucket bucket) : BlobStoreConformance, IClassFixture<S3TestBucket>
{
    private readonly string _prefix = "conformance/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    protected override async Task<Stores> CreateStoresAsync()
    {
        await bucket.EnsureCreatedAsync();
        return await ReopenStoresAsync();
    }

    protected override Task<Stores> ReopenStoresAsync()
    {
        var store = bucket.OpenStore(_prefix);
        return Task.FromResult(new Stores(store, store));
    }

    protected override Task DeleteStoresAsync() => bucket.DeleteAllAsync(_prefix + "/");
}
