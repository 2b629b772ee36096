using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Auth.Jwt;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Rotating the registry-token signing key while the server runs, as <c>berth admin rotate-token-key</c> (or another
/// node sharing the key folder) does: the server signs with the new key after its next reload, tokens of the old key
/// keep working until the old key is retired.
/// </summary>
public sealed class KeyRotationTests : AccessTest
{
    private static readonly Credentials AdminCredentials = new(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    [Fact]
    public async Task Rotation_NewKeySignsAfterReload_OldTokensVerifyUntilRetired()
    {
        await Admin.PushBlobAsync("proj/app", TestImages.Bytes(10, 1));
        var oldToken = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        var folder = Path.Combine(App.DataPath, "keys");
        Assert.True(Directory.Exists(folder), "the server keeps its signing keys in DATA/keys");
        var oldKid = KeyId(oldToken);

        // Another process (berth admin rotate-token-key) adds a key to the folder.
        using (var ring = SigningKeyRing.LoadOrCreate(folder))
        {
            Assert.Equal(oldKid, ring.Current.Id);
            ring.Rotate();
        }

        await ReloadAsync();
        var newToken = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        Assert.NotEqual(oldKid, KeyId(newToken));
        Assert.Equal(HttpStatusCode.OK, await TagsStatusAsync(oldToken));
        Assert.Equal(HttpStatusCode.OK, await TagsStatusAsync(newToken));

        // berth admin retire-token-keys: only the newest key verifies.
        using (var ring = SigningKeyRing.LoadOrCreate(folder))
        {
            Assert.True(ring.Remove(oldKid));
        }

        await ReloadAsync();
        var stillNew = await AccessClient.GetTokenAsync(App, AdminCredentials, "repository:proj/app:pull");
        Assert.Equal(HttpStatusCode.OK, await TagsStatusAsync(stillNew));
        // The retired key verifies nothing any more (the server still honours a token it had already verified, for
        // the rest of that token's five minutes).
        Assert.Equal(HttpStatusCode.Unauthorized, await FreshValidationStatusAsync(oldToken));
    }

    /// <summary>Moves the fake clock past the reloader's period and waits until the ring has re-read the folder.</summary>
    private async Task ReloadAsync()
    {
        var ring = Service<SigningKeyRing>();
        var before = string.Join(',', ring.Keys.Select(k => k.Id));
        for (var i = 0; i < 200 && string.Join(',', ring.Keys.Select(k => k.Id)) == before; i++)
        {
            App.Clock.Advance(TimeSpan.FromSeconds(61));
            await Task.Delay(20);
        }

        Assert.NotEqual(before, string.Join(',', ring.Keys.Select(k => k.Id)));
    }

    private async Task<HttpStatusCode> TagsStatusAsync(string token)
    {
        using var client = AccessClient.Bearer(App, token);
        using var response = await client.GetAsync("/v2/proj/app/tags/list");
        return response.StatusCode;
    }

    /// <summary>The registry service's own verdict on a token, without the server's cache of verified tokens.</summary>
    private Task<HttpStatusCode> FreshValidationStatusAsync(string token) =>
        Task.FromResult(Service<RegistryTokenService>().Validate(token).IsValid ? HttpStatusCode.OK : HttpStatusCode.Unauthorized);

    private static string KeyId(string token)
    {
        var header = token[..token.IndexOf('.', StringComparison.Ordinal)];
        var padded = header.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(padded)));
        return json.RootElement.GetProperty("kid").GetString()!;
    }
}
