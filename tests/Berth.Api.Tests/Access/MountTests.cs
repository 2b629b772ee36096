using System.Net;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>A cross-repository mount needs pull on the source; without it the request is a plain upload.</summary>
public sealed class MountTests : AccessTest
{
    private static readonly byte[] Blob = TestImages.Bytes(64, 42);
    private static readonly string Digest = TestImages.Sha256(Blob);

    public MountTests()
    {
        Setup.ProjectAsync("proj").GetAwaiter().GetResult();
        Setup.ProjectAsync("shared").GetAwaiter().GetResult();
        Setup.ProjectAsync("secret").GetAwaiter().GetResult();
        Admin.PushBlobAsync("shared/base", Blob).GetAwaiter().GetResult();
        Admin.PushBlobAsync("secret/base", Blob).GetAwaiter().GetResult();
    }

    private async Task<HttpResponseMessage> MountAsync(bool bearer, string query, params string[] scopes)
    {
        var (user, credentials) = await UserAsync("dev", "proj");
        await Setup.MemberAsync("shared", user, ProjectRole.Reader);
        using var client = bearer
            ? AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, credentials, ["repository:proj/app:pull,push", .. scopes]))
            : AccessClient.Basic(App, credentials);
        return await client.PostAsync($"/v2/proj/app/blobs/uploads/?{query}", null);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithPullOnTheSource_Mounts(bool bearer)
    {
        using var response = await MountAsync(bearer, $"mount={Digest}&from=shared/base", "repository:shared/base:pull");

        await OciAssert.StatusAsync(response, HttpStatusCode.Created);
        Assert.Equal($"/v2/proj/app/blobs/{Digest}", response.Headers.Location?.OriginalString);
        Assert.True(await Admin.BlobExistsAsync("proj/app", Digest));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithoutPullOnTheSource_StartsAPlainUpload(bool bearer)
    {
        using var response = await MountAsync(bearer, $"mount={Digest}&from=secret/base", "repository:secret/base:pull");

        await OciAssert.StatusAsync(response, HttpStatusCode.Accepted);
        Assert.Contains("/v2/proj/app/blobs/uploads/", response.Headers.Location?.OriginalString);
        Assert.False(await Admin.BlobExistsAsync("proj/app", Digest));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FromAMissingProject_StartsAPlainUpload(bool bearer)
    {
        using var response = await MountAsync(bearer, $"mount={Digest}&from=ghost/base", "repository:ghost/base:pull");

        await OciAssert.StatusAsync(response, HttpStatusCode.Accepted);
        Assert.False(await Admin.BlobExistsAsync("proj/app", Digest));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithoutFrom_StartsAPlainUpload(bool bearer)
    {
        using var response = await MountAsync(bearer, $"mount={Digest}");

        await OciAssert.StatusAsync(response, HttpStatusCode.Accepted);
        Assert.False(await Admin.BlobExistsAsync("proj/app", Digest));
    }

    [Fact]
    public async Task AnUploadSessionOfAnotherProject_CannotBeUsed()
    {
        var (_, credentials) = await UserAsync("dev", "proj");
        var location = await Admin.StartUploadAsync("secret/app");
        var id = location[(location.LastIndexOf('/') + 1)..];
        using var client = AccessClient.Basic(App, credentials);

        using var status = await client.GetAsync($"/v2/proj/app/blobs/uploads/{id}");
        using var put = await client.PutAsync($"/v2/proj/app/blobs/uploads/{id}?digest={Digest}", new ByteArrayContent(Blob));
        using var cancel = await client.DeleteAsync($"/v2/proj/app/blobs/uploads/{id}");
        using var direct = await client.GetAsync(location);

        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await OciAssert.ErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await OciAssert.ErrorAsync(cancel, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await OciAssert.ErrorAsync(direct, HttpStatusCode.Forbidden, "DENIED");
        Assert.False(await Admin.BlobExistsAsync("proj/app", Digest));
        using var stillThere = await Admin.GetAsync(location);
        await OciAssert.StatusAsync(stillThere, HttpStatusCode.NoContent);
    }
}
