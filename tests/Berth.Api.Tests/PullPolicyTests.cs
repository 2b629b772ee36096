using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Results;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Testing.TestImages;

namespace Berth.Api.Tests;

/// <summary>
/// The vulnerability pull policy on <c>/v2</c> manifest GET and HEAD (issue 14 item 7): refusals are <c>DENIED</c>
/// naming the count and the worst ids, for administrators too; allowlists lift them; indexes and signature/SBOM
/// artifacts without tar layers are served; decisions follow changes within the cache bound; refusals are audited.
/// Scan results are written straight into the store, as the scanner would.
/// </summary>
public sealed class PullPolicyTests : RegistryTest
{
    // The scanner runtime is off: the tests write the results themselves, and a push must not queue a scan over them.
    public PullPolicyTests()
        : base(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" })
    {
    }

    private const string Repository = "shop/api";
    private static readonly CancellationToken Ct = CancellationToken.None;

    private IScanPolicyStore Policies => App.Services.GetRequiredService<IScanPolicyStore>();

    private IScanResultStore Results => App.Services.GetRequiredService<IScanResultStore>();

    [Fact]
    public async Task Get_NoBlockSeverity_CriticalFindingsStillServed()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical));

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        Assert.Equal(image.Body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetAndHead_CriticalFound_DeniedByTagAndDigest_ForTheAdministrator_WithCountAndWorstIds()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-2", Severity.Critical), F("CVE-2024-1", Severity.Critical), F("CVE-2024-9", Severity.High), F("CVE-2024-8", Severity.Low));
        await PolicyAsync(BlockSeverity.Critical);
        var expected = $"{Repository}@{image.Digest}: 2 vulnerabilities at or above CRITICAL (CVE-2024-1 CRITICAL, CVE-2024-2 CRITICAL) are blocked by project shop's pull policy";

        foreach (var reference in new[] { "v1", image.Digest })
        {
            using var get = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            var error = await OciAssert.ErrorAsync(get, HttpStatusCode.Forbidden, "DENIED");
            Assert.Equal(expected, error.Message);
            Assert.Equal(2, error.Detail.GetProperty("count").GetInt32());
            Assert.Equal("CRITICAL", error.Detail.GetProperty("blockSeverity").GetString());
            Assert.Equal(image.Digest, error.Detail.GetProperty("digest").GetString());

            using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        }
    }

    [Fact]
    public async Task Get_ProjectReader_IsRefusedToo()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.High));
        await PolicyAsync(BlockSeverity.High);
        var access = new AccessSetup(App);
        var reader = await access.UserAsync("rita", "rita-password-1");
        await access.MemberAsync("shop", reader, ProjectRole.Reader);
        using var client = App.CreateClient("rita", "rita-password-1");

        using var response = await client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("1 vulnerability at or above HIGH (CVE-2024-1 HIGH) is blocked by project shop's pull policy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BlockSeverity.Low, Severity.Low, true)]
    [InlineData(BlockSeverity.Low, Severity.Unknown, false)]
    [InlineData(BlockSeverity.Medium, Severity.Low, false)]
    [InlineData(BlockSeverity.Medium, Severity.Critical, true)]
    [InlineData(BlockSeverity.High, Severity.Medium, false)]
    [InlineData(BlockSeverity.Critical, Severity.High, false)]
    public async Task Get_Threshold_RefusesOnlyAtOrAbove(BlockSeverity threshold, Severity found, bool refused)
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", found));
        await PolicyAsync(threshold);

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        if (refused)
        {
            await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        }
        else
        {
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task Get_ManyFindings_NamesTheFiveWorstFirst_ThenAnEllipsis()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image,
            F("CVE-2024-7", Severity.Medium), F("CVE-2024-3", Severity.High), F("CVE-2024-5", Severity.Critical), F("CVE-2024-5", Severity.Critical),
            F("CVE-2024-4", Severity.High), F("CVE-2024-6", Severity.Medium), F("CVE-2024-1", Severity.Critical), F("CVE-2024-2", Severity.Low));
        await PolicyAsync(BlockSeverity.Medium);

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(
            $"{Repository}@{image.Digest}: 7 vulnerabilities at or above MEDIUM (CVE-2024-1 CRITICAL, CVE-2024-5 CRITICAL, CVE-2024-3 HIGH, CVE-2024-4 HIGH, CVE-2024-6 MEDIUM, …) are blocked by project shop's pull policy",
            error.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Get_AllowlistEntry_LiftsTheRefusalAtOnce(bool serverWide)
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical), F("CVE-2024-2", Severity.Low));
        await PolicyAsync(BlockSeverity.Critical);
        using (var before = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.ErrorAsync(before, HttpStatusCode.Forbidden, "DENIED");
        }

        var path = serverWide ? "/api/v1/cve-allowlist" : "/api/v1/projects/shop/cve-allowlist";
        using (var added = await Client.PostAsJsonAsync(path, new { vulnerability = "cve-2024-1", reason = "not reachable" }))
        {
            await OciAssert.StatusAsync(added, HttpStatusCode.Created);
        }

        using var after = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.StatusAsync(after, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_AllowlistLiftsOneOfTwo_StillRefusedNamingTheOther()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical), F("CVE-2024-2", Severity.High));
        await PolicyAsync(BlockSeverity.High);
        await AllowAsync("CVE-2024-1", project: "shop");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal($"{Repository}@{image.Digest}: 1 vulnerability at or above HIGH (CVE-2024-2 HIGH) is blocked by project shop's pull policy", error.Message);
    }

    [Fact]
    public async Task Get_AliasOnTheAllowlist_LiftsTheFinding()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical, "DSA-5000-1", "GHSA-abcd-efgh-ijkl"));
        await PolicyAsync(BlockSeverity.Critical);
        await AllowAsync("ghsa-ABCD-efgh-ijkl", project: null);

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_ExpiredEntry_DoesNotLift_AndAnEntryThatExpiresStopsLiftingWithinTheCacheBound()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical), F("CVE-2024-2", Severity.Critical));
        await PolicyAsync(BlockSeverity.Critical);
        await AllowAsync("CVE-2024-1", project: "shop", expires: App.Clock.GetUtcNow().AddDays(-1));
        await AllowAsync("CVE-2024-2", project: null, expires: App.Clock.GetUtcNow().AddHours(1));

        using (var expired = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            var error = await OciAssert.ErrorAsync(expired, HttpStatusCode.Forbidden, "DENIED");
            Assert.Contains("1 vulnerability at or above CRITICAL (CVE-2024-1 CRITICAL)", error.Message, StringComparison.Ordinal);
        }

        await AllowAsync("CVE-2024-1", project: null, expires: App.Clock.GetUtcNow().AddMinutes(30));
        App.Clock.Advance(TimeSpan.FromSeconds(4));
        using (var lifted = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(lifted, HttpStatusCode.OK);
        }

        App.Clock.Advance(TimeSpan.FromMinutes(31));
        using var again = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        var refused = await OciAssert.ErrorAsync(again, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("(CVE-2024-1 CRITICAL)", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Unscanned_AllowedByDefault_RefusedWithBlockUnscanned()
    {
        var image = await PushAsync(1, "v1");
        await PolicyAsync(BlockSeverity.Critical);
        using (var allowed = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(allowed, HttpStatusCode.OK);
        }

        await SetPolicyThroughApiAsync(new { blockUnscanned = true });

        using var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        var error = await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal($"{Repository}@{image.Digest} has not been scanned and project shop refuses unscanned images", error.Message);
        Assert.Equal("none", error.Detail.GetProperty("scan").GetString());
    }

    [Theory]
    [InlineData(ScanStatus.Failed, 3L, "failed")]
    [InlineData(ScanStatus.Unsupported, 3L, "unsupported")]
    [InlineData(ScanStatus.Queued, null, "queued")]
    [InlineData(ScanStatus.Scanning, null, "scanning")]
    [InlineData(ScanStatus.Done, null, "done without an advisory database")]
    public async Task Get_NotAUsableScan_CountsAsUnscanned(ScanStatus status, long? version, string state)
    {
        var image = await PushAsync(1, "v1");
        var now = App.Clock.GetUtcNow();
        await Results.UpsertAsync(new ScanResult(Digest.Parse(image.Digest), status, status == ScanStatus.Failed ? "truncated layer" : null, version, now, null,
            ScanDocuments.WriteFindings([F("CVE-2024-1", Severity.Critical)]), new SeverityCounts(0, 0, 0, 0, 1), "CVE-2024-1", now), Ct);
        await PolicyAsync(BlockSeverity.Critical);
        using (var allowed = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(allowed, HttpStatusCode.OK); // unscanned, and unscanned images are allowed
        }

        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);
        App.Clock.Advance(TimeSpan.FromSeconds(4));

        using var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        var error = await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        Assert.EndsWith("has not been scanned and project shop refuses unscanned images", error.Message, StringComparison.Ordinal);
        Assert.Equal(state, error.Detail.GetProperty("scan").GetString());
    }

    [Fact]
    public async Task Get_Index_IsServed_WhileItsPlatformManifestIsRefused()
    {
        var platform = OciImage(1);
        var index = Index([platform]);
        await Client.PushManifestAsync(Repository, index, "multi");
        await ScannedAsync(platform, F("CVE-2024-1", Severity.Critical));
        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);

        using (var served = await Client.GetAsync($"/v2/{Repository}/manifests/multi"))
        {
            await OciAssert.StatusAsync(served, HttpStatusCode.OK);
            Assert.Equal(index.Body, await served.Content.ReadAsByteArrayAsync());
        }

        using var refused = await Client.GetAsync($"/v2/{Repository}/manifests/{platform.Digest}");
        await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task Get_CosignSignatureAndSbomAndAttestation_Served_EvenWhenUnscannedImagesAreRefused()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical));
        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);
        var signatureTag = "sha256-" + image.Digest["sha256:".Length..] + ".sig";

        // cosign's legacy signature: an image config and one simplesigning layer, under the sha256-….sig tag
        var payload = "{\"critical\":{}}"u8.ToArray();
        var config = Config("cosign");
        var signature = new TestManifest(OciManifest,
            OciManifestBody(TestDescriptor.Of(OciConfig, config), [TestDescriptor.Of("application/vnd.dev.cosign.simplesigning.v1+json", payload)]), [config, payload], []);
        await Client.PushManifestAsync(Repository, signature, signatureTag);

        // an OCI 1.1 SBOM referrer and an in-toto attestation (DSSE layer)
        var sbom = Artifact("application/vnd.cyclonedx+json", "{\"bomFormat\":\"CycloneDX\"}"u8.ToArray(), subject: image.Descriptor());
        await Client.PushManifestAsync(Repository, sbom);
        var envelope = "{\"payloadType\":\"application/vnd.in-toto+json\"}"u8.ToArray();
        var attestation = new TestManifest(OciManifest,
            OciManifestBody(TestDescriptor.Of(OciConfig, Config("att")), [TestDescriptor.Of("application/vnd.dsse.envelope.v1+json", envelope)]), [Config("att"), envelope], []);
        await Client.PushManifestAsync(Repository, attestation);

        foreach (var reference in new[] { signatureTag, signature.Digest, sbom.Digest, attestation.Digest })
        {
            using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }
    }

    [Theory]
    [InlineData("application/vnd.cncf.notary.signature", OciEmpty, "application/jose+json", true)]
    [InlineData("application/vnd.dev.sigstore.bundle.v0.3+json", OciEmpty, "application/vnd.dev.sigstore.bundle.v0.3+json", true)]
    [InlineData("application/spdx+json", OciEmpty, "application/spdx+json", true)]
    [InlineData("application/vnd.in-toto+json", OciEmpty, "application/vnd.in-toto+json; predicateType=https://slsa.dev/provenance/v1", true)]
    [InlineData(null, "application/vnd.cyclonedx+xml", "application/octet-stream", true)]
    [InlineData("application/vnd.example.thing", OciEmpty, "application/octet-stream", false)]
    [InlineData("application/vnd.dev.cosign.artifact.sig.v1+json", OciEmpty, "application/x-tar", false)]
    [InlineData("application/vnd.cncf.notary.signature", OciEmpty, "application/vnd.docker.image.rootfs.diff.tar.gzip", false)]
    public async Task Get_ArtifactUnderBlockUnscanned_ServedOnlyWhenASignatureOrSbomTypeWithoutTarLayers(string? artifactType, string configType, string layerType, bool served)
    {
        await PushAsync(1, "v1");
        var payload = "{\"x\":1}"u8.ToArray();
        var config = configType == OciEmpty ? EmptyJson : "{\"bom\":1}"u8.ToArray();
        var manifest = new TestManifest(OciManifest,
            OciManifestBody(TestDescriptor.Of(configType, config), [TestDescriptor.Of(layerType, payload)], artifactType: artifactType), [config, payload], []);
        await Client.PushManifestAsync(Repository, manifest);
        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{manifest.Digest}");

        if (served)
        {
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }
        else
        {
            await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        }
    }

    [Fact]
    public async Task Get_SbomArtifactTypeWithTarLayers_OrARealImageUnderASignatureTag_IsGated()
    {
        var config = Config("disguised");
        var layer = Bytes(128, 5);
        var disguised = new TestManifest(OciManifest,
            OciManifestBody(TestDescriptor.Of(OciConfig, config), [TestDescriptor.Of(OciLayer, layer)], artifactType: "application/vnd.cyclonedx+json"), [config, layer], []);
        await Client.PushManifestAsync(Repository, disguised);
        var image = OciImage(2);
        var signatureTag = "sha256-" + image.Digest["sha256:".Length..] + ".sig";
        await Client.PushManifestAsync(Repository, image, signatureTag);
        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);

        foreach (var reference in new[] { disguised.Digest, signatureTag })
        {
            using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
            Assert.EndsWith("has not been scanned and project shop refuses unscanned images", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Get_PolicyChangedInTheStore_TakesEffectAfterTheCacheBound()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical));
        using (var first = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(first, HttpStatusCode.OK); // the policy (block nothing) is now cached
        }

        await PolicyAsync(BlockSeverity.Critical); // as another node would: nothing here is told
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        using (var cached = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(cached, HttpStatusCode.OK);
        }

        App.Clock.Advance(TimeSpan.FromSeconds(1.5));
        using (var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        }

        // a result rescanned clean, written as another node would, is served once the decision has aged out
        await ScannedAsync(image);
        App.Clock.Advance(TimeSpan.FromSeconds(3.5));
        using var clean = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.StatusAsync(clean, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_Refused_IsAuditedWithTheReason_AndNotCountedAsAPull()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical));
        await PolicyAsync(BlockSeverity.Critical);

        using (var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        }

        var entries = await new AccessSetup(App).AuditAsync();
        Assert.DoesNotContain(entries, e => e.Action == AuditActions.Pull);
        var denied = Assert.Single(entries, e => e.Action == ScanAuditActions.PullDenied);
        Assert.Equal((BerthApplication.AdminUser, Repository), (denied.ActorName, denied.Repository?.Value));
        using var detail = JsonDocument.Parse(denied.Detail!);
        Assert.Equal("v1", detail.RootElement.GetProperty("reference").GetString());
        Assert.Equal(image.Digest, detail.RootElement.GetProperty("digest").GetString());
        Assert.Equal($"{Repository}@{image.Digest}: 1 vulnerability at or above CRITICAL (CVE-2024-1 CRITICAL) is blocked by project shop's pull policy",
            detail.RootElement.GetProperty("reason").GetString());

        await AllowAsync("CVE-2024-1", project: "shop");
        App.Clock.Advance(TimeSpan.FromSeconds(4));
        using (var served = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(served, HttpStatusCode.OK);
        }

        Assert.Single(await new AccessSetup(App).AuditAsync(), e => e.Action == AuditActions.Pull);
    }

    [Fact]
    public async Task BlobsOfARefusedImage_AreServed()
    {
        var image = await PushAsync(1, "v1");
        await ScannedAsync(image, F("CVE-2024-1", Severity.Critical));
        await PolicyAsync(BlockSeverity.Critical, blockUnscanned: true);

        foreach (var blob in image.Blobs)
        {
            using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{Sha256(blob)}");
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task Get_DockerStyleAcceptHeaders_RefusalIsTheOciErrorDocument_AndAllowedImagesServeAsBefore()
    {
        var blocked = await PushAsync(1, "v1");
        var docker = DockerImage(2);
        await Client.PushManifestAsync(Repository, docker, "v2");
        await ScannedAsync(blocked, F("CVE-2024-1", Severity.Critical));
        await ScannedAsync(docker, F("CVE-2024-3", Severity.High));
        await PolicyAsync(BlockSeverity.Critical);

        foreach (var (tag, status) in new[] { ("v1", HttpStatusCode.Forbidden), ("v2", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Repository}/manifests/{tag}");
            foreach (var accept in new[] { DockerManifest, DockerManifestList, OciManifest, OciIndex, DockerSchema1Signed })
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            request.Headers.UserAgent.ParseAdd("docker/27.3.1 go/go1.22.7 os/linux arch/amd64");
            using var response = await Client.SendAsync(request);
            if (status == HttpStatusCode.OK)
            {
                await OciAssert.StatusAsync(response, HttpStatusCode.OK);
                Assert.Equal(docker.Digest, response.Header("Docker-Content-Digest"));
                Assert.Equal(DockerManifest, response.Content.Headers.ContentType?.MediaType);
            }
            else
            {
                var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
                Assert.StartsWith($"{Repository}@{blocked.Digest}: 1 vulnerability", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Get_UnknownManifestOrBadReference_UnderAStrictPolicy_IsManifestUnknown()
    {
        await PushAsync(1, "v1");
        await PolicyAsync(BlockSeverity.Low, blockUnscanned: true);

        using var unknownTag = await Client.GetAsync($"/v2/{Repository}/manifests/nope");
        await OciAssert.ErrorAsync(unknownTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var unknownDigest = await Client.GetAsync($"/v2/{Repository}/manifests/sha256:{new string('0', 64)}");
        await OciAssert.ErrorAsync(unknownDigest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var bad = await Client.GetAsync($"/v2/{Repository}/manifests/sha256:zz");
        await OciAssert.ErrorAsync(bad, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task Get_UnreadableFindingsWithAnAllowlist_IsRefusedOnTheCounts()
    {
        var image = await PushAsync(1, "v1");
        var now = App.Clock.GetUtcNow();
        await Results.UpsertAsync(new ScanResult(Digest.Parse(image.Digest), ScanStatus.Done, null, 3, now, null, "{\"v\":99}",
            new SeverityCounts(0, 0, 0, 0, 2), "CVE-2024-1, CVE-2024-2", now), Ct);
        await PolicyAsync(BlockSeverity.Critical);
        await AllowAsync("CVE-2024-1", project: "shop");

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("2 vulnerabilities at or above CRITICAL (CVE-2024-1, CVE-2024-2)", error.Message, StringComparison.Ordinal);
    }

    private async Task<TestManifest> PushAsync(int seed, string tag)
    {
        var image = OciImage(seed);
        await Client.PushManifestAsync(Repository, image, tag);
        return image;
    }

    private async Task PolicyAsync(BlockSeverity severity, bool blockUnscanned = false) =>
        Assert.True(await Policies.SetPolicyAsync(ProjectName.Parse("shop"), new ScanPolicy(true, severity, blockUnscanned, false), Ct), "no project shop");

    private async Task SetPolicyThroughApiAsync(object body)
    {
        using var response = await Client.PutAsJsonAsync("/api/v1/projects/shop/scan-policy", body);
        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
    }

    private async Task AllowAsync(string id, string? project, DateTimeOffset? expires = null)
    {
        var scope = project is null ? (ProjectName?)null : ProjectName.Parse(project);
        var result = await Policies.AddAllowAsync(new CveAllowEntry(0, scope, id, "test", expires, "admin", App.Clock.GetUtcNow()), Ct);
        Assert.Equal(CveAllowAddStatus.Added, result.Status);
    }

    /// <summary>Stores a finished scan of <paramref name="manifest"/> with <paramref name="findings"/>, as the scanner writes it.</summary>
    private async Task ScannedAsync(TestManifest manifest, params Finding[] findings)
    {
        var now = App.Clock.GetUtcNow();
        var counts = new SeverityCounts(
            findings.Count(f => f.Severity == Severity.Unknown), findings.Count(f => f.Severity == Severity.Low), findings.Count(f => f.Severity == Severity.Medium),
            findings.Count(f => f.Severity == Severity.High), findings.Count(f => f.Severity == Severity.Critical));
        var worst = findings.Length == 0 ? null : string.Join(", ", findings.OrderByDescending(f => f.Severity).Select(f => f.VulnerabilityId).Distinct().Take(5));
        await Results.UpsertAsync(new ScanResult(Digest.Parse(manifest.Digest), ScanStatus.Done, null, 1, now, null, ScanDocuments.WriteFindings(findings), counts, worst, now), Ct);
    }

    private static Finding F(string id, Severity severity, params string[] aliases) =>
        new(id, id, aliases, new InstalledPackage("Debian:12", "openssl", "3.0.11-1~deb12u1", "openssl", null, "debian", "var/lib/dpkg/status", null),
            "3.0.11-1~deb12u2", severity, null, null, null, "a title", null, []);
}
