using System.Net;
using Berth.Core.Quotas;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Testing.TestImages;

namespace Berth.Api.Tests;

/// <summary>
/// Project quotas on <c>/v2</c>: a chunk, a single-request upload or a manifest that does not fit is <c>DENIED</c> with the
/// usage, the quota and what the push needs; nothing of it stays (no upload, no link, no manifest, no tag).
/// </summary>
public sealed class QuotaTests : RegistryTest
{
    private AccessSetup Setup => new(App);

    /// <summary>Pushes one image so the project exists; answers its usage.</summary>
    private async Task<long> SeedAsync()
    {
        await Client.PushManifestAsync("shop/app", OciImage(1), "v1");
        return await Setup.UsedAsync("shop");
    }

    [Fact]
    public async Task PutManifest_OverQuota_IsDeniedWithTheMessage_NothingStored_ThenFitsAfterRaising()
    {
        var used = await SeedAsync();
        var quota = used + 150;
        await Setup.QuotaAsync("shop", quota);
        var image = OciImage(2);
        foreach (var blob in image.Blobs)
        {
            await Client.PushBlobAsync("shop/app", blob); // each fits alone (committed blobs count once a manifest references them)
        }

        using var response = await Client.PutManifestAsync("shop/app", "v2", image.Body, image.MediaType);

        var needed = image.Blobs.Sum(b => (long)b.Length) + image.Body.Length;
        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal($"quota exceeded: {ByteSize.Format(used)} of {ByteSize.Format(quota)} used, this push needs {ByteSize.Format(needed)} more", error.Message);
        Assert.Equal(needed, error.Detail.GetProperty("needed").GetInt64());
        Assert.False(await Client.ManifestExistsAsync("shop/app", "v2"));
        Assert.False(await Client.ManifestExistsAsync("shop/app", image.Digest));
        Assert.Equal(used, await Setup.UsedAsync("shop"));

        await Setup.QuotaAsync("shop", used + needed);
        using var again = await Client.PutManifestAsync("shop/app", "v2", image.Body, image.MediaType);
        await OciAssert.StatusAsync(again, HttpStatusCode.Created);
        Assert.Equal(used + needed, await Setup.UsedAsync("shop"));
    }

    [Fact]
    public async Task PutManifest_ExistingLayersOnly_IsFreeWhenFull()
    {
        var used = await SeedAsync();
        await Setup.QuotaAsync("shop", used);

        // The same image pushed into another repository of the project: its blobs again (monolithic uploads whose digests
        // the project references already) and its manifest under a new tag add nothing, so a full project takes them.
        await Client.PushManifestAsync("shop/mirror", OciImage(1), "copy");
        Assert.Equal(used, await Setup.UsedAsync("shop"));

        // A chunked upload of a referenced blob is checked on its bytes when its digest is not known yet, and is free
        // when the last chunk comes with the digest.
        var known = OciImage(1).Blobs[^1];
        var location = await Client.StartUploadAsync("shop/mirror");
        using var complete = await Client.SendAsync(HttpMethod.Put, location + (location.Contains('?') ? "&" : "?") + "digest=" + Sha256(known), known);
        await OciAssert.StatusAsync(complete, HttpStatusCode.Created);
    }

    [Fact]
    public async Task PatchChunk_OverQuota_IsDenied_AndTheUploadIsGone()
    {
        var used = await SeedAsync();
        await Setup.QuotaAsync("shop", used + 1_000);
        var location = await Client.StartUploadAsync("shop/app");
        using (var first = await Client.SendAsync(HttpMethod.Patch, location, new byte[600]))
        {
            await OciAssert.StatusAsync(first, HttpStatusCode.Accepted);
        }

        Assert.Equal(used + 600, await Setup.UsedAsync("shop")); // an upload in progress counts

        using var response = await Client.SendAsync(HttpMethod.Patch, location, new byte[600]);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.StartsWith($"quota exceeded: {ByteSize.Format(used + 600)} of {ByteSize.Format(used + 1_000)} used, this push needs 600 B more", error.Message);
        using var status = await Client.GetAsync(location);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(used, await Setup.UsedAsync("shop"));
    }

    [Fact]
    public async Task PatchChunkOfUnknownLength_OverQuota_IsDenied_AndTheUploadIsGone()
    {
        var used = await SeedAsync();
        await Setup.QuotaAsync("shop", used + 1_000);
        var location = await Client.StartUploadAsync("shop/app");
        using var content = new StreamContent(new NonSeekableStream(new byte[5_000]));

        using var response = await Client.PatchAsync(location, content);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.EndsWith("this push needs 4.9 KiB more", error.Message);
        using var status = await Client.GetAsync(location);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(used, await Setup.UsedAsync("shop"));
    }

    [Fact]
    public async Task MonolithicUpload_OverQuota_IsDenied_AndNothingIsLinked()
    {
        var used = await SeedAsync();
        await Setup.QuotaAsync("shop", used + 1_000);
        var blob = Bytes(2_000, 99);
        var digest = Sha256(blob);

        using var response = await Client.PostAsync($"/v2/shop/app/blobs/uploads/?digest={digest}", new ByteArrayContent(blob));

        await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.False(await Client.BlobExistsAsync("shop/app", digest));
        Assert.Equal(used, await Setup.UsedAsync("shop"));
    }

    [Fact]
    public async Task CompleteWithLastChunk_OverQuota_IsDenied_AndNothingIsLinked()
    {
        var used = await SeedAsync();
        await Setup.QuotaAsync("shop", used + 1_000);
        var blob = Bytes(3_000, 98);
        var digest = Sha256(blob);
        var location = await Client.StartUploadAsync("shop/app");

        using var response = await Client.SendAsync(HttpMethod.Put, location + (location.Contains('?') ? "&" : "?") + "digest=" + digest, blob);

        await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.False(await Client.BlobExistsAsync("shop/app", digest));
        Assert.Equal(used, await Setup.UsedAsync("shop"));
    }

    [Fact]
    public async Task Push_WithoutQuota_IsUnlimited()
    {
        await SeedAsync();
        await Client.PushManifestAsync("shop/app", OciImage(3), "v3");

        Assert.True(await Client.ManifestExistsAsync("shop/app", "v3"));
    }

    /// <summary>A body of unknown length (sent chunked): the server learns its size only by reading it.</summary>
    private sealed class NonSeekableStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>A server default quota (<c>--default-quota</c>) applies to projects created by a push.</summary>
public sealed class DefaultQuotaTests() : RegistryTest(new Dictionary<string, string?> { ["Berth:DefaultQuotaBytes"] = "1" })
{
    [Fact]
    public async Task AutoCreatedProject_GetsTheDefaultQuota()
    {
        await Client.PushBlobAsync("shop/app", [1]); // creates the project; one byte fits in one

        Assert.Equal(1, await App.Services.GetRequiredService<IProjectQuotaStore>().GetQuotaAsync("shop", CancellationToken.None));
        byte[] two = [1, 2];
        using var response = await Client.PostAsync($"/v2/shop/app/blobs/uploads/?digest={Sha256(two)}", new ByteArrayContent(two));
        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal("quota exceeded: 0 B of 1 B used, this push needs 2 B more", error.Message);
    }
}
