using System.Net;
using System.Text;
using Berth.Application.Signing;
using Berth.Core.Access;
using Berth.Core.Scanning;
using Berth.Signing.Keys;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Testing.TestImages;
using static Berth.Testing.TestSignatures;

namespace Berth.Api.Tests;

/// <summary>
/// The signed-only pull policy on <c>/v2</c> manifest GET and HEAD (issue 15 item 3): only manifests with a valid
/// signature from the project's trust (cosign tag scheme or referrer; an index's signature covers its platform
/// manifests) are served, for administrators too; refusals are <c>DENIED</c> naming the image and why, audited;
/// signatures, attestations and SBOMs stay pullable; evaluations are cached and dropped when trust or signatures change.
/// </summary>
public sealed class SignaturePolicyTests : RegistryTest, IDisposable
{
    private const string Repository = "shop/app";
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly SigningPrivateKey _key = SigningPrivateKey.GenerateEcdsaP256();
    private readonly SigningPrivateKey _stranger = SigningPrivateKey.GenerateEcdsaP256();

    public SignaturePolicyTests()
        : base(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" })
    {
    }

    private SignaturePolicyGate Gate => App.Services.GetRequiredService<SignaturePolicyGate>();

    void IDisposable.Dispose()
    {
        _key.Dispose();
        _stranger.Dispose();
        Dispose();
    }

    [Fact]
    public async Task Get_Unsigned_RefusedNamingTheImage_AndAuditedWithTheReason()
    {
        var image = await PushAsync(1, "v1");
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var expected = $"{Repository}@{image.Digest}: no valid signature: no signature (project shop allows only signed images)";
        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(expected, error.Message);
        Assert.Equal("no signature", error.Detail.GetProperty("reason").GetString());
        var denied = Assert.Single(await new AccessSetup(App).AuditAsync(), e => e.Action == ScanAuditActions.PullDenied);
        Assert.Contains(expected, denied.Detail!, StringComparison.Ordinal);
        Assert.Equal((BerthApplication.AdminUser, Repository), (denied.ActorName, denied.Repository?.Value));
    }

    [Fact]
    public async Task GetAndHead_SignedByATrustedKey_ServedByTagAndDigest()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, image.Digest), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        foreach (var reference in new[] { "v1", image.Digest })
        {
            using var get = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            await OciAssert.StatusAsync(get, HttpStatusCode.OK);
            Assert.Equal(image.Body, await get.Content.ReadAsByteArrayAsync());
            using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
    }

    [Fact]
    public async Task Get_SignedAsAReferrer_ByAServerWideKey_Served()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, image.Digest, subject: image));
        await TrustAsync(App, null, "everyone", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
    }

    [Fact]
    public async Task GetAndHead_SignedByAnUntrustedKey_RefusedWithThatReason_ForTheAdministratorAndAReader()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, Cosign(_stranger, Repository, image.Digest), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();
        var access = new AccessSetup(App);
        var reader = await access.UserAsync("rita", "rita-password-1");
        await access.MemberAsync("shop", reader, ProjectRole.Reader);
        using var readerClient = App.CreateClient("rita", "rita-password-1");

        foreach (var client in new[] { Client, readerClient })
        {
            using var get = await client.GetAsync($"/v2/{Repository}/manifests/v1");
            var error = await OciAssert.ErrorAsync(get, HttpStatusCode.Forbidden, "DENIED");
            Assert.Equal($"{Repository}@{image.Digest}: no valid signature: signature from an untrusted key (project shop allows only signed images)", error.Message);
            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/manifests/{image.Digest}"));
            Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        }
    }

    [Fact]
    public async Task Get_TrustedSignatureOfAnotherDigest_RefusedAsForAnotherDigest()
    {
        var image = await PushAsync(1, "v1");
        var other = await PushAsync(2, "v2");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, other.Digest), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("no valid signature: signature is for another digest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_TamperedPayload_Refused()
    {
        // The payload names the image but is not the one signed: cosign simple signing names no key, so an altered
        // payload is "no trusted key verifies it" (Berth.Signing's README), never a pass.
        var image = await PushAsync(1, "v1");
        var signed = CosignSigner(image.Digest);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(signed.Payload).Replace("\"identity\"", "\"identity\" ", StringComparison.Ordinal));
        Assert.NotEqual(signed.Payload, tampered);
        await Client.PushManifestAsync(Repository, CosignRaw(tampered, signed.SignatureBase64), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("no valid signature: signature from an untrusted key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SignatureTagPointingAtAnOrdinaryImage_IsNoSignature()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, OciImage(9), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.EndsWith(": no valid signature: no signature (project shop allows only signed images)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SignedIndex_ServesTheIndexAndItsPlatformManifests()
    {
        var platform = OciImage(1);
        var index = Index([platform, OciImage(2)]);
        await Client.PushManifestAsync(Repository, index, "multi");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, index.Digest), SignatureTag(index.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        foreach (var reference in new[] { "multi", index.Digest, platform.Digest, index.Children[1].Digest })
        {
            using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task Get_UnsignedIndex_AndItsPlatformManifest_Refused_ASignedPlatformManifestDoesNotSignItsIndex()
    {
        var signedPlatform = OciImage(1);
        var unsignedPlatform = OciImage(2);
        var index = Index([signedPlatform, unsignedPlatform]);
        await Client.PushManifestAsync(Repository, index, "multi");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, signedPlatform.Digest), SignatureTag(signedPlatform.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using (var indexResponse = await Client.GetAsync($"/v2/{Repository}/manifests/multi"))
        {
            var error = await OciAssert.ErrorAsync(indexResponse, HttpStatusCode.Forbidden, "DENIED");
            Assert.Equal($"{Repository}@{index.Digest}: no valid signature: no signature (project shop allows only signed images)", error.Message);
        }

        using (var unsigned = await Client.GetAsync($"/v2/{Repository}/manifests/{unsignedPlatform.Digest}"))
        {
            await OciAssert.ErrorAsync(unsigned, HttpStatusCode.Forbidden, "DENIED");
        }

        using var signed = await Client.GetAsync($"/v2/{Repository}/manifests/{signedPlatform.Digest}");
        await OciAssert.StatusAsync(signed, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_IndexSignedInAnotherRepository_DoesNotServeThePlatformManifestHere()
    {
        var platform = OciImage(1);
        var index = Index([platform]);
        await Client.PushManifestAsync("shop/other", index, "multi");
        await Client.PushManifestAsync("shop/other", Cosign(_key, "shop/other", index.Digest), SignatureTag(index.Digest));
        await Client.PushManifestAsync(Repository, platform, "v1");
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var here = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.ErrorAsync(here, HttpStatusCode.Forbidden, "DENIED");
        using var there = await Client.GetAsync($"/v2/shop/other/manifests/{platform.Digest}");
        await OciAssert.StatusAsync(there, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_SignaturesAttestationsAndSboms_StayPullableWithoutASignature()
    {
        var image = await PushAsync(1, "v1");
        var tagSignature = Cosign(_stranger, Repository, image.Digest);
        await Client.PushManifestAsync(Repository, tagSignature, SignatureTag(image.Digest));
        var referrer = Cosign(_stranger, Repository, image.Digest, subject: image);
        await Client.PushManifestAsync(Repository, referrer);
        var sbom = Artifact("application/vnd.cyclonedx+json", "{\"bomFormat\":\"CycloneDX\"}"u8.ToArray(), subject: image.Descriptor());
        await Client.PushManifestAsync(Repository, sbom);
        var envelope = "{\"payloadType\":\"application/vnd.in-toto+json\"}"u8.ToArray();
        var attestation = new TestManifest(OciManifest,
            OciManifestBody(TestDescriptor.Of(OciConfig, Config("att")), [TestDescriptor.Of("application/vnd.dsse.envelope.v1+json", envelope)]), [Config("att"), envelope], []);
        await Client.PushManifestAsync(Repository, attestation);
        await SignedOnlyAsync();

        foreach (var reference in new[] { SignatureTag(image.Digest), tagSignature.Digest, referrer.Digest, sbom.Digest, attestation.Digest })
        {
            using var response = await Client.GetAsync($"/v2/{Repository}/manifests/{reference}");
            await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        }

        using var imageResponse = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.ErrorAsync(imageResponse, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task Get_SignedOnlyOff_EverythingPulls_AndTurningItOnRefusesAtOnce()
    {
        var image = await PushAsync(1, "v1");
        await App.Services.GetRequiredService<IScanPolicyStore>().SetPolicyAsync(ProjectName.Parse("shop"), new ScanPolicy(true, BlockSeverity.None, false, false), Ct);

        using (var off = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(off, HttpStatusCode.OK);
        }

        await SignedOnlyAsync();
        App.Services.GetRequiredService<Application.Scanning.PullPolicyGate>().Invalidate(ProjectName.Parse("shop")); // as the policy API does
        using var on = await Client.GetAsync($"/v2/{Repository}/manifests/{image.Digest}");
        await OciAssert.ErrorAsync(on, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task Get_TrustRemoved_RefusedAtOnceAfterInvalidation_AndOnOtherNodesWithinTheCacheBound()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, image.Digest), SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();
        using (var before = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(before, HttpStatusCode.OK);
        }

        Assert.Equal(Core.Metadata.DeleteResult.Deleted, await UntrustAsync(App, "shop", "ci"));

        // Not told (a change through another node): the cached verdict holds until the cache bound, then refuses.
        using (var cached = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(cached, HttpStatusCode.OK);
        }

        App.Clock.Advance(Gate.CacheLifetime + TimeSpan.FromSeconds(1));
        using (var later = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            var error = await OciAssert.ErrorAsync(later, HttpStatusCode.Forbidden, "DENIED");
            Assert.Contains("signature from an untrusted key", error.Message, StringComparison.Ordinal);
        }

        // Trusted again and removed again through this node (what the trust API does): in force at once.
        await TrustAsync(App, "shop", "ci", _key);
        Gate.Invalidate(ProjectName.Parse("shop"));
        using (var trusted = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(trusted, HttpStatusCode.OK);
        }

        await UntrustAsync(App, "shop", "ci");
        Gate.Invalidate(null);
        using var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task Get_SignaturePushedOrDeleted_TakesEffectAtOnce()
    {
        var image = await PushAsync(1, "v1");
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();
        using (var unsigned = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.ErrorAsync(unsigned, HttpStatusCode.Forbidden, "DENIED");
        }

        var signature = Cosign(_key, Repository, image.Digest, subject: image);
        await Client.PushManifestAsync(Repository, signature);
        using (var signed = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(signed, HttpStatusCode.OK);
        }

        using (var delete = await Client.DeleteAsync($"/v2/{Repository}/manifests/{signature.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        using var deleted = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.ErrorAsync(deleted, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task Get_GarbageSignatureManifests_RefusedWithAReason_Never5xx()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, CosignRaw("not json at all"u8.ToArray(), "!!!not base64!!!"), SignatureTag(image.Digest));
        var jws = "{\"protected\":\"e30\",\"payload\":1}"u8.ToArray();
        var notation = new TestManifest(OciManifest,
            OciManifestBody(EmptyDescriptor, [TestDescriptor.Of("application/jose+json", jws)], image.Descriptor(), "application/vnd.cncf.notary.signature"), [EmptyJson, jws], []);
        await Client.PushManifestAsync(Repository, notation);
        var bundle = Artifact("application/vnd.dev.sigstore.bundle.v0.3+json", "[1,2,3]"u8.ToArray(), subject: image.Descriptor());
        await Client.PushManifestAsync(Repository, bundle);
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("no valid signature:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(": no signature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SignatureBlobMissing_RefusedAsMalformed_ButACachedValidVerdictIsReusedUntilInvalidated()
    {
        var image = await PushAsync(1, "v1");
        var signature = Cosign(_key, Repository, image.Digest);
        await Client.PushManifestAsync(Repository, signature, SignatureTag(image.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();
        using (var first = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(first, HttpStatusCode.OK);
        }

        // The payload blob unlinked from the repository (no manifest or tag event): the cached verdict is reused, no I/O.
        var payloadDigest = Sha256(signature.Blobs[^1]);
        using (var unlink = await Client.DeleteAsync($"/v2/{Repository}/blobs/{payloadDigest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, unlink.StatusCode);
        }

        using (var cached = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(cached, HttpStatusCode.OK);
        }

        Gate.InvalidateRepository(Oci.RepositoryName.Parse(Repository));
        using var missing = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        var error = await OciAssert.ErrorAsync(missing, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("no valid signature: malformed signature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_BothPolicies_SignatureCheckedFirst_ThenVulnerabilities()
    {
        var unsigned = await PushAsync(1, "v1");
        var signed = await PushAsync(2, "v2");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, signed.Digest), SignatureTag(signed.Digest));
        await TrustAsync(App, "shop", "ci", _key);
        foreach (var image in new[] { unsigned, signed })
        {
            await App.Services.StoreAsync(TestScans.Done(image.Digest));
        }

        Assert.True(await App.Services.GetRequiredService<IScanPolicyStore>().SetPolicyAsync(ProjectName.Parse("shop"),
            new ScanPolicy(true, BlockSeverity.Critical, false, false, SignedOnly: true), Ct));

        using (var first = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            var error = await OciAssert.ErrorAsync(first, HttpStatusCode.Forbidden, "DENIED");
            Assert.Contains("no valid signature: no signature", error.Message, StringComparison.Ordinal);
        }

        using var second = await Client.GetAsync($"/v2/{Repository}/manifests/v2");
        var vulnerable = await OciAssert.ErrorAsync(second, HttpStatusCode.Forbidden, "DENIED");
        Assert.Contains("1 vulnerability at or above CRITICAL", vulnerable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_ATrustEntryThatNoLongerParses_IsSkipped_TheOthersStillVouch()
    {
        var image = await PushAsync(1, "v1");
        await Client.PushManifestAsync(Repository, Cosign(_key, Repository, image.Digest), SignatureTag(image.Digest));
        var store = App.Services.GetRequiredService<Core.Signing.ITrustStore>();
        foreach (var (name, kind) in new[] { ("broken-key", Core.Signing.TrustKind.Key), ("broken-root", Core.Signing.TrustKind.Root) })
        {
            var added = await store.AddAsync(new Core.Signing.TrustEntry(0, ProjectName.Parse("shop"), name, kind,
                "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n", kind == Core.Signing.TrustKind.Root ? ["no such rule"] : [], "sha256:00", "admin",
                App.Clock.GetUtcNow()), Ct);
            Assert.Equal(Core.Signing.TrustAddStatus.Added, added.Status);
        }

        await SignedOnlyAsync();
        using (var untrusted = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            var error = await OciAssert.ErrorAsync(untrusted, HttpStatusCode.Forbidden, "DENIED");
            Assert.Contains("signature from an untrusted key", error.Message, StringComparison.Ordinal);
        }

        await TrustAsync(App, "shop", "ci", _key);
        Gate.Invalidate(ProjectName.Parse("shop"));
        using var served = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.StatusAsync(served, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Get_SigstoreBundleReferrer_MessageSignatureByATrustedKey_Served_AndTheStateNamesItsFormat()
    {
        const string bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json";
        var image = await PushAsync(1, "v1");
        var bundle = new System.Text.Json.Nodes.JsonObject
        {
            ["mediaType"] = bundleType,
            ["verificationMaterial"] = new System.Text.Json.Nodes.JsonObject { ["publicKey"] = new System.Text.Json.Nodes.JsonObject() },
            ["messageSignature"] = new System.Text.Json.Nodes.JsonObject
            {
                ["messageDigest"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["algorithm"] = "SHA2_256",
                    ["digest"] = Convert.ToBase64String(Convert.FromHexString(image.Digest["sha256:".Length..])),
                },
                ["signature"] = Convert.ToBase64String(_key.Sign(image.Body)), // ECDSA over SHA-256 of the manifest: its digest
            },
        };
        var content = Encoding.UTF8.GetBytes(bundle.ToJsonString());
        var referrer = new TestManifest(OciManifest,
            OciManifestBody(EmptyDescriptor, [TestDescriptor.Of(bundleType, content)], image.Descriptor(), bundleType), [EmptyJson, content], []);
        await Client.PushManifestAsync(Repository, referrer);
        await TrustAsync(App, "shop", "ci", _key);
        await SignedOnlyAsync();

        using var response = await Client.GetAsync($"/v2/{Repository}/manifests/v1");
        await OciAssert.StatusAsync(response, HttpStatusCode.OK);

        using var state = await Client.GetAsync($"/api/v1/repositories/signature?repository={Repository}&reference=v1");
        await OciAssert.StatusAsync(state, HttpStatusCode.OK);
        using var json = System.Text.Json.JsonDocument.Parse(await state.Content.ReadAsStringAsync());
        var signature = Assert.Single(json.RootElement.GetProperty("signatures").EnumerateArray());
        Assert.Equal(("sigstore-bundle", "referrer", true, "ci"), (signature.GetProperty("format").GetString(), signature.GetProperty("location").GetString(),
            signature.GetProperty("valid").GetBoolean(), signature.GetProperty("trustedBy").GetString()));
    }

    private Berth.Signing.Cosign.CosignSignature CosignSigner(string digest) =>
        Berth.Signing.Cosign.CosignSigner.Sign(_key, Repository, Oci.Digest.Parse(digest));

    [Fact]
    public async Task Get_SignedWithACertificate_ServedThroughARootAddedWithTheTrustApi_OnlyForTheIdentitiesItVouchesFor()
    {
        var now = App.Clock.GetUtcNow();
        using var rootKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var rootRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Acme Signing Root, O=Acme", rootKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
            System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign | System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign, true));
        using var root = rootRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
        using var leafKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var leafRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=ci, O=Acme", leafKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.DigitalSignature, true));
        using var leaf = leafRequest.Create(root, now.AddHours(-1), now.AddDays(30), [1, 2, 3, 4, 5, 6, 7, 8]);

        // The leaf signs cosign's payload (ASN.1 DER ECDSA, as cosign does) and travels in the certificate annotation.
        var image = await PushAsync(1, "v1");
        var payload = Berth.Signing.Cosign.SimpleSigningPayload.Create(Repository, Berth.Oci.Digest.Parse(image.Digest));
        var signature = Convert.ToBase64String(leafKey.SignData(payload, System.Security.Cryptography.HashAlgorithmName.SHA256,
            System.Security.Cryptography.DSASignatureFormat.Rfc3279DerSequence));
        var artifact = Berth.Signing.Cosign.CosignSigner.BuildManifest([new Berth.Signing.Cosign.CosignSignature(payload, signature, leaf.ExportCertificatePem())]);
        await Client.PushManifestAsync(Repository, new TestManifest(artifact.MediaType, artifact.Manifest, [.. artifact.Blobs.Select(b => b.Content)], []), SignatureTag(image.Digest));
        await SignedOnlyAsync();

        async Task<HttpResponseMessage> TrustRootAsync(string name, string identity) =>
            await Client.PostAsync("/api/v1/projects/shop/trust", new StringContent(
                System.Text.Json.JsonSerializer.Serialize(new { name, pem = root.ExportCertificatePem(), identities = new[] { identity } }), Encoding.UTF8, "application/json"));

        // A root that vouches only for another identity: chained, but the signer is not trusted.
        using (var added = await TrustRootAsync("release-root", "x509.subject: O=Acme, CN=release"))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        using (var refused = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            var error = await OciAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
            Assert.Equal("signer identity not trusted", error.Detail.GetProperty("reason").GetString());
        }

        // The same root for the signer's identity (added through the API: in force at once on this node).
        using (var removed = await Client.DeleteAsync("/api/v1/projects/shop/trust/release-root"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        using (var added = await TrustRootAsync("ci-root", "x509.subject: O=Acme, CN=ci"))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        using (var served = await Client.GetAsync($"/v2/{Repository}/manifests/v1"))
        {
            await OciAssert.StatusAsync(served, HttpStatusCode.OK);
            Assert.Equal(image.Body, await served.Content.ReadAsByteArrayAsync());
        }

        using var state = await Client.GetAsync($"/api/v1/repositories/signature?repository={Repository}&reference=v1");
        using var json = System.Text.Json.JsonDocument.Parse(await state.Content.ReadAsStringAsync());
        Assert.Equal((true, "ci-root"), (json.RootElement.GetProperty("signed").GetBoolean(), json.RootElement.GetProperty("trustedBy").GetString()));
    }

    private async Task<TestManifest> PushAsync(int seed, string tag)
    {
        var image = OciImage(seed);
        await Client.PushManifestAsync(Repository, image, tag);
        return image;
    }

    private async Task SignedOnlyAsync() =>
        Assert.True(await App.Services.GetRequiredService<IScanPolicyStore>().SetPolicyAsync(ProjectName.Parse("shop"),
            new ScanPolicy(true, BlockSeverity.None, false, false, SignedOnly: true), Ct), "no project shop");
}
