using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Management.Tests;

/// <summary>
/// <c>DELETE /api/v1/projects/{project}?force=true</c> takes everything in the project with it: a project created
/// later under the same name starts empty, whatever caches, tokens or requests in flight knew of the old one.
/// </summary>
public sealed class ProjectDeleteTests : IDisposable
{
    private const string Sbom = "application/vnd.example.sbom";
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Delete_ForcedThenCreatedAgain_ANewReaderSeesNothingOfTheOldProject()
    {
        await _app.CreateProjectAsync("shop");
        var image = TestImages.OciImage(1);
        await _app.Admin.PushManifestAsync("shop/big", image, "v1");
        var sbom = TestImages.Artifact(Sbom, TestImages.Bytes(20, 9), subject: image.Descriptor());
        await _app.Admin.PushManifestAsync("shop/big", sbom);
        await _app.Admin.PushManifestAsync("shop", TestImages.OciImage(2), "latest"); // the repository named like its project
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/big", "v1")); // now cached
        var layer = TestImages.Sha256(image.Blobs[1]);

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("alice");
        await _app.AddMemberAsync("shop", "alice", "reader");

        foreach (var client in new[] { _app.As("alice"), _app.Admin })
        {
            Assert.DoesNotContain(await client.GetCatalogAsync(), r => r == "shop" || r.StartsWith("shop/", StringComparison.Ordinal));
            Assert.Null(await client.GetTagsAsync("shop/big"));
            Assert.Null(await client.GetTagsAsync("shop"));
            Assert.False(await client.ManifestExistsAsync("shop/big", "v1"));
            Assert.False(await client.ManifestExistsAsync("shop/big", image.Digest));
            Assert.False(await client.ManifestExistsAsync("shop/big", sbom.Digest));
            using var manifest = await client.GetAsync($"/v2/shop/big/manifests/{image.Digest}");
            Assert.Equal(HttpStatusCode.NotFound, manifest.StatusCode);
            Assert.False(await client.BlobExistsAsync("shop/big", layer));
            using var blob = await client.GetAsync($"/v2/shop/big/blobs/{layer}");
            Assert.Equal(HttpStatusCode.NotFound, blob.StatusCode);
            using var referrers = await client.GetAsync($"/v2/shop/big/referrers/{image.Digest}");
            await Expect.StatusAsync(referrers, HttpStatusCode.OK);
            Assert.Empty((await referrers.ReadJsonAsync()).GetProperty("manifests").EnumerateArray());
        }
    }

    [Fact]
    public async Task Delete_Forced_IsAuditedWithWhatWentWithIt()
    {
        await _app.CreateProjectAsync("shop");
        var image = TestImages.OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        await _app.Admin.StartUploadAsync("shop/app");
        await _app.CreateUserAsync("alice");
        await _app.AddMemberAsync("shop", "alice", "developer");

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);

        var entry = Assert.Single(await _app.AuditAsync(AuditActions.ProjectDelete));
        Assert.Equal("shop", entry.Project?.Value);
        using var detail = JsonDocument.Parse(entry.Detail!);
        var d = detail.RootElement;
        Assert.True(d.GetProperty("force").GetBoolean());
        Assert.Equal(1, d.GetProperty("repositories").GetInt32());
        Assert.Equal(1, d.GetProperty("manifests").GetInt32());
        Assert.Equal(1, d.GetProperty("tags").GetInt32());
        Assert.Equal(3, d.GetProperty("blobLinks").GetInt32()); // the config and two layers
        Assert.Equal(1, d.GetProperty("uploads").GetInt32());
        Assert.Equal(1, d.GetProperty("members").GetInt32());
    }

    [Fact]
    public async Task Delete_WithRepositoriesUnforced_409SaysWhatToDoInTheCliAndTheApi()
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushBlobAsync("shop/app", TestImages.Bytes(10, 1));

        using var refused = await _app.Admin.DeleteAsync("/api/v1/projects/shop");

        var detail = (await Expect.ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString()!;
        Assert.Contains("berth project delete shop --force", detail, StringComparison.Ordinal);
        Assert.Contains("?force=true", detail, StringComparison.Ordinal);
        Assert.True(await _app.Admin.BlobExistsAsync("shop/app", TestImages.Sha256(TestImages.Bytes(10, 1))));
    }

    [Fact]
    public async Task Delete_PersonalTokenRestrictedToTheProject_IsRevokedAndReachesNothingInTheNewOne()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateProjectAsync("tools");
        await _app.CreateUserAsync("alice");
        await _app.AddMemberAsync("shop", "alice", "developer");
        await _app.AddMemberAsync("tools", "alice", "developer");
        var alice = _app.As("alice");
        var (onlyId, only) = await ManagementApp.CreateTokenAsync(alice, "only-shop", "pull", ["shop"]);
        var (bothId, both) = await ManagementApp.CreateTokenAsync(alice, "shop-and-tools", "pull", ["shop", "tools"]);

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        await _app.CreateProjectAsync("shop");
        await _app.AddMemberAsync("shop", "alice", "reader");
        await _app.Admin.PushManifestAsync("shop/app", TestImages.OciImage(3), "v1");

        // The token for the old project alone is revoked (an empty list would mean every project) ...
        var tokens = (await alice.GetJsonAsync("/api/v1/tokens")).GetProperty("items").EnumerateArray().ToList();
        var revoked = tokens.Single(t => t.GetProperty("id").GetInt64() == onlyId);
        Assert.NotEqual(JsonValueKind.Null, revoked.GetProperty("revokedAt").ValueKind);
        using var refused = await _app.App.CreateClient("alice", only).GetAsync("/v2/shop/app/tags/list");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // ... and the other one no longer names it.
        var narrowed = tokens.Single(t => t.GetProperty("id").GetInt64() == bothId);
        Assert.Equal(["tools"], narrowed.GetProperty("projects").EnumerateArray().Select(p => p.GetString()));
        using var other = await _app.App.CreateClient("alice", both).GetAsync("/v2/shop/app/tags/list");
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
    }

    [Fact]
    public async Task Delete_RegistryTokenIssuedForTheOldProject_GrantsNothingInTheNewOne()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("alice");
        await _app.AddMemberAsync("shop", "alice", "developer");
        var token = await RegistryTokenAsync(_app.As("alice"), "repository:shop/app:pull,push", "registry:catalog:*");

        _app.App.Clock.Advance(TimeSpan.FromMinutes(1));
        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        await _app.CreateProjectAsync("shop");
        var image = TestImages.OciImage(4);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");

        var bearer = _app.NewClient(new AuthenticationHeaderValue("Bearer", token));
        using var pull = await bearer.GetAsync($"/v2/shop/app/manifests/v1");
        Assert.Equal(HttpStatusCode.Unauthorized, pull.StatusCode);
        Assert.Contains("invalid_token", pull.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        using var push = await bearer.PostAsync("/v2/shop/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Unauthorized, push.StatusCode);
        using var catalog = await bearer.GetAsync("/v2/_catalog");
        await Expect.StatusAsync(catalog, HttpStatusCode.OK);
        Assert.Empty((await catalog.ReadJsonAsync()).GetProperty("repositories").EnumerateArray());
    }

    [Fact]
    public async Task Delete_UploadInProgress_EndsItAndRemovesItsData()
    {
        await _app.CreateProjectAsync("shop");
        var content = TestImages.Bytes(1000, 5);
        var location = await _app.Admin.StartUploadAsync("shop/app");
        using (var patch = await _app.Admin.SendAsync(HttpMethod.Patch, location, content[..600], ("Content-Type", "application/octet-stream")))
        {
            await Expect.StatusAsync(patch, HttpStatusCode.Accepted);
        }

        var id = location.Split('/')[^1];
        Assert.True(File.Exists(Path.Combine(_app.App.DataPath, "uploads", id)));

        using var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true");
        await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        Assert.False(File.Exists(Path.Combine(_app.App.DataPath, "uploads", id)));

        // The client goes on as if nothing happened, into a project of the same name created meanwhile.
        await _app.CreateProjectAsync("shop");
        using var put = await _app.Admin.SendAsync(HttpMethod.Put, $"{location}?digest={TestImages.Sha256(content)}", content[600..],
            ("Content-Type", "application/octet-stream"));
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await put.ReadErrorAsync()).Code);
        Assert.False(await _app.Admin.BlobExistsAsync("shop/app", TestImages.Sha256(content)));
        Assert.DoesNotContain("shop/app", await _app.Admin.GetCatalogAsync());
    }

    [Fact]
    public async Task Delete_DuringConcurrentPushes_LeavesNothingForTheNextProjectOfTheName()
    {
        using var app = new ManagementApp(new Dictionary<string, string?> { ["Berth:AutoCreateProjects"] = "false" });
        await app.CreateProjectAsync("shop");
        using var stop = new CancellationTokenSource();
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var pushers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 200; i++)
            {
                var image = TestImages.OciImage((worker * 1000) + i, layerCount: 1);
                var repository = $"shop/app{worker}";
                foreach (var blob in image.Blobs)
                {
                    using var response = await app.Admin.PostAsync($"/v2/{repository}/blobs/uploads/?digest={TestImages.Sha256(blob)}", new ByteArrayContent(blob));
                    outcomes.Add(response.StatusCode);
                }

                using var manifest = await app.Admin.PutManifestAsync(repository, "v" + i, image.Body, image.MediaType);
                outcomes.Add(manifest.StatusCode);
            }
        })).ToList();

        while (!outcomes.Contains(HttpStatusCode.Created))
        {
            await Task.Delay(10);
        }

        using (var deleted = await app.Admin.DeleteAsync("/api/v1/projects/shop?force=true"))
        {
            await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        }

        await stop.CancelAsync();
        await Task.WhenAll(pushers);

        // Pushes that landed after the delete were refused (the project is gone; administrators' pushes do not
        // create it: auto-creation is off), never a 500.
        Assert.DoesNotContain(outcomes, s => (int)s >= 500);
        await app.CreateProjectAsync("shop");
        Assert.DoesNotContain(await app.Admin.GetCatalogAsync(), r => r.StartsWith("shop/", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(app.App.DataPath, "uploads")));
    }

    private static async Task<string> RegistryTokenAsync(HttpClient client, params string[] scopes)
    {
        var json = await client.GetJsonAsync("/token?service=berth" + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s))));
        return json.GetProperty("token").GetString()!;
    }
}
