using System.Text.Json.Nodes;
using Berth.Signing.Keys;
using Berth.Testing;
using static Berth.Testing.TestSignatures;

namespace Berth.Tests.Client;

/// <summary>
/// <c>berth signature REF</c> against the real server in memory: the state table (signed by which key, via what, or why
/// not; per platform for an index; each signature with its verdict), <c>-o json</c> as the server answers, bad and unknown references.
/// </summary>
public sealed class ClientSignatureTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new(new Dictionary<string, string?> { ["Berth:Scanning:Enabled"] = "false" }) { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-signature-").FullName;
    private readonly SigningPrivateKey _key = SigningPrivateKey.GenerateEcdsaP256();
    private HttpClient? _admin;

    public void Dispose()
    {
        _admin?.Dispose();
        _key.Dispose();
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private Task<RunResult> Run(params string[] args) => InProcessCli.RunAsync(_app, _config, args);

    /// <summary>Logged in as the administrator, project <c>shop</c>, image <c>shop/app:v1</c>.</summary>
    private async Task<TestManifest> SetUpAsync()
    {
        InProcessCli.Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        InProcessCli.Ok(await Run("project", "create", "shop"));
        _admin = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
        var image = TestImages.OciImage(1);
        await _admin.PushManifestAsync("shop/app", image, "v1");
        return image;
    }

    [Fact]
    public async Task Table_Unsigned_SaysNoSignature()
    {
        var image = await SetUpAsync();

        var result = await Run("signature", "shop/app:v1");

        InProcessCli.Ok(result);
        Assert.Contains($"shop/app@{image.Digest}: project allows unsigned images", result.Out, StringComparison.Ordinal);
        var row = result.Out.Split('\n').Single(l => l.StartsWith(image.Digest, StringComparison.Ordinal));
        Assert.Contains("no", row, StringComparison.Ordinal);
        Assert.Contains("no signature", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Table_SignedIndex_ListsPlatformsAndTheSignature()
    {
        await SetUpAsync();
        var index = TestImages.Index([TestImages.OciImage(2)]);
        await _admin!.PushManifestAsync("shop/app", index, "multi");
        var signature = Cosign(_key, "shop/app", index.Digest);
        await _admin!.PushManifestAsync("shop/app", signature, SignatureTag(index.Digest));
        await TrustAsync(_app, "shop", "release-key", _key);

        var result = await Run("signature", "shop/app:multi");

        InProcessCli.Ok(result);
        var lines = result.Out.Split('\n');
        Assert.Contains(lines, l => l.StartsWith(index.Digest, StringComparison.Ordinal) && l.Contains("release-key", StringComparison.Ordinal) && l.Contains("self", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(index.Children[0].Digest, StringComparison.Ordinal) && l.Contains($"index {index.Digest}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(signature.Digest, StringComparison.Ordinal) && l.Contains("cosign", StringComparison.Ordinal) && l.Contains("tag", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_IsTheServersAnswer()
    {
        var image = await SetUpAsync();
        await _admin!.PushManifestAsync("shop/app", Cosign(_key, "shop/app", image.Digest, subject: image));
        await TrustAsync(_app, "shop", "ci", _key);

        var result = await Run("signature", $"shop/app@{image.Digest}", "-o", "json");

        InProcessCli.Ok(result);
        var state = JsonNode.Parse(result.Out)!;
        Assert.Equal(image.Digest, (string?)state["digest"]);
        Assert.True((bool)state["signed"]!);
        Assert.Equal("ci", (string?)state["trustedBy"]);
        Assert.Equal("referrer", (string?)state["signatures"]![0]!["location"]);
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("Shop/App:v1")]
    [InlineData("shop/app@sha256:short")]
    public async Task BadReference_UsageError(string reference)
    {
        await SetUpAsync();

        var result = await Run("signature", reference);

        Assert.Equal(2, result.Exit);
        Assert.Contains("berth signature --help", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownImage_Exit1()
    {
        await SetUpAsync();

        var result = await Run("signature", "shop/app:v9");

        Assert.Equal(1, result.Exit);
        Assert.Contains("not in repository", result.Error, StringComparison.Ordinal);
    }
}
