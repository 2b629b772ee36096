using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// Repositories and tags in the management API: <c>GET /projects/{project}/repositories</c>,
/// <c>GET|DELETE /repositories/tags?repository=</c>, <c>DELETE /repositories?repository=</c> (permissions per caller
/// kind are in <see cref="PermissionMatrixTests"/>).
/// </summary>
public sealed class RepositoryTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static TestManifest Image(byte[] config, params byte[][] layers) =>
        new(OciManifest, OciManifestBody(TestDescriptor.Of(OciConfig, config), layers.Select(l => TestDescriptor.Of(OciLayer, l))), [config, .. layers], []);

    private static JsonElement Only(JsonElement page, string name) =>
        Assert.Single(page.GetProperty("items").EnumerateArray(), i => i.GetProperty("name").GetString() == name);

    [Fact]
    public async Task ListRepositories_ImagesSharingLayers_CountEachBlobOnce()
    {
        await _app.CreateProjectAsync("shop");
        byte[] shared = Bytes(5000, 1), own = Bytes(300, 2), config1 = Config("one"), config2 = Config("two");
        var one = Image(config1, shared);
        var two = Image(config2, shared, own);
        await _app.Admin.PushManifestAsync("shop/team/app", one, "v1");
        await _app.Admin.PushManifestAsync("shop/team/app", two, "v2");
        await _app.Admin.PushManifestAsync("shop/team/app", two, "latest");

        var page = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/repositories");

        var app = Only(page, "shop/team/app");
        Assert.Equal(3, app.GetProperty("tagCount").GetInt64());
        Assert.Equal(2, app.GetProperty("manifestCount").GetInt64());
        Assert.Equal(shared.Length + own.Length + config1.Length + config2.Length + one.Body.Length + two.Body.Length, app.GetProperty("size").GetInt64());
        Assert.NotEqual(JsonValueKind.Null, app.GetProperty("lastPushedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, app.GetProperty("lastPulledAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task ListTags_Index_SizeCountsChildrenAndTheirBlobs()
    {
        await _app.CreateProjectAsync("shop");
        var shared = Bytes(4000, 3);
        var amd = Image(Config("amd"), shared);
        var arm = Image(Config("arm"), shared, Bytes(700, 4));
        var index = Index([amd, arm]);
        await _app.Admin.PushManifestAsync("shop/app", index, "multi");
        await _app.Admin.PushManifestAsync("shop/app", amd, "amd");

        var page = await _app.Admin.GetJsonAsync("/api/v1/repositories/tags?repository=shop/app");

        var multi = Only(page, "multi");
        Assert.Equal(index.Digest, multi.GetProperty("digest").GetString());
        Assert.Equal(OciIndex, multi.GetProperty("mediaType").GetString());
        var blobs = amd.Blobs.Concat(arm.Blobs).DistinctBy(Sha256).Sum(b => (long)b.Length);
        Assert.Equal(index.Body.Length + amd.Body.Length + arm.Body.Length + blobs, multi.GetProperty("size").GetInt64());
        Assert.Equal(amd.Body.Length + amd.Blobs.Sum(b => (long)b.Length), Only(page, "amd").GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task ListTags_Paged_WalksEveryTagOnceWithOpaqueCursors()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        foreach (var tag in new[] { "c", "a", "b", "d", "e" })
        {
            await _app.Admin.PushManifestAsync("shop/app", image, tag);
        }

        var seen = new List<string>();
        var path = "/api/v1/repositories/tags?repository=shop/app&limit=2";
        for (var i = 0; i < 10; i++)
        {
            var page = await _app.Admin.GetJsonAsync(path);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString()!));
            if (page.GetProperty("next").GetString() is not { } next)
            {
                break;
            }

            Assert.DoesNotContain("d", next); // opaque, not the name
            path = "/api/v1/repositories/tags?repository=shop/app&limit=2&after=" + Uri.EscapeDataString(next);
        }

        Assert.Equal(["a", "b", "c", "d", "e"], seen);
    }

    [Theory]
    [InlineData("/api/v1/repositories/tags?repository=shop/app&after=b", "after")]
    [InlineData("/api/v1/repositories/tags?repository=shop/app&after=%27%20OR%201%3D1%20--", "after")]
    [InlineData("/api/v1/repositories/tags?repository=shop/app&limit=0", "limit")]
    [InlineData("/api/v1/repositories/tags?repository=shop/app&limit=99999999999", "limit")]
    [InlineData("/api/v1/projects/shop/repositories?after=zzz", "after")]
    [InlineData("/api/v1/repositories/tags", "repository")]
    [InlineData("/api/v1/repositories/tags?repository=Shop/App", "repository")]
    [InlineData("/api/v1/repositories/tags?repository=shop/app&repository=shop/other", "repository")]
    [InlineData("/api/v1/repositories/tags?repository=shop/../etc", "repository")]
    public async Task List_HostileQuery_IsValidationProblem(string path, string field)
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(1), "v1");

        using var response = await _app.Admin.GetAsync(path);

        await Expect.ValidationAsync(response, field);
    }

    [Fact]
    public async Task List_UnknownProjectOrRepository_IsNotFoundProblem()
    {
        await _app.CreateProjectAsync("shop");

        using var project = await _app.Admin.GetAsync("/api/v1/projects/nope/repositories");
        using var tags = await _app.Admin.GetAsync("/api/v1/repositories/tags?repository=shop/missing");
        using var otherProject = await _app.Admin.GetAsync("/api/v1/repositories/tags?repository=nope/app");
        using var tag = await _app.Admin.DeleteAsync("/api/v1/repositories/tags?repository=shop/missing&tag=v1");
        using var repository = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/missing");

        await Expect.ProblemAsync(project, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(tags, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(otherProject, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(tag, HttpStatusCode.NotFound);
        await Expect.ProblemAsync(repository, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_PrivateProjectToAnonymous_IsNotFound_PublicOneIsListed()
    {
        await _app.CreateProjectAsync("secret");
        await _app.CreateProjectAsync("open", isPublic: true);
        await _app.Admin.PushManifestAsync("secret/app", OciImage(1), "v1");
        await _app.Admin.PushManifestAsync("open/app", OciImage(2), "v1");

        using var hidden = await _app.Anonymous.GetAsync("/api/v1/repositories/tags?repository=secret/app");
        var open = await _app.Anonymous.GetJsonAsync("/api/v1/repositories/tags?repository=open/app");
        using var delete = await _app.Anonymous.DeleteAsync("/api/v1/repositories/tags?repository=open/app&tag=v1");

        await Expect.ProblemAsync(hidden, HttpStatusCode.NotFound);
        Only(open, "v1");
        await Expect.ProblemAsync(delete, HttpStatusCode.Unauthorized);
        Assert.True(await _app.Admin.ManifestExistsAsync("open/app", "v1"));
    }

    [Fact]
    public async Task DeleteTag_CachedTag_IsGoneButTheManifestStaysAndItIsAudited()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", "v1")); // now cached

        using var deleted = await _app.As("mia").DeleteAsync("/api/v1/repositories/tags?repository=shop/app&tag=v1");

        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        Assert.False(await _app.Admin.ManifestExistsAsync("shop/app", "v1"));
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", image.Digest));
        var entry = Assert.Single(await _app.AuditAsync(AuditActions.Delete));
        Assert.Equal("mia", entry.ActorName);
        Assert.Equal("shop/app", entry.Repository?.Value);
        Assert.Contains("\"v1\"", entry.Detail!);
    }

    [Fact]
    public async Task DeleteTag_BadTag_IsValidationProblem()
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(1), "v1");

        using var response = await _app.Admin.DeleteAsync("/api/v1/repositories/tags?repository=shop/app&tag=..%2F..");

        await Expect.ValidationAsync(response, "tag");
    }

    [Fact]
    public async Task DeleteRepository_ThenPushAgain_StartsEmptyAndIsAudited()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        await _app.Admin.PushManifestAsync("shop/app/sub", OciImage(2), "v1");
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", "v1")); // now cached

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/app");

        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        Assert.False(await _app.Admin.ManifestExistsAsync("shop/app", "v1"));
        Assert.False(await _app.Admin.ManifestExistsAsync("shop/app", image.Digest));
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app/sub", "v1"));
        var entry = Assert.Single(await _app.AuditAsync(AuditActions.Delete));
        Assert.Equal("shop/app", entry.Repository?.Value);
        using (var detail = JsonDocument.Parse(entry.Detail!))
        {
            Assert.Equal(1, detail.RootElement.GetProperty("manifests").GetInt32());
            Assert.Equal(1, detail.RootElement.GetProperty("tags").GetInt32());
        }

        var again = OciImage(3);
        await _app.Admin.PushManifestAsync("shop/app", again, "v2");
        var tags = await _app.Admin.GetJsonAsync("/api/v1/repositories/tags?repository=shop/app");
        Assert.Equal(["v2"], tags.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        var repositories = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/repositories");
        Assert.Equal(1, Only(repositories, "shop/app").GetProperty("manifestCount").GetInt64());
    }

    [Fact]
    public async Task DeleteRepository_PullPendingThenPushedAgain_NewRepositoryIsNeverPulled()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        using (var pull = await _app.Admin.GetAsync("/v2/shop/app/manifests/v1"))
        {
            await Expect.StatusAsync(pull, HttpStatusCode.OK); // recorded, not yet written
        }

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/app");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        await _app.Service<Berth.Core.Registry.PullRecorder>().FlushAsync(CancellationToken.None);

        var tags = await _app.Admin.GetJsonAsync("/api/v1/repositories/tags?repository=shop/app");
        Assert.Equal(JsonValueKind.Null, Only(tags, "v1").GetProperty("lastPulledAt").ValueKind);
        var repositories = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/repositories");
        Assert.Equal(JsonValueKind.Null, Only(repositories, "shop/app").GetProperty("lastPulledAt").ValueKind);
    }
}
