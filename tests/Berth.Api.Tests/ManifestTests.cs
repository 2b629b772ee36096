using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>Pushing, pulling and deleting manifests: GET/HEAD/PUT/DELETE /v2/&lt;name&gt;/manifests/&lt;reference&gt;.</summary>
public sealed class ManifestTests : RegistryTest
{
    private const string Repository = "project/app";
    private const int FourMiB = 4 * 1024 * 1024;

    // ---------------------------------------------------------------- push and pull, each kind of manifest

    [Fact]
    public async Task PutManifest_OciImageByTag_Returns201WithLocationAndDigest()
    {
        var image = TestImages.OciImage(1);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{Repository}/manifests/{image.Digest}", response.Headers.Location?.OriginalString);
        Assert.Equal(image.Digest, response.Header("Docker-Content-Digest"));
        Assert.Null(response.Header("OCI-Subject"));
    }

    [Fact]
    public async Task GetManifest_ByTag_ReturnsBodyWithMediaTypeAndDigest()
    {
        var image = TestImages.OciImage(2);
        await Client.PushManifestAsync(Repository, image, "v1");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        await AssertManifestResponseAsync(response, image);
    }

    [Fact]
    public async Task GetManifest_ByDigest_ReturnsBodyWithMediaTypeAndDigest()
    {
        var image = TestImages.OciImage(3);
        await Client.PushManifestAsync(Repository, image, "v1");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{image.Digest}");

        await AssertManifestResponseAsync(response, image);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HeadManifest_Returns200WithHeadersAndNoBody(bool byTag)
    {
        var image = TestImages.OciImage(4);
        await Client.PushManifestAsync(Repository, image, "v1");

        using var response = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/manifests/{(byTag ? "v1" : image.Digest)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(image.Digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(TestImages.OciManifest, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(image.Body.Length, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task PutManifest_ByDigest_Returns201AndIsNotTagged()
    {
        var image = TestImages.OciImage(5);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, image.Digest, image.Body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(image.Digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(Array.Empty<string>(), await Client.GetTagsAsync(Repository));
        Assert.True(await Client.ManifestExistsAsync(Repository, image.Digest));
    }

    [Fact]
    public async Task PutManifest_OciIndexWithChildrenPresent_Returns201AndServesIndex()
    {
        var index = TestImages.Index([TestImages.OciImage(6), TestImages.OciImage(7)]);

        await Client.PushManifestAsync(Repository, index, "multi");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/multi");
        await AssertManifestResponseAsync(response, index);
        Assert.Equal(TestImages.OciIndex, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutManifest_DockerSchema2_Returns201AndServesDockerMediaType()
    {
        var image = TestImages.DockerImage(8);

        await Client.PushManifestAsync(Repository, image, "docker");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/docker");
        await AssertManifestResponseAsync(response, image);
        Assert.Equal(TestImages.DockerManifest, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutManifest_DockerManifestList_Returns201AndServesListMediaType()
    {
        var list = TestImages.Index([TestImages.DockerImage(9), TestImages.DockerImage(10)], TestImages.DockerManifestList);

        await Client.PushManifestAsync(Repository, list, "list");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/list");
        await AssertManifestResponseAsync(response, list);
        Assert.Equal(TestImages.DockerManifestList, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutManifest_ArtifactWithEmptyConfig_Returns201AndServesArtifactType()
    {
        var artifact = TestImages.Artifact("application/vnd.example.sbom.v1+json", Encoding.UTF8.GetBytes("{\"sbom\":true}"));

        await Client.PushManifestAsync(Repository, artifact, "sbom");

        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256("{}"u8.ToArray())));
        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/sbom");
        await AssertManifestResponseAsync(response, artifact);
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/vnd.example.sbom.v1+json", json.RootElement.GetProperty("artifactType").GetString());
        Assert.Equal(TestImages.OciEmpty, json.RootElement.GetProperty("config").GetProperty("mediaType").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("config").GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task PutManifest_EmptyBlobAsConfigAndLayer_Returns201()
    {
        await Client.PushBlobAsync(Repository, TestImages.EmptyJson);
        var body = TestImages.OciManifestBody(TestImages.EmptyDescriptor, [TestImages.EmptyDescriptor], artifactType: "application/vnd.example.marker");

        using var response = await Client.PutManifestAsync(Repository, "marker", body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task PutManifest_WithoutContentTypeButMediaTypeInBody_UsesBodyMediaType()
    {
        var image = TestImages.OciImage(11);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, contentType: null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var get = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        Assert.Equal(TestImages.OciManifest, get.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutManifest_NoMediaTypeAnywhere_InfersOciManifestFromStructure()
    {
        var config = TestImages.Config("infer");
        await Client.PushBlobAsync(Repository, config);
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [], mediaType: null);

        using var response = await Client.PutManifestAsync(Repository, "v1", body, contentType: null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var get = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        Assert.Equal(TestImages.OciManifest, get.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutManifest_ContentTypeWithParameters_IsAccepted()
    {
        var image = TestImages.OciImage(12);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest + "; charset=utf-8");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task PutManifest_Sha512DigestReference_Returns201AndIsServedBySha512()
    {
        var image = TestImages.OciImage(13);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, image.Sha512Digest, image.Body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(image.Sha512Digest, response.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/{Repository}/manifests/{image.Sha512Digest}", response.Headers.Location?.OriginalString);
        using var get = await Client.GetAsync($"/v2/{Repository}/manifests/{image.Sha512Digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(image.Body, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(image.Sha512Digest, get.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task PutManifest_LayersWithSha512Digests_Returns201()
    {
        var config = TestImages.Config("sha512");
        var layer = TestImages.Bytes(300, 14);
        foreach (var blob in new[] { config, layer })
        {
            using var push = await Client.PostAsync($"/v2/{Repository}/blobs/uploads/?digest={TestImages.Sha512(blob)}", new ByteArrayContent(blob));
            Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        }

        var body = TestImages.OciManifestBody(
            new TestDescriptor(TestImages.OciConfig, TestImages.Sha512(config), config.Length),
            [new TestDescriptor(TestImages.OciLayer, TestImages.Sha512(layer), layer.Length)]);

        using var response = await Client.PutManifestAsync(Repository, "v512", body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task PutManifest_ForeignLayerWithUrls_DoesNotRequireTheLayerBlob()
    {
        var config = TestImages.Config("foreign");
        await Client.PushBlobAsync(Repository, config);
        var foreignDigest = TestImages.Sha256(TestImages.Bytes(10, 15));
        var body = Encoding.UTF8.GetBytes(
            $$"""
            {"schemaVersion":2,"mediaType":"{{TestImages.DockerManifest}}",
             "config":{"mediaType":"{{TestImages.DockerConfig}}","digest":"{{TestImages.Sha256(config)}}","size":{{config.Length}}},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{{foreignDigest}}","size":10,"urls":["https://example.invalid/layer"]}]}
            """);

        using var response = await Client.PutManifestAsync(Repository, "windows", body, TestImages.DockerManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task PutManifest_SameTagNewManifest_MovesTheTag()
    {
        var first = TestImages.OciImage(16);
        var second = TestImages.OciImage(17);
        await Client.PushManifestAsync(Repository, first, "latest");

        await Client.PushManifestAsync(Repository, second, "latest");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/latest");
        Assert.Equal(second.Digest, response.Header("Docker-Content-Digest"));
        Assert.True(await Client.ManifestExistsAsync(Repository, first.Digest));
        Assert.Equal(["latest"], await Client.GetTagsAsync(Repository));
    }

    [Fact]
    public async Task PutManifest_SameManifestTwice_IsIdempotent()
    {
        var image = TestImages.OciImage(18);
        await Client.PushManifestAsync(Repository, image, "v1");

        using var again = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(image.Digest, again.Header("Docker-Content-Digest"));
        Assert.Equal(["v1"], await Client.GetTagsAsync(Repository));
    }

    [Fact]
    public async Task PutManifest_SameManifestUnderTwoTags_BothResolve()
    {
        var image = TestImages.OciImage(19);
        await Client.PushManifestAsync(Repository, image, "a");
        await Client.PushManifestAsync(Repository, image, "b");

        Assert.Equal(["a", "b"], await Client.GetTagsAsync(Repository));
        Assert.True(await Client.ManifestExistsAsync(Repository, "a"));
        Assert.True(await Client.ManifestExistsAsync(Repository, "b"));
    }

    [Fact]
    public async Task PutManifest_FirstPushCreatesRepositoryInCatalog()
    {
        await Client.PushManifestAsync(Repository, TestImages.OciImage(20), "v1");

        Assert.Equal([Repository], await Client.GetCatalogAsync());
    }

    // ---------------------------------------------------------------- references must exist

    [Fact]
    public async Task PutManifest_MissingLayer_Returns400ManifestBlobUnknownAndStoresNothing()
    {
        var image = TestImages.OciImage(21);
        await Client.PushBlobAsync(Repository, image.Blobs[0]); // config only
        await Client.PushBlobAsync(Repository, image.Blobs[1]);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(TestImages.Sha256(image.Blobs[2]), error.Detail.GetProperty("digest").GetString());
        await AssertNotStoredAsync(image, "v1");
    }

    [Fact]
    public async Task PutManifest_MissingConfig_Returns400ManifestBlobUnknownAndStoresNothing()
    {
        var image = TestImages.OciImage(22);
        foreach (var layer in image.Blobs.Skip(1))
        {
            await Client.PushBlobAsync(Repository, layer);
        }

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(TestImages.Sha256(image.Blobs[0]), error.Detail.GetProperty("digest").GetString());
        await AssertNotStoredAsync(image, "v1");
    }

    [Fact]
    public async Task PutManifest_IndexWithMissingChildManifest_Returns400ManifestBlobUnknownAndStoresNothing()
    {
        var present = TestImages.OciImage(23);
        var missing = TestImages.OciImage(24);
        await Client.PushManifestAsync(Repository, present);
        await PushBlobsAsync(missing); // its blobs, but not the manifest itself
        var index = TestImages.Index([present, missing]);

        using var response = await Client.PutManifestAsync(Repository, "multi", index.Body, TestImages.OciIndex);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(missing.Digest, error.Detail.GetProperty("digest").GetString());
        await AssertNotStoredAsync(index, "multi");
    }

    [Fact]
    public async Task PutManifest_IndexWhoseChildIsOnlyABlob_Returns400ManifestBlobUnknown()
    {
        var child = TestImages.OciImage(25);
        await PushBlobsAsync(child);
        await Client.PushBlobAsync(Repository, child.Body); // the bytes as a blob, not as a manifest
        var index = TestImages.Index([child]);

        using var response = await Client.PutManifestAsync(Repository, "multi", index.Body, TestImages.OciIndex);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        await AssertNotStoredAsync(index, "multi");
    }

    [Fact]
    public async Task PutManifest_LayersOnlyInAnotherRepository_Returns400ManifestBlobUnknown()
    {
        var image = TestImages.OciImage(26);
        foreach (var blob in image.Blobs)
        {
            await Client.PushBlobAsync("other/repo", blob);
        }

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        await AssertNotStoredAsync(image, "v1");
    }

    [Fact]
    public async Task PutManifest_LayerDeletedBeforePush_Returns400ManifestBlobUnknown()
    {
        var image = TestImages.OciImage(27);
        await PushBlobsAsync(image);
        (await Client.DeleteAsync($"/v2/{Repository}/blobs/{TestImages.Sha256(image.Blobs[1])}")).Dispose();

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task PutManifest_LayerSizeDiffersFromBlob_Returns400ManifestInvalidAndStoresNothing()
    {
        var config = TestImages.Config("size");
        var layer = TestImages.Bytes(50, 28);
        await Client.PushBlobAsync(Repository, config);
        await Client.PushBlobAsync(Repository, layer);
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config),
            [new TestDescriptor(TestImages.OciLayer, TestImages.Sha256(layer), 51)]);

        using var response = await Client.PutManifestAsync(Repository, "v1", body, TestImages.OciManifest);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Equal(51, error.Detail.GetProperty("declared").GetInt64());
        Assert.Equal(50, error.Detail.GetProperty("actual").GetInt64());
        Assert.Empty(await Client.GetTagsAsync(Repository) ?? []);
    }

    // ---------------------------------------------------------------- digest and size checks

    [Fact]
    public async Task PutManifest_UrlDigestDoesNotMatchBody_Returns400DigestInvalidAndStoresNothing()
    {
        var image = TestImages.OciImage(29);
        var other = TestImages.OciImage(30);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, other.Digest, image.Body, TestImages.OciManifest);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(other.Digest, error.Detail.GetProperty("expected").GetString());
        Assert.Equal(image.Digest, error.Detail.GetProperty("actual").GetString());
        Assert.False(await Client.ManifestExistsAsync(Repository, image.Digest));
        Assert.False(await Client.ManifestExistsAsync(Repository, other.Digest));
    }

    [Fact]
    public async Task PutManifest_Sha512UrlDigestDoesNotMatchBody_Returns400DigestInvalid()
    {
        var image = TestImages.OciImage(31);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, TestImages.OciImage(32).Sha512Digest, image.Body, TestImages.OciManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.False(await Client.ManifestExistsAsync(Repository, image.Digest));
    }

    [Fact]
    public async Task PutManifest_Exactly4MiB_Returns201()
    {
        var (body, image) = await PaddedManifestAsync(FourMiB);

        using var response = await Client.PutManifestAsync(Repository, "big", body, TestImages.OciManifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var get = await Client.GetAsync($"/v2/{Repository}/manifests/big");
        Assert.Equal(FourMiB, (await get.Content.ReadAsByteArrayAsync()).Length);
        Assert.NotEqual(image.Digest, TestImages.Sha256(body));
    }

    [Fact]
    public async Task PutManifest_OneByteOver4MiB_Returns413ManifestInvalidAndStoresNothing()
    {
        var (body, _) = await PaddedManifestAsync(FourMiB + 1);

        using var response = await Client.PutManifestAsync(Repository, "big", body, TestImages.OciManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");
        Assert.Empty(await Client.GetTagsAsync(Repository) ?? []);
        Assert.False(await Client.ManifestExistsAsync(Repository, TestImages.Sha256(body)));
    }

    [Fact]
    public async Task PutManifest_Over4MiBWithoutContentLength_Returns413ManifestInvalid()
    {
        var (body, _) = await PaddedManifestAsync(FourMiB + 100);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v2/{Repository}/manifests/big") { Content = new StreamedContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", TestImages.OciManifest);
        request.Headers.TransferEncodingChunked = true;

        using var response = await Client.SendAsync(request);

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");
        Assert.False(await Client.ManifestExistsAsync(Repository, "big"));
    }

    [Fact]
    public async Task PutManifest_LargerThanConfiguredLimit_Returns413()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxManifestBytes"] = "300" });
        using var client = app.CreateClient();
        var image = TestImages.OciImage(33);
        foreach (var blob in image.Blobs)
        {
            await client.PushBlobAsync(Repository, blob);
        }

        Assert.True(image.Body.Length > 300);
        using var response = await client.PutManifestAsync(Repository, "v1", image.Body, TestImages.OciManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");
    }

    // ---------------------------------------------------------------- refused documents

    [Fact]
    public async Task PutManifest_Schema1_Returns400ManifestInvalid()
    {
        var body = Encoding.UTF8.GetBytes("""{"schemaVersion":1,"name":"project/app","tag":"v1","architecture":"amd64","fsLayers":[],"history":[]}""");

        using var response = await Client.PutManifestAsync(Repository, "v1", body, TestImages.DockerSchema1Signed);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Contains("schema 1", error.Message, StringComparison.Ordinal);
        Assert.Null(await Client.GetTagsAsync(Repository));
    }

    [Theory]
    [InlineData(TestImages.DockerSchema1)]
    [InlineData(TestImages.DockerSchema1Signed)]
    [InlineData(null)]
    public async Task PutManifest_Schema1Variants_Return400ManifestInvalid(string? contentType)
    {
        var body = Encoding.UTF8.GetBytes("""{"schemaVersion":1,"name":"project/app","tag":"v1","fsLayers":[{"blobSum":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}""");

        using var response = await Client.PutManifestAsync(Repository, "v1", body, contentType);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task PutManifest_Schema2BodySentAsSchema1ContentType_Returns400ManifestInvalid()
    {
        var image = TestImages.DockerImage(34);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.DockerSchema1);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task PutManifest_ContentTypeDiffersFromBodyMediaType_Returns400ManifestInvalid()
    {
        var image = TestImages.OciImage(35);
        await PushBlobsAsync(image);

        using var response = await Client.PutManifestAsync(Repository, "v1", image.Body, TestImages.DockerManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await AssertNotStoredAsync(image, "v1");
    }

    [Fact]
    public async Task PutManifest_DockerManifestWithoutLayers_Returns400ManifestInvalid()
    {
        var config = TestImages.Config("nolayers");
        await Client.PushBlobAsync(Repository, config);
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.DockerConfig, config), [], mediaType: TestImages.DockerManifest);

        using var response = await Client.PutManifestAsync(Repository, "v1", body, TestImages.DockerManifest);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    // ---------------------------------------------------------------- not found and delete

    [Fact]
    public async Task GetManifest_UnknownTag_Returns404ManifestUnknown()
    {
        await Client.PushManifestAsync(Repository, TestImages.OciImage(36), "v1");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v2");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task GetManifest_UnknownDigest_Returns404ManifestUnknown()
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{TestImages.OciImage(37).Digest}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task GetManifest_PushedToAnotherRepository_Returns404ManifestUnknown()
    {
        var image = TestImages.OciImage(38);
        await Client.PushManifestAsync("other/repo", image, "v1");

        using var byTag = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        using var byDigest = await Client.GetAsync($"/v2/{Repository}/manifests/{image.Digest}");

        await OciAssert.ErrorAsync(byTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await OciAssert.ErrorAsync(byDigest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task HeadManifest_Unknown_Returns404WithoutBody()
    {
        using var response = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/manifests/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task DeleteManifest_ByDigest_Returns202AndRemovesManifestAndItsTags()
    {
        var image = TestImages.OciImage(39);
        var keep = TestImages.OciImage(40);
        await Client.PushManifestAsync(Repository, image, "a");
        await Client.PushManifestAsync(Repository, image, "b");
        await Client.PushManifestAsync(Repository, keep, "c");

        using var delete = await Client.DeleteAsync($"/v2/{Repository}/manifests/{image.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var get = await Client.GetAsync($"/v2/{Repository}/manifests/{image.Digest}");
        await OciAssert.ErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var getTag = await Client.GetAsync($"/v2/{Repository}/manifests/a");
        await OciAssert.ErrorAsync(getTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(["c"], await Client.GetTagsAsync(Repository));
        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256(image.Blobs[1])));
    }

    [Fact]
    public async Task DeleteManifest_ByTag_Returns202AndRemovesOnlyTheTag()
    {
        var image = TestImages.OciImage(41);
        await Client.PushManifestAsync(Repository, image, "a");
        await Client.PushManifestAsync(Repository, image, "b");

        using var delete = await Client.DeleteAsync($"/v2/{Repository}/manifests/a");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(["b"], await Client.GetTagsAsync(Repository));
        Assert.True(await Client.ManifestExistsAsync(Repository, image.Digest));
        Assert.False(await Client.ManifestExistsAsync(Repository, "a"));
    }

    [Fact]
    public async Task DeleteManifest_Twice_SecondReturns404ManifestUnknown()
    {
        var image = TestImages.OciImage(42);
        await Client.PushManifestAsync(Repository, image, "v1");
        (await Client.DeleteAsync($"/v2/{Repository}/manifests/{image.Digest}")).Dispose();

        using var second = await Client.DeleteAsync($"/v2/{Repository}/manifests/{image.Digest}");

        await OciAssert.ErrorAsync(second, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public async Task DeleteManifest_Unknown_Returns404ManifestUnknown(string reference)
    {
        using var response = await Client.DeleteAsync($"/v2/{Repository}/manifests/{reference}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task DeleteManifest_ThenPushAgain_Works()
    {
        var image = TestImages.OciImage(43);
        await Client.PushManifestAsync(Repository, image, "v1");
        (await Client.DeleteAsync($"/v2/{Repository}/manifests/{image.Digest}")).Dispose();

        await Client.PushManifestAsync(Repository, image, "v1");

        Assert.True(await Client.ManifestExistsAsync(Repository, "v1"));
    }

    // ---------------------------------------------------------------- helpers

    private async Task PushBlobsAsync(TestManifest manifest)
    {
        foreach (var blob in manifest.Blobs)
        {
            await Client.PushBlobAsync(Repository, blob);
        }
    }

    private async Task AssertManifestResponseAsync(HttpResponseMessage response, TestManifest expected)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected.Body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(expected.MediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(expected.Digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(expected.Body.Length, response.Content.Headers.ContentLength);
    }

    private async Task AssertNotStoredAsync(TestManifest manifest, string tag)
    {
        Assert.False(await Client.ManifestExistsAsync(Repository, manifest.Digest));
        Assert.False(await Client.ManifestExistsAsync(Repository, tag));
        var tags = await Client.GetTagsAsync(Repository);
        Assert.True(tags is null || !tags.Contains(tag));
    }

    /// <summary>An image manifest padded (with an annotation) to exactly <paramref name="size"/> bytes, its blobs pushed.</summary>
    private async Task<(byte[] Body, TestManifest Image)> PaddedManifestAsync(int size)
    {
        var image = TestImages.OciImage(99);
        await PushBlobsAsync(image);
        var config = TestDescriptor.Of(TestImages.OciConfig, image.Blobs[0]);
        var layers = image.Blobs.Skip(1).Select(b => TestDescriptor.Of(TestImages.OciLayer, b)).ToList();
        var empty = TestImages.OciManifestBody(config, layers, annotations: new Dictionary<string, string> { ["pad"] = string.Empty });
        var padding = new string('a', size - empty.Length);
        var body = TestImages.OciManifestBody(config, layers, annotations: new Dictionary<string, string> { ["pad"] = padding });
        Assert.Equal(size, body.Length);
        return (body, image);
    }
}
