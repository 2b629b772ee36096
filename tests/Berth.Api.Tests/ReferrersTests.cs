using System.Net;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>The referrers API (GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;) and the subject field of manifests.</summary>
public sealed class ReferrersTests : RegistryTest
{
    private const string Repository = "project/app";
    private const string SbomType = "application/vnd.example.sbom.v1+json";
    private const string SignatureType = "application/vnd.example.signature.v1+json";

    [Fact]
    public async Task PutManifest_WithSubject_Returns201WithOciSubjectHeader()
    {
        var subject = TestImages.OciImage(1);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 2), subject.Descriptor());
        await PushBlobsAsync(sbom);

        using var response = await Client.PutManifestAsync(Repository, sbom.Digest, sbom.Body, sbom.MediaType);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(subject.Digest, response.Header("OCI-Subject"));
    }

    [Fact]
    public async Task PutManifest_WithSubjectThatDoesNotExist_Returns201AndIsListedAsReferrer()
    {
        var absent = TestImages.OciImage(3);
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 4), absent.Descriptor());
        await PushBlobsAsync(sbom);

        using var response = await Client.PutManifestAsync(Repository, sbom.Digest, sbom.Body, sbom.MediaType);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(absent.Digest, response.Header("OCI-Subject"));
        var referrers = await GetReferrersAsync(absent.Digest);
        Assert.Equal([sbom.Digest], referrers.Select(r => r.Digest));
    }

    [Fact]
    public async Task Referrers_ReturnsOciIndexWithADescriptorPerReferrer()
    {
        var subject = TestImages.OciImage(5);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var annotations = new Dictionary<string, string> { ["org.opencontainers.image.created"] = "2026-01-01T00:00:00Z" };
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 6), subject.Descriptor(), annotations);
        var signature = TestImages.Artifact(SignatureType, TestImages.Bytes(20, 7), subject.Descriptor());
        await Client.PushManifestAsync(Repository, sbom);
        await Client.PushManifestAsync(Repository, signature);

        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{subject.Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestImages.OciIndex, response.Content.Headers.ContentType?.MediaType);
        Assert.Null(response.Header("OCI-Filters-Applied"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(TestImages.OciIndex, root.GetProperty("mediaType").GetString());
        var manifests = root.GetProperty("manifests").EnumerateArray().ToDictionary(m => m.GetProperty("digest").GetString()!);
        Assert.Equal(2, manifests.Count);
        var sbomEntry = manifests[sbom.Digest];
        Assert.Equal(TestImages.OciManifest, sbomEntry.GetProperty("mediaType").GetString());
        Assert.Equal(sbom.Body.Length, sbomEntry.GetProperty("size").GetInt64());
        Assert.Equal(SbomType, sbomEntry.GetProperty("artifactType").GetString());
        Assert.Equal("2026-01-01T00:00:00Z", sbomEntry.GetProperty("annotations").GetProperty("org.opencontainers.image.created").GetString());
        var signatureEntry = manifests[signature.Digest];
        Assert.Equal(SignatureType, signatureEntry.GetProperty("artifactType").GetString());
        Assert.False(signatureEntry.TryGetProperty("annotations", out _));
    }

    [Fact]
    public async Task Referrers_WithArtifactTypeFilter_ReturnsOnlyThatTypeAndSetsOciFiltersApplied()
    {
        var subject = TestImages.OciImage(8);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 9), subject.Descriptor());
        var signature = TestImages.Artifact(SignatureType, TestImages.Bytes(20, 10), subject.Descriptor());
        await Client.PushManifestAsync(Repository, sbom);
        await Client.PushManifestAsync(Repository, signature);

        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{subject.Digest}?artifactType={Uri.EscapeDataString(SbomType)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("artifactType", response.Header("OCI-Filters-Applied"));
        var referrers = await ReadReferrersAsync(response);
        Assert.Equal([(sbom.Digest, (string?)SbomType)], referrers.Select(r => (r.Digest, r.ArtifactType)));
    }

    [Fact]
    public async Task Referrers_WithArtifactTypeFilterMatchingNothing_ReturnsEmptyIndexWithOciFiltersApplied()
    {
        var subject = TestImages.OciImage(11);
        await Client.PushManifestAsync(Repository, subject, "v1");
        await Client.PushManifestAsync(Repository, TestImages.Artifact(SbomType, TestImages.Bytes(20, 12), subject.Descriptor()));

        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{subject.Digest}?artifactType=application/vnd.none");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("artifactType", response.Header("OCI-Filters-Applied"));
        Assert.Empty(await ReadReferrersAsync(response));
    }

    [Fact]
    public async Task Referrers_UnknownSubject_Returns200EmptyIndex()
    {
        await Client.PushManifestAsync(Repository, TestImages.OciImage(13), "v1");

        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{TestImages.OciImage(14).Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestImages.OciIndex, response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await ReadReferrersAsync(response));
    }

    [Fact]
    public async Task Referrers_UnknownRepository_Returns200EmptyIndex()
    {
        using var response = await Client.GetAsync($"/v2/nobody/here/referrers/{TestImages.OciImage(15).Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await ReadReferrersAsync(response));
    }

    [Fact]
    public async Task Referrers_ImageManifestWithoutArtifactType_ReportsConfigMediaType()
    {
        var subject = TestImages.OciImage(16);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var referrer = TestImages.OciImage(17, subject: subject.Descriptor());
        await Client.PushManifestAsync(Repository, referrer);

        var referrers = await GetReferrersAsync(subject.Digest);

        Assert.Equal([(referrer.Digest, (string?)TestImages.OciConfig)], referrers.Select(r => (r.Digest, r.ArtifactType)));
    }

    [Fact]
    public async Task Referrers_IndexWithSubject_IsListedWithItsArtifactType()
    {
        var subject = TestImages.OciImage(18);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var index = TestImages.Index([TestImages.OciImage(19)], subject: subject.Descriptor(), artifactType: "application/vnd.example.bundle");
        await Client.PushManifestAsync(Repository, index);

        var referrers = await GetReferrersAsync(subject.Digest);

        var entry = Assert.Single(referrers);
        Assert.Equal(index.Digest, entry.Digest);
        Assert.Equal(TestImages.OciIndex, entry.MediaType);
        Assert.Equal("application/vnd.example.bundle", entry.ArtifactType);
    }

    [Fact]
    public async Task Referrers_DeletedReferrer_IsNoLongerListed()
    {
        var subject = TestImages.OciImage(20);
        await Client.PushManifestAsync(Repository, subject, "v1");
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 21), subject.Descriptor());
        await Client.PushManifestAsync(Repository, sbom);

        using (var delete = await Client.DeleteAsync($"/v2/{Repository}/manifests/{sbom.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        Assert.Empty(await GetReferrersAsync(subject.Digest));
    }

    [Fact]
    public async Task Referrers_InAnotherRepository_AreNotListed()
    {
        var subject = TestImages.OciImage(22);
        await Client.PushManifestAsync(Repository, subject, "v1");
        await Client.PushManifestAsync("other/repo", TestImages.Artifact(SbomType, TestImages.Bytes(20, 23), subject.Descriptor()));

        Assert.Empty(await GetReferrersAsync(subject.Digest));
    }

    [Fact]
    public async Task Referrers_Sha512Subject_IsSupported()
    {
        var subject = TestImages.OciImage(24);
        await PushBlobsAsync(subject);
        (await Client.PutManifestAsync(Repository, subject.Sha512Digest, subject.Body, subject.MediaType)).Dispose();
        var descriptor = new TestDescriptor(subject.MediaType, subject.Sha512Digest, subject.Body.Length);
        var sbom = TestImages.Artifact(SbomType, TestImages.Bytes(20, 25), descriptor);
        await Client.PushManifestAsync(Repository, sbom);

        var referrers = await GetReferrersAsync(subject.Sha512Digest);

        Assert.Equal([sbom.Digest], referrers.Select(r => r.Digest));
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("latest")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    public async Task Referrers_InvalidDigest_Returns400DigestInvalid(string digest)
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{digest}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    private sealed record Referrer(string Digest, string MediaType, long Size, string? ArtifactType);

    private async Task PushBlobsAsync(TestManifest manifest)
    {
        foreach (var blob in manifest.Blobs)
        {
            await Client.PushBlobAsync(Repository, blob);
        }
    }

    private async Task<IReadOnlyList<Referrer>> GetReferrersAsync(string subject)
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/referrers/{subject}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadReferrersAsync(response);
    }

    private static async Task<IReadOnlyList<Referrer>> ReadReferrersAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(TestImages.OciIndex, json.RootElement.GetProperty("mediaType").GetString());
        return json.RootElement.GetProperty("manifests").EnumerateArray().Select(m => new Referrer(
            m.GetProperty("digest").GetString()!,
            m.GetProperty("mediaType").GetString()!,
            m.GetProperty("size").GetInt64(),
            m.TryGetProperty("artifactType", out var type) ? type.GetString() : null)).ToList();
    }
}
