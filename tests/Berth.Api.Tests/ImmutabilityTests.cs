using System.Net;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Api.Tests;

/// <summary>Tag immutability on <c>/v2</c>: refused moves and deletes are <c>DENIED</c> naming the tag and the rule.</summary>
public sealed class ImmutabilityTests : RegistryTest
{
    private async Task<long> ImmutableAsync(params string[] tags) =>
        await new AccessSetup(App).ImmutableAsync("shop", tags, ["latest"]);

    [Fact]
    public async Task PutManifest_MovingImmutableTag_IsDeniedWithTagAndRuleInTheError()
    {
        var one = OciImage(1);
        var two = OciImage(2);
        await Client.PushManifestAsync("shop/app", one, "v1.0");
        await Client.PushManifestAsync("shop/app", two);
        var rule = await ImmutableAsync("v*");

        using var response = await Client.PutManifestAsync("shop/app", "v1.0", two.Body, two.MediaType);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal($"tag v1.0 is immutable (rule {rule}: tags v* excluding latest)", error.Message);
        Assert.Equal("v1.0", error.Detail.GetProperty("tag").GetString());
        Assert.Equal(rule, error.Detail.GetProperty("rule").GetInt64());
        using var again = await Client.PutManifestAsync("shop/app", "v1.0", one.Body, one.MediaType);
        await OciAssert.StatusAsync(again, HttpStatusCode.Created);
        using var byDigestReference = await Client.PutManifestAsync("shop/app", two.Digest, two.Body, two.MediaType);
        await OciAssert.StatusAsync(byDigestReference, HttpStatusCode.Created);
    }

    [Fact]
    public async Task Delete_ImmutableTagOrItsManifest_IsDenied_SignatureTagsStayMovable()
    {
        var one = OciImage(1);
        var two = OciImage(2);
        await Client.PushManifestAsync("shop/app", one, "v1");
        await Client.PushManifestAsync("shop/app", two);
        await ImmutableAsync("**");
        var signatureTag = "sha256-" + one.Digest["sha256:".Length..] + ".sig";

        using (var tag = await Client.DeleteAsync("/v2/shop/app/manifests/v1"))
        {
            await OciAssert.ErrorAsync(tag, HttpStatusCode.Forbidden, "DENIED");
        }

        using (var digest = await Client.DeleteAsync($"/v2/shop/app/manifests/{one.Digest}"))
        {
            await OciAssert.ErrorAsync(digest, HttpStatusCode.Forbidden, "DENIED");
        }

        await Client.PushManifestAsync("shop/app", one, signatureTag);
        await Client.PushManifestAsync("shop/app", two, signatureTag);
        using (var signature = await Client.DeleteAsync($"/v2/shop/app/manifests/{signatureTag}"))
        {
            await OciAssert.StatusAsync(signature, HttpStatusCode.Accepted);
        }

        Assert.True(await Client.ManifestExistsAsync("shop/app", "v1"));
    }
}
