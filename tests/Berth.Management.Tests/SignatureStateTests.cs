using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Scanning;
using Berth.Signing.Keys;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Testing.TestImages;
using static Berth.Testing.TestSignatures;

namespace Berth.Management.Tests;

/// <summary>
/// The signature state of an artifact (<c>GET /api/v1/repositories/signature</c>, issue 15 item 5): signed by which
/// trusted key or why not, each signature found (tag and referrer), per platform for an index, whether or not the
/// project is signed-only; who may read it; bad input as problems.
/// </summary>
public sealed class SignatureStateTests : IDisposable
{
    private readonly ManagementApp _app = new(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" });
    private readonly SigningPrivateKey _key = SigningPrivateKey.GenerateEcdsaP256();
    private readonly SigningPrivateKey _stranger = SigningPrivateKey.GenerateEcdsaP256();

    public void Dispose()
    {
        _key.Dispose();
        _stranger.Dispose();
        _app.Dispose();
    }

    private static string StatePath(string repository, string reference) =>
        $"/api/v1/repositories/signature?repository={repository}&reference={Uri.EscapeDataString(reference)}";

    [Fact]
    public async Task Get_Unsigned_SaysNoSignature_WithThePolicyOff()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");

        var state = await _app.Admin.GetJsonAsync(StatePath("shop/app", "v1"));

        Assert.Equal(("shop/app", "v1", image.Digest, OciManifest), (state.GetProperty("repository").GetString(), state.GetProperty("reference").GetString(),
            state.GetProperty("digest").GetString(), state.GetProperty("mediaType").GetString()));
        Assert.False(state.GetProperty("signedOnly").GetBoolean());
        Assert.False(state.GetProperty("signed").GetBoolean());
        Assert.Equal("no signature", state.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("trustedBy").ValueKind);
        Assert.Equal(JsonValueKind.Null, state.GetProperty("signedVia").ValueKind);
        Assert.Empty(state.GetProperty("signatures").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("platforms").ValueKind);
    }

    [Fact]
    public async Task Get_SignedByTagAndReferrer_ListsBoth_WithTheTrustedKeyAndTheOtherOnesFailure()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        var tagged = Cosign(_key, "shop/app", image.Digest);
        await _app.Admin.PushManifestAsync("shop/app", tagged, SignatureTag(image.Digest));
        var referrer = Cosign(_stranger, "shop/app", image.Digest, subject: image);
        await _app.Admin.PushManifestAsync("shop/app", referrer);
        await TrustAsync(_app.App, "shop", "ci", _key);
        await SignedOnlyAsync();

        var state = await _app.Admin.GetJsonAsync(StatePath("shop/app", image.Digest));

        Assert.True(state.GetProperty("signedOnly").GetBoolean());
        Assert.True(state.GetProperty("signed").GetBoolean());
        Assert.Equal("ci", state.GetProperty("trustedBy").GetString());
        Assert.Equal("self", state.GetProperty("signedVia").GetString());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("reason").ValueKind);
        var signatures = state.GetProperty("signatures").EnumerateArray().ToList();
        Assert.Equal(2, signatures.Count);
        var first = signatures[0];
        Assert.Equal((tagged.Digest, "cosign", "tag", true, "ci"), (first.GetProperty("digest").GetString(), first.GetProperty("format").GetString(),
            first.GetProperty("location").GetString(), first.GetProperty("valid").GetBoolean(), first.GetProperty("trustedBy").GetString()));
        var second = signatures[1];
        Assert.Equal((referrer.Digest, "cosign", "referrer", false, "signature from an untrusted key"), (second.GetProperty("digest").GetString(),
            second.GetProperty("format").GetString(), second.GetProperty("location").GetString(), second.GetProperty("valid").GetBoolean(),
            second.GetProperty("failure").GetString()));
        Assert.False(string.IsNullOrEmpty(second.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Get_SignedIndex_ListsEachPlatformSignedViaTheIndex()
    {
        await _app.CreateProjectAsync("shop");
        var index = Index([OciImage(1), OciImage(2)]);
        await _app.Admin.PushManifestAsync("shop/app", index, "multi");
        await _app.Admin.PushManifestAsync("shop/app", Cosign(_key, "shop/app", index.Digest), SignatureTag(index.Digest));
        await TrustAsync(_app.App, "shop", "ci", _key);

        var state = await _app.Admin.GetJsonAsync(StatePath("shop/app", "multi"));

        Assert.True(state.GetProperty("signed").GetBoolean());
        var platforms = state.GetProperty("platforms").EnumerateArray().ToList();
        Assert.Equal(index.Children.Select(c => c.Digest), platforms.Select(p => p.GetProperty("signature").GetProperty("digest").GetString()));
        foreach (var platform in platforms.Select(p => p.GetProperty("signature")))
        {
            Assert.True(platform.GetProperty("signed").GetBoolean());
            Assert.Equal($"index {index.Digest}", platform.GetProperty("signedVia").GetString());
            Assert.Equal("ci", platform.GetProperty("trustedBy").GetString());
        }
    }

    [Fact]
    public async Task Get_ASignatureItself_IsExempt()
    {
        await _app.CreateProjectAsync("shop");
        var image = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", image, "v1");
        await _app.Admin.PushManifestAsync("shop/app", Cosign(_key, "shop/app", image.Digest), SignatureTag(image.Digest));

        var state = await _app.Admin.GetJsonAsync(StatePath("shop/app", SignatureTag(image.Digest)));

        Assert.True(state.GetProperty("exempt").GetBoolean());
        Assert.False(state.GetProperty("signed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("reason").ValueKind);
    }

    [Fact]
    public async Task Get_PrivateProject_HiddenFromStrangers_ReadableByAReader()
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(1), "v1");
        await _app.CreateUserAsync("eve");
        await _app.CreateUserAsync("rita");
        await _app.AddMemberAsync("shop", "rita", "reader");

        using var anonymous = await _app.Anonymous.GetAsync(StatePath("shop/app", "v1"));
        await Expect.ProblemAsync(anonymous, HttpStatusCode.NotFound);
        using var eve = await _app.As("eve").GetAsync(StatePath("shop/app", "v1"));
        await Expect.ProblemAsync(eve, HttpStatusCode.NotFound);
        Assert.False((await _app.As("rita").GetJsonAsync(StatePath("shop/app", "v1"))).GetProperty("signed").GetBoolean());
    }

    [Theory]
    [InlineData("/api/v1/repositories/signature?repository=shop/app&reference=v2", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/signature?repository=shop/nothing&reference=v1", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/signature?repository=ghost/app&reference=v1", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/signature?repository=shop/app&reference=sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/repositories/signature?repository=shop/app&reference=bad%20tag", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/signature?repository=shop/app&reference=sha256:short", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/signature?repository=shop/app", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/signature?reference=v1", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/repositories/signature?repository=Shop/App&reference=v1", HttpStatusCode.BadRequest)]
    public async Task BadOrUnknown_ClearProblems(string path, HttpStatusCode expected)
    {
        await _app.CreateProjectAsync("shop");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(1), "v1");

        using var response = await _app.Admin.GetAsync(path);

        await Expect.ProblemAsync(response, expected);
    }

    private async Task SignedOnlyAsync() =>
        Assert.True(await _app.App.Services.GetRequiredService<IScanPolicyStore>().SetPolicyAsync(ProjectName.Parse("shop"),
            new ScanPolicy(true, BlockSeverity.None, false, false, SignedOnly: true), CancellationToken.None));
}
