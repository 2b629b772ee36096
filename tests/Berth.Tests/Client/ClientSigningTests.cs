using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Client;
using Berth.Oci;
using Berth.Signing.Cosign;
using Berth.Signing.Keys;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary>
/// <c>berth key generate</c>, <c>berth sign</c> and <c>berth verify</c> against the real server in memory: key files
/// (cosign's encrypted format, mode 0600, no overwrite), signatures in the tag scheme (two keys in one manifest) and as
/// referrers, indexes, cosign's own key file, and the refusals (another key, another digest, altered payload, unsigned,
/// bad input). One test checks with openssl that what berth writes verifies outside Berth.
/// </summary>
public sealed class ClientSigningTests : IDisposable
{
    private const string Url = "http://localhost";
    private const string Passphrase = "correct horse battery staple";

    private readonly BerthApplication _app = new(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" }) { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-sign-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("berth-cli-sign-keys-").FullName;
    private HttpClient? _admin;

    /// <summary>Manifests the registry refuses with 403 DENIED on /v2, as a "signed images only" policy does for an unsigned image.</summary>
    private readonly HashSet<string> _denied = new(StringComparer.Ordinal);

    public void Dispose()
    {
        _admin?.Dispose();
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
        Directory.Delete(_work, recursive: true);
    }

    private HttpClient Admin => _admin ??= _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);

    private string KeyPath(string name) => Path.Combine(_work, name);

    /// <summary>Runs berth with <paramref name="environment"/> as its only environment and <paramref name="stdin"/> as standard input.</summary>
    private async Task<RunResult> RunWith(IReadOnlyDictionary<string, string>? environment, string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = new DenyingHandler(_denied) { InnerHandler = _app.Server.CreateHandler() },
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = _config,
            EnvironmentVariable = name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
        };
        var exit = await ClientCli.RunAsync(args, context);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal); // never a stack trace
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    private Task<RunResult> Run(params string[] args) => RunWith(new Dictionary<string, string> { ["BERTH_KEY_PASSWORD"] = Passphrase }, "", args);

    private static void Ok(RunResult result) => InProcessCli.Ok(result);

    /// <summary>Logged in as the administrator, project <c>shop</c>, image <c>shop/app:v1</c>.</summary>
    private async Task<TestManifest> SetUpAsync()
    {
        Ok(await InProcessCli.RunAsync(_app, _config, "login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));
        var image = TestImages.OciImage(1);
        await Admin.PushManifestAsync("shop/app", image, "v1");
        return image;
    }

    private async Task<string> GenerateAsync(string name)
    {
        Ok(await Run("key", "generate", KeyPath(name)));
        return KeyPath(name);
    }

    private async Task<(HttpStatusCode Status, JsonObject? Manifest)> GetManifestAsync(string repository, string reference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/{reference}");
        request.Headers.Accept.ParseAdd(MediaTypes.OciManifest);
        request.Headers.Accept.ParseAdd(MediaTypes.OciIndex);
        using var response = await Admin.SendAsync(request);
        return (response.StatusCode, response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject() : null);
    }

    private static string SigTag(string digest) => CosignFormat.SignatureTag(Digest.Parse(digest));

    [Fact]
    public async Task KeyGenerate_WritesAnEncryptedPairWithMode0600_AndRefusesToOverwrite()
    {
        var result = await Run("key", "generate", KeyPath("ci"));

        Ok(result);
        var pem = await File.ReadAllTextAsync(KeyPath("ci.key"));
        Assert.StartsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", pem, StringComparison.Ordinal);
        var publicKey = SigningPublicKey.FromPem(await File.ReadAllTextAsync(KeyPath("ci.pub")));
        Assert.Contains($"Key id: {publicKey.KeyId}", result.Out, StringComparison.Ordinal);
        Assert.Contains(KeyPath("ci.key"), result.Out, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath("ci.key")));
        }

        using (var key = SigningPrivateKey.FromPem(pem, Passphrase))
        {
            Assert.Equal(publicKey.KeyId, key.PublicKey.KeyId);
        }

        Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(pem, "wrong"));
        Assert.Throws<KeyFormatException>(() => SigningPrivateKey.FromPem(pem, null));

        var again = await Run("key", "generate", KeyPath("ci"));
        Assert.Equal(1, again.Exit);
        Assert.Contains("exists", again.Error, StringComparison.Ordinal);
        Assert.Equal(pem, await File.ReadAllTextAsync(KeyPath("ci.key")));

        // Only the .pub left over still blocks, so a pair is never half replaced.
        File.Delete(KeyPath("ci.key"));
        Assert.Equal(1, (await Run("key", "generate", KeyPath("ci"))).Exit);
        Assert.False(File.Exists(KeyPath("ci.key")));

        Ok(await Run("key", "generate", KeyPath("ci"), "--force"));
        Assert.NotEqual(publicKey.KeyId, SigningPublicKey.FromPem(await File.ReadAllTextAsync(KeyPath("ci.pub"))).KeyId);
    }

    [Fact]
    public async Task KeyGenerate_PassphraseFromStdinOrCosignVariable_EmptyOnlyWhenSetExplicitly()
    {
        Ok(await RunWith(null, "from-stdin\n", "key", "generate", KeyPath("piped")));
        using (SigningPrivateKey.FromPem(await File.ReadAllTextAsync(KeyPath("piped.key")), "from-stdin"))
        {
        }

        Ok(await RunWith(new Dictionary<string, string> { ["COSIGN_PASSWORD"] = "cosign-pass" }, "", "key", "generate", KeyPath("cosignenv")));
        using (SigningPrivateKey.FromPem(await File.ReadAllTextAsync(KeyPath("cosignenv.key")), "cosign-pass"))
        {
        }

        var empty = await RunWith(null, "\n", "key", "generate", KeyPath("empty"));
        Assert.Equal(2, empty.Exit);
        Assert.Contains("BERTH_KEY_PASSWORD", empty.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(KeyPath("empty.key")));
        Assert.Equal(2, (await RunWith(null, "", "key", "generate", KeyPath("none"))).Exit);

        var explicitEmpty = await RunWith(new Dictionary<string, string> { ["BERTH_KEY_PASSWORD"] = "" }, "", "key", "generate", KeyPath("open"));
        Ok(explicitEmpty);
        Assert.Contains("EMPTY passphrase", explicitEmpty.Out, StringComparison.Ordinal);
        using (SigningPrivateKey.FromPem(await File.ReadAllTextAsync(KeyPath("open.key")), string.Empty))
        {
        }

        var noFolder = await Run("key", "generate", Path.Combine(_work, "missing", "ci"));
        Assert.Equal(2, noFolder.Exit);
        Assert.Contains("does not exist", noFolder.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignTagScheme_ThenVerify_Succeeds()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");

        var signed = await Run("sign", "shop/app:v1", "--key", key + ".key");

        Ok(signed);
        Assert.Contains($"Signed shop/app@{image.Digest}", signed.Out, StringComparison.Ordinal);
        Assert.Contains($"shop/app:{SigTag(image.Digest)}", signed.Out, StringComparison.Ordinal);
        var (status, manifest) = await GetManifestAsync("shop/app", SigTag(image.Digest));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(CosignFormat.SimpleSigningMediaType, manifest!["layers"]![0]!["mediaType"]!.GetValue<string>());

        var verified = await Run("verify", "shop/app:v1", "--key", key + ".pub");
        Ok(verified);
        Assert.Contains("Verified: signed by ci.pub", verified.Out, StringComparison.Ordinal);
        Assert.Contains($"tag {SigTag(image.Digest)}", verified.Out, StringComparison.Ordinal);

        // By digest and with the host in front: the same image, the same answer.
        Ok(await Run("verify", $"localhost/shop/app@{image.Digest}", "--key", key + ".pub"));

        var json = await Run("verify", "shop/app:v1", "--key", key + ".pub", "-o", "json");
        Ok(json);
        var answer = JsonNode.Parse(json.Out)!;
        Assert.True(answer["verified"]!.GetValue<bool>());
        Assert.Equal("ci.pub", answer["trustName"]!.GetValue<string>());
        Assert.Equal(image.Digest, answer["digest"]!.GetValue<string>());
        Assert.Equal("tag", answer["signatures"]![0]!["source"]!.GetValue<string>());
    }

    [Fact]
    public async Task SignWithTwoKeys_KeepsBothSignatures_EitherKeyVerifies_AThirdDoesNot()
    {
        var image = await SetUpAsync();
        var first = await GenerateAsync("first");
        var second = await GenerateAsync("second");
        var stranger = await GenerateAsync("stranger");

        Ok(await Run("sign", "shop/app:v1", "--key", first + ".key"));
        var twice = await Run("sign", "shop/app:v1", "--key", second + ".key");
        Ok(twice);
        Assert.Contains("(2 signatures)", twice.Out, StringComparison.Ordinal);

        var (_, manifest) = await GetManifestAsync("shop/app", SigTag(image.Digest));
        Assert.Equal(2, manifest!["layers"]!.AsArray().Count);
        Ok(await Run("verify", "shop/app:v1", "--key", first + ".pub"));
        Ok(await Run("verify", "shop/app:v1", "--key", second + ".pub"));

        var refused = await Run("verify", "shop/app:v1", "--key", stranger + ".pub");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("Not verified: UntrustedKey", refused.Out, StringComparison.Ordinal);

        // Several keys: valid if any of them signed.
        Ok(await Run("verify", "shop/app:v1", "--key", stranger + ".pub", "--key", second + ".pub"));
    }

    [Fact]
    public async Task SignReferrer_ThenVerify_AndTheReferrersApiListsIt()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");

        var signed = await Run("sign", "shop/app:v1", "--key", key + ".key", "--referrer");

        Ok(signed);
        Assert.Contains("referrer shop/app@sha256:", signed.Out, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await GetManifestAsync("shop/app", SigTag(image.Digest))).Status);
        var referrers = JsonNode.Parse(await Admin.GetStringAsync($"/v2/shop/app/referrers/{image.Digest}"))!["manifests"]!.AsArray();
        var referrer = Assert.Single(referrers)!;
        Assert.Equal(CosignFormat.ReferrerArtifactType, referrer["artifactType"]!.GetValue<string>());

        var verified = await Run("verify", "shop/app:v1", "--key", key + ".pub");
        Ok(verified);
        Assert.Contains($"referrer {referrer["digest"]!.GetValue<string>()}", verified.Out, StringComparison.Ordinal);

        var other = await GenerateAsync("other");
        Assert.Equal(1, (await Run("verify", "shop/app:v1", "--key", other + ".pub")).Exit);
    }

    [Fact]
    public async Task Verify_UnsignedImage_Exits1WithNoSignature()
    {
        await SetUpAsync();
        var key = await GenerateAsync("ci");

        var result = await Run("verify", "shop/app:v1", "--key", key + ".pub");

        Assert.Equal(1, result.Exit);
        Assert.Contains("Not verified: NoSignature", result.Out, StringComparison.Ordinal);

        var json = await Run("verify", "shop/app:v1", "--key", key + ".pub", "-o", "json");
        Assert.Equal(1, json.Exit);
        var answer = JsonNode.Parse(json.Out)!;
        Assert.False(answer["verified"]!.GetValue<bool>());
        Assert.Equal("NoSignature", answer["failure"]!.GetValue<string>());
        Assert.Empty(answer["signatures"]!.AsArray());
    }

    [Fact]
    public async Task Verify_SignatureCopiedToAnotherImage_Exits1WithWrongDigest()
    {
        var image = await SetUpAsync();
        var other = TestImages.OciImage(2);
        await Admin.PushManifestAsync("shop/app", other, "v2");
        var key = await GenerateAsync("ci");
        Ok(await Run("sign", "shop/app:v1", "--key", key + ".key"));

        // The .sig manifest of v1, stored under the tag of v2's digest (its blobs are in the repository already).
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/shop/app/manifests/{SigTag(image.Digest)}"))
        {
            request.Headers.Accept.ParseAdd(MediaTypes.OciManifest);
            using var response = await Admin.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            using var put = await Admin.PutManifestAsync("shop/app", SigTag(other.Digest), body, MediaTypes.OciManifest);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var result = await Run("verify", "shop/app:v2", "--key", key + ".pub");

        Assert.Equal(1, result.Exit);
        Assert.Contains("Not verified: WrongDigest", result.Out, StringComparison.Ordinal);
        Ok(await Run("verify", "shop/app:v1", "--key", key + ".pub"));
    }

    [Fact]
    public async Task Verify_TamperedPayload_Exits1()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");
        Ok(await Run("sign", "shop/app:v1", "--key", key + ".key"));
        var (_, manifest) = await GetManifestAsync("shop/app", SigTag(image.Digest));
        var layer = manifest!["layers"]![0]!;
        var payload = await Admin.GetStringAsync($"/v2/shop/app/blobs/{layer["digest"]!.GetValue<string>()}");

        // Another identity in the payload, the original signature kept: a consistent manifest whose signature no longer fits.
        var altered = Encoding.UTF8.GetBytes(payload.Replace("localhost/shop/app", "localhost/shop/evil", StringComparison.Ordinal));
        Assert.NotEqual(payload, Encoding.UTF8.GetString(altered));
        layer["digest"] = await Admin.PushBlobAsync("shop/app", altered);
        layer["size"] = altered.Length;
        using (var put = await Admin.PutManifestAsync("shop/app", SigTag(image.Digest), Encoding.UTF8.GetBytes(manifest.ToJsonString()), MediaTypes.OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var result = await Run("verify", "shop/app:v1", "--key", key + ".pub");

        Assert.Equal(1, result.Exit);
        Assert.Contains("Not verified:", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_SignatureTagHoldingAnImage_Exits1_AndSignRefusesToReplaceIt()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");
        await Admin.PushManifestAsync("shop/app", TestImages.OciImage(3), SigTag(image.Digest));

        var verified = await Run("verify", "shop/app:v1", "--key", key + ".pub");
        Assert.Equal(1, verified.Exit);
        Assert.Contains("NoSignature", verified.Out, StringComparison.Ordinal);

        var signed = await Run("sign", "shop/app:v1", "--key", key + ".key");
        Assert.Equal(1, signed.Exit);
        Assert.Contains("not a cosign signature manifest", signed.Error, StringComparison.Ordinal);

        // A referrer still works beside it.
        Ok(await Run("sign", "shop/app:v1", "--key", key + ".key", "--referrer"));
        Ok(await Run("verify", "shop/app:v1", "--key", key + ".pub"));
    }

    [Fact]
    public async Task SignIndex_SignsTheIndexDigest()
    {
        await SetUpAsync();
        var amd = TestImages.OciImage(11);
        var arm = TestImages.OciImage(12);
        var index = TestScans.PlatformIndex((amd, "linux/amd64"), (arm, "linux/arm64"));
        await Admin.PushManifestAsync("shop/app", index, "multi");
        var key = await GenerateAsync("ci");

        var signed = await Run("sign", "shop/app:multi", "--key", key + ".key");

        Ok(signed);
        Assert.Contains($"Signed shop/app@{index.Digest}", signed.Out, StringComparison.Ordinal);
        Ok(await Run("verify", "shop/app:multi", "--key", key + ".pub"));
        Assert.Equal(1, (await Run("verify", $"shop/app@{amd.Digest}", "--key", key + ".pub")).Exit); // the platform image itself is not signed
    }

    [Fact]
    public async Task CosignKeyFile_Signs_WithItsEmptyPassphraseFromCosignPassword()
    {
        var image = await SetUpAsync();
        var source = Path.Combine(AppContext.BaseDirectory, "testdata", "signing", "cosign-empty-password.key");
        File.Copy(source, KeyPath("cosign.key"));
        using (var key = SigningPrivateKey.FromPem(await File.ReadAllTextAsync(source), string.Empty))
        {
            await File.WriteAllTextAsync(KeyPath("cosign.pub"), key.PublicKey.ToPem());
        }

        var cosignEnvironment = new Dictionary<string, string> { ["COSIGN_PASSWORD"] = "" };
        Ok(await RunWith(cosignEnvironment, "", "sign", "shop/app:v1", "--key", KeyPath("cosign.key")));
        Ok(await Run("verify", $"shop/app@{image.Digest}", "--key", KeyPath("cosign.pub")));

        // An empty line on standard input is the empty passphrase too.
        Ok(await RunWith(null, "\n", "sign", "shop/app:v1", "--key", KeyPath("cosign.key"), "--referrer"));
    }

    [Fact]
    public async Task WrongPassphrase_BadReference_MissingKey_AreClearErrors()
    {
        await SetUpAsync();
        var key = await GenerateAsync("ci");

        var wrong = await RunWith(new Dictionary<string, string> { ["BERTH_KEY_PASSWORD"] = "not it" }, "", "sign", "shop/app:v1", "--key", key + ".key");
        Assert.Equal(1, wrong.Exit);
        Assert.Contains("wrong passphrase", wrong.Error, StringComparison.Ordinal);

        var noPassphrase = await RunWith(null, "", "sign", "shop/app:v1", "--key", key + ".key");
        Assert.Equal(2, noPassphrase.Exit);
        Assert.Contains("BERTH_KEY_PASSWORD", noPassphrase.Error, StringComparison.Ordinal);

        var badReference = await Run("sign", "not a ref", "--key", key + ".key");
        Assert.Equal(2, badReference.Exit);
        Assert.Contains("is not an image reference", badReference.Error, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("verify", "shop", "--key", key + ".pub")).Exit);

        var missingFile = await Run("sign", "shop/app:v1", "--key", KeyPath("nope.key"));
        Assert.Equal(2, missingFile.Exit);
        Assert.Contains("no such file", missingFile.Error, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("verify", "shop/app:v1", "--key", KeyPath("nope.pub"))).Exit);
        Assert.Equal(2, (await Run("verify", "shop/app:v1")).Exit);
        Assert.Equal(2, (await Run("sign", "shop/app:v1")).Exit);

        var privateForVerify = await Run("verify", "shop/app:v1", "--key", key + ".key");
        Assert.Equal(2, privateForVerify.Exit);
        Assert.Contains("public key", privateForVerify.Error, StringComparison.Ordinal);

        await File.WriteAllTextAsync(KeyPath("garbage.pub"), "not a key");
        Assert.Equal(2, (await Run("verify", "shop/app:v1", "--key", KeyPath("garbage.pub"))).Exit);

        var unknown = await Run("sign", "shop/nothing:v1", "--key", key + ".key");
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("no such image", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await Run("verify", "shop/app:nope", "--key", key + ".pub")).Exit);
    }

    [Fact]
    public async Task Sign_Anonymous_IsRefusedWithALoginHint()
    {
        Ok(await InProcessCli.RunAsync(_app, _config, "login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));
        await Admin.PushManifestAsync("shop/app", TestImages.OciImage(1), "v1");
        Ok(await Run("logout"));
        var key = await GenerateAsync("ci");

        var result = await Run("sign", "shop/app:v1", "--key", key + ".key", "--server", Url);

        Assert.Equal(1, result.Exit);
        Assert.Contains("berth login", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_WhenThePolicyDeniesTheUnsignedManifest_ResolvesItThroughTheManagementApi()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");
        _denied.UnionWith(["/v2/shop/app/manifests/v1", $"/v2/shop/app/manifests/{image.Digest}"]);

        var unsigned = await Run("verify", "shop/app:v1", "--key", key + ".pub");
        Assert.Equal(1, unsigned.Exit);
        Assert.Contains("NoSignature", unsigned.Out, StringComparison.Ordinal);

        Ok(await Run("sign", "shop/app:v1", "--key", key + ".key"));
        Ok(await Run("sign", $"shop/app@{image.Digest}", "--key", key + ".key", "--referrer"));
        var verified = await Run("verify", "shop/app:v1", "--key", key + ".pub");
        Ok(verified);
        Assert.Contains($"shop/app@{image.Digest}", verified.Out, StringComparison.Ordinal);

        // An image no tag names and the registry refuses: the refusal is the answer.
        _denied.Add("/v2/shop/app/manifests/v9");
        var refused = await Run("sign", "shop/app:v9", "--key", key + ".key");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("DENIED: signed images only", refused.Error, StringComparison.Ordinal);
    }

    /// <summary>Answers 403 DENIED for GET and HEAD of the manifest paths listed, passes everything else on.</summary>
    private sealed class DenyingHandler(HashSet<string> denied) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if ((request.Method == HttpMethod.Get || request.Method == HttpMethod.Head) && denied.Contains(request.RequestUri!.AbsolutePath))
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Forbidden)
                {
                    Content = new StringContent("""{"errors":[{"code":"DENIED","message":"signed images only: no signature"}]}""", Encoding.UTF8, "application/json"),
                });
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task SignatureWritten_VerifiesWithOpenSsl()
    {
        var image = await SetUpAsync();
        var key = await GenerateAsync("ci");
        Ok(await Run("sign", "shop/app:v1", "--key", key + ".key"));
        var (_, manifest) = await GetManifestAsync("shop/app", SigTag(image.Digest));
        var layer = manifest!["layers"]![0]!;
        var payload = await Admin.GetByteArrayAsync($"/v2/shop/app/blobs/{layer["digest"]!.GetValue<string>()}");
        await File.WriteAllBytesAsync(KeyPath("payload.json"), payload);
        await File.WriteAllBytesAsync(KeyPath("sig.bin"), Convert.FromBase64String(layer["annotations"]![CosignFormat.SignatureAnnotation]!.GetValue<string>()));

        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _work };
        foreach (var argument in new[] { "dgst", "-sha256", "-verify", "ci.pub", "-signature", "sig.bin", "payload.json" })
        {
            start.ArgumentList.Add(argument);
        }

        using var openssl = Process.Start(start)!;
        var output = await openssl.StandardOutput.ReadToEndAsync();
        var error = await openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        Assert.True(openssl.ExitCode == 0, $"openssl: {output}{error}");
        Assert.Contains("Verified OK", output, StringComparison.Ordinal);
        Assert.Equal(
            $"{{\"critical\":{{\"identity\":{{\"docker-reference\":\"localhost/shop/app\"}},\"image\":{{\"docker-manifest-digest\":\"{image.Digest}\"}},\"type\":\"cosign container image signature\"}},\"optional\":null}}",
            Encoding.UTF8.GetString(payload));
    }
}
