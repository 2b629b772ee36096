using System.Text;

namespace Berth.Oci.Tests;

public sealed class ManifestTests
{
    private const string D1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string D2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    private const string D3 = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    private const string Layer = "application/vnd.oci.image.layer.v1.tar+gzip";
    private const string Config = $$"""{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{D1}}","size":10}""";

    private static Manifest? Parse(string json, string? contentType, out string? error) =>
        Manifest.TryParse(Encoding.UTF8.GetBytes(json), contentType, out error);

    private static Manifest ParseValid(string json, string? contentType = null)
    {
        var manifest = Parse(json, contentType, out var error);
        Assert.True(manifest is not null, error);
        Assert.Null(error);
        return manifest;
    }

    [Fact]
    public void TryParse_OciImageManifest_ReadsConfigLayersAndType()
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{{Config}},
             "layers":[{"mediaType":"{{Layer}}","digest":"{{D2}}","size":20},{"mediaType":"{{Layer}}","digest":"{{D3}}","size":0}]}
            """, MediaTypes.OciManifest);

        Assert.Equal(ManifestKind.Image, manifest.Kind);
        Assert.Equal(MediaTypes.OciManifest, manifest.MediaType);
        Assert.Equal(new Descriptor(MediaTypes.OciConfig, Digest.Parse(D1), 10), manifest.Config);
        Assert.Equal([Digest.Parse(D2), Digest.Parse(D3)], manifest.References.Select(r => r.Digest));
        Assert.Equal([20L, 0L], manifest.References.Select(r => r.Size));
        Assert.Null(manifest.Subject);
        Assert.Null(manifest.ArtifactType);
        Assert.Equal(MediaTypes.OciConfig, manifest.EffectiveArtifactType);
        Assert.Null(manifest.AnnotationsJson);
    }

    [Fact]
    public void TryParse_ArtifactManifest_ReportsArtifactTypeAndSubject()
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","artifactType":"application/vnd.example.sbom",
             "config":{"mediaType":"{{MediaTypes.OciEmpty}}","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
             "layers":[{"mediaType":"{{MediaTypes.OciEmpty}}","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],
             "subject":{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D3}}","size":500},
             "annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00Z"} }
            """);

        Assert.Equal("application/vnd.example.sbom", manifest.ArtifactType);
        Assert.Equal("application/vnd.example.sbom", manifest.EffectiveArtifactType);
        Assert.Equal(new Descriptor(MediaTypes.OciManifest, Digest.Parse(D3), 500), manifest.Subject);
        Assert.Equal("""{"org.opencontainers.image.created":"2026-01-01T00:00:00Z"}""", manifest.AnnotationsJson);
    }

    [Theory]
    [InlineData(MediaTypes.OciIndex)]
    [InlineData(MediaTypes.DockerManifestList)]
    public void TryParse_Index_ReadsChildManifests(string mediaType)
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{mediaType}}","manifests":[
              {"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D1}}","size":100,"platform":{"os":"linux","architecture":"amd64"} },
              {"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D2}}","size":200,"artifactType":"application/x","annotations":{"a":"b"} }]}
            """, mediaType);

        Assert.Equal(ManifestKind.Index, manifest.Kind);
        Assert.Equal(mediaType, manifest.MediaType);
        Assert.Null(manifest.Config);
        Assert.Equal([Digest.Parse(D1), Digest.Parse(D2)], manifest.References.Select(r => r.Digest));
        Assert.Equal("application/x", manifest.References[1].ArtifactType);
        Assert.Equal("""{"a":"b"}""", manifest.References[1].AnnotationsJson);
        Assert.Null(manifest.EffectiveArtifactType);
    }

    [Fact]
    public void TryParse_IndexWithArtifactType_ReportsIt()
    {
        var manifest = ParseValid($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","artifactType":"application/x","manifests":[]}""");

        Assert.Equal("application/x", manifest.EffectiveArtifactType);
        Assert.Empty(manifest.References);
    }

    [Fact]
    public void TryParse_DockerSchema2_IsAnImageManifest()
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{{D1}}","size":10},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{{D2}}","size":20}]}
            """, MediaTypes.DockerManifest);

        Assert.Equal(ManifestKind.Image, manifest.Kind);
        Assert.Equal(MediaTypes.DockerManifest, manifest.MediaType);
        Assert.Single(manifest.References);
    }

    [Fact]
    public void TryParse_ForeignLayerWithUrls_MarksHasUrls()
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{{D1}}","size":10},
             "layers":[{"mediaType":"{{MediaTypes.DockerForeignLayer}}","digest":"{{D2}}","size":20,"urls":["https://example.invalid/l"]},
                       {"mediaType":"{{Layer}}","digest":"{{D3}}","size":30,"urls":[]}]}
            """);

        Assert.True(manifest.References[0].HasUrls);
        Assert.False(manifest.References[1].HasUrls);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("application/json")]
    [InlineData("application/octet-stream")]
    [InlineData(MediaTypes.OciManifest)]
    [InlineData(MediaTypes.OciManifest + "; charset=utf-8")]
    [InlineData(" " + MediaTypes.OciManifest + " ")]
    public void TryParse_ContentTypeAbsentGenericOrMatching_UsesBodyMediaType(string? contentType)
    {
        var manifest = ParseValid($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{{Config}},"layers":[]}""", contentType);

        Assert.Equal(MediaTypes.OciManifest, manifest.MediaType);
    }

    [Theory]
    [InlineData(MediaTypes.OciManifest, """{"schemaVersion":2,"config":CONFIG,"layers":[]}""", ManifestKind.Image)]
    [InlineData(MediaTypes.DockerManifest, """{"schemaVersion":2,"config":CONFIG,"layers":[{"mediaType":"x","digest":"D2","size":1}]}""", ManifestKind.Image)]
    [InlineData(MediaTypes.OciIndex, """{"schemaVersion":2,"manifests":[]}""", ManifestKind.Index)]
    [InlineData(MediaTypes.DockerManifestList, """{"schemaVersion":2,"manifests":[]}""", ManifestKind.Index)]
    public void TryParse_NoBodyMediaType_UsesContentType(string contentType, string template, ManifestKind kind)
    {
        var manifest = ParseValid(template.Replace("CONFIG", Config, StringComparison.Ordinal).Replace("D2", D2, StringComparison.Ordinal), contentType);

        Assert.Equal(contentType, manifest.MediaType);
        Assert.Equal(kind, manifest.Kind);
    }

    [Theory]
    [InlineData("""{"schemaVersion":2,"config":CONFIG}""", MediaTypes.OciManifest, ManifestKind.Image)]
    [InlineData("""{"schemaVersion":2,"manifests":[]}""", MediaTypes.OciIndex, ManifestKind.Index)]
    public void TryParse_NoMediaTypeAnywhere_InfersFromStructure(string template, string mediaType, ManifestKind kind)
    {
        var manifest = ParseValid(template.Replace("CONFIG", Config, StringComparison.Ordinal), "application/json");

        Assert.Equal(mediaType, manifest.MediaType);
        Assert.Equal(kind, manifest.Kind);
    }

    [Fact]
    public void TryParse_UnknownFields_AreIgnored()
    {
        var manifest = ParseValid($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","x-custom":{"deep":[1,2,3]},"config":{{Config}},
             "layers":[{"mediaType":"{{Layer}}","digest":"{{D2}}","size":20,"data":"AAAA","platform":{"os":"linux"} }]}
            """);

        Assert.Single(manifest.References);
    }

    [Fact]
    public void TryParse_NullSubject_MeansNoSubject()
    {
        var manifest = ParseValid($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{{Config}},"subject":null}""");

        Assert.Null(manifest.Subject);
    }

    [Fact]
    public void TryParse_Sha512Descriptors_AreAccepted()
    {
        var sha512 = "sha512:" + new string('a', 128);

        var manifest = ParseValid($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{sha512}}","size":1} }""");

        Assert.Equal(DigestAlgorithm.Sha512, manifest.Config!.Digest.Algorithm);
    }

    [Theory]
    [InlineData("""{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}""", null)]
    [InlineData("""{"schemaVersion":2,"config":CONFIG}""", MediaTypes.DockerSchema1)]
    [InlineData("""{"schemaVersion":2,"config":CONFIG}""", MediaTypes.DockerSchema1Signed)]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws","config":CONFIG}""", null)]
    public void TryParse_Schema1_IsRefusedWithAnExplanation(string template, string? contentType)
    {
        var manifest = Parse(template.Replace("CONFIG", Config, StringComparison.Ordinal), contentType, out var error);

        Assert.Null(manifest);
        Assert.NotNull(error);
        Assert.Contains("schema 1", error, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string?> InvalidManifests() => new()
    {
        { "not JSON", "nope", null },
        { "empty", "", null },
        { "array", "[]", null },
        { "null", "null", null },
        { "string", "\"x\"", null },
        { "trailing data", """{"schemaVersion":2,"config":CONFIG} {}""", null },
        { "schemaVersion missing", """{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":CONFIG}""", null },
        { "schemaVersion string", """{"schemaVersion":"2","config":CONFIG}""", null },
        { "schemaVersion 3", """{"schemaVersion":3,"config":CONFIG}""", null },
        { "schemaVersion fraction", """{"schemaVersion":2.5,"config":CONFIG}""", null },
        { "mediaType number", """{"schemaVersion":2,"mediaType":1,"config":CONFIG}""", null },
        { "mediaType unknown", """{"schemaVersion":2,"mediaType":"application/x","config":CONFIG}""", null },
        { "content type contradicts body", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":CONFIG}""", MediaTypes.OciIndex },
        { "content type unknown without body type", """{"schemaVersion":2,"config":CONFIG}""", "text/plain" },
        { "nothing to infer from", """{"schemaVersion":2,"layers":[]}""", null },
        { "config missing", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}""", null },
        { "config null", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":null}""", null },
        { "config string", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":"D2"}""", null },
        { "config mediaType missing", """{"schemaVersion":2,"config":{"digest":"D2","size":1}}""", MediaTypes.OciManifest },
        { "config mediaType empty", """{"schemaVersion":2,"config":{"mediaType":"","digest":"D2","size":1}}""", MediaTypes.OciManifest },
        { "config digest missing", """{"schemaVersion":2,"config":{"mediaType":"a","size":1}}""", MediaTypes.OciManifest },
        { "config digest number", """{"schemaVersion":2,"config":{"mediaType":"a","digest":5,"size":1}}""", MediaTypes.OciManifest },
        { "config digest invalid", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:abc","size":1}}""", MediaTypes.OciManifest },
        { "config size missing", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2"}}""", MediaTypes.OciManifest },
        { "config size negative", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":-1}}""", MediaTypes.OciManifest },
        { "config size string", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":"1"}}""", MediaTypes.OciManifest },
        { "config size fraction", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":1.5}}""", MediaTypes.OciManifest },
        { "config size too large", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":99999999999999999999}}""", MediaTypes.OciManifest },
        { "config artifactType number", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":1,"artifactType":1}}""", MediaTypes.OciManifest },
        { "config annotations string", """{"schemaVersion":2,"config":{"mediaType":"a","digest":"D2","size":1,"annotations":"x"}}""", MediaTypes.OciManifest },
        { "layers object", """{"schemaVersion":2,"config":CONFIG,"layers":{}}""", MediaTypes.OciManifest },
        { "layer not an object", """{"schemaVersion":2,"config":CONFIG,"layers":[1]}""", MediaTypes.OciManifest },
        { "layer invalid", """{"schemaVersion":2,"config":CONFIG,"layers":[{"mediaType":"a","digest":"D2","size":1},{"mediaType":"a","digest":"bad","size":1}]}""", MediaTypes.OciManifest },
        { "annotations array", """{"schemaVersion":2,"config":CONFIG,"annotations":[]}""", MediaTypes.OciManifest },
        { "artifactType number", """{"schemaVersion":2,"config":CONFIG,"artifactType":1}""", MediaTypes.OciManifest },
        { "subject string", """{"schemaVersion":2,"config":CONFIG,"subject":"D2"}""", MediaTypes.OciManifest },
        { "subject incomplete", """{"schemaVersion":2,"config":CONFIG,"subject":{"digest":"D2"}}""", MediaTypes.OciManifest },
        { "index manifests missing", """{"schemaVersion":2}""", MediaTypes.OciIndex },
        { "index manifests null", """{"schemaVersion":2,"manifests":null}""", MediaTypes.OciIndex },
        { "index manifests object", """{"schemaVersion":2,"manifests":{}}""", MediaTypes.OciIndex },
        { "index child invalid", """{"schemaVersion":2,"manifests":[{"mediaType":"a","digest":"D2"}]}""", MediaTypes.OciIndex },
        { "docker manifest without layers", """{"schemaVersion":2,"config":CONFIG,"layers":[]}""", MediaTypes.DockerManifest },
        { "docker manifest layers missing", """{"schemaVersion":2,"config":CONFIG}""", MediaTypes.DockerManifest },
        { "nesting too deep", new string('[', 100) + new string(']', 100), null },
    };

    [Theory]
    [MemberData(nameof(InvalidManifests))]
    public void TryParse_InvalidManifest_ReturnsNullWithReason(string what, string template, string? contentType)
    {
        var json = template.Replace("CONFIG", Config, StringComparison.Ordinal).Replace("D2", D2, StringComparison.Ordinal);

        var manifest = Parse(json, contentType, out var error);

        Assert.True(manifest is null, what);
        Assert.False(string.IsNullOrWhiteSpace(error), what);
    }

    [Fact]
    public void TryParse_InvalidUtf8_ReturnsNullWithReason()
    {
        byte[] body = [(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}'];

        Assert.Null(Manifest.TryParse(body, null, out var error));
        Assert.NotNull(error);
    }

    public static TheoryData<string, byte[]> InvalidUtf8Strings()
    {
        static byte[] Bytes(string before, byte[] bad, string after) => [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];
        var image = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{{Config}},"layers":[]""";
        return new TheoryData<string, byte[]>
        {
            // Issue 10, item 10: {"schemaVersion":2,"mediaType":"\xff\xfe"} was an InvalidOperationException (a 500).
            { "mediaType", Bytes("""{"schemaVersion":2,"mediaType":" """.TrimEnd(), [0xff, 0xfe], "\"}") },
            { "annotation value", Bytes(image + ""","annotations":{"k":" """.TrimEnd(), [0xff], "\"}}") },
            { "annotation key", Bytes(image + ""","annotations":{" """.TrimEnd(), [0xc3], "\":\"v\"}}") },
            { "artifactType", Bytes(image + ""","artifactType":" """.TrimEnd(), [0xed, 0xa0, 0x80], "\"}") },
            { "config mediaType", Bytes("""{"schemaVersion":2,"config":{"mediaType":" """.TrimEnd(), [0xc3], "\",\"digest\":\"" + D1 + "\",\"size\":1},\"layers\":[]}") },
            { "layer annotations", Bytes(image[..^1] + $$"""{"mediaType":"{{Layer}}","digest":"{{D2}}","size":1,"annotations":{"k":" """.TrimEnd(), [0xf8, 0x88, 0x80, 0x80, 0x80], "\"}}]}") },
            { "unknown member", Bytes(image + ""","x-vendor":" """.TrimEnd(), [0x80], "\"}") },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidUtf8Strings))]
    public void TryParse_InvalidUtf8InAnyString_ReturnsNullWithReason(string where, byte[] body)
    {
        Assert.Null(Manifest.TryParse(body, null, out var error));

        Assert.True(error is not null, where);
        Assert.Contains("UTF-8", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mediaType", """{"schemaVersion":2,"mediaType":"\ud800"}""")]
    [InlineData("artifactType", $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","artifactType":"a\udc00","config":{{Config}},"layers":[]}""")]
    [InlineData("mediaType", $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"\ud800\u0041","digest":"{{D1}}","size":1},"layers":[]}""")]
    [InlineData("digest", $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"a","digest":"sha256:\udfff","size":1},"layers":[]}""")]
    public void TryParse_EscapedLoneSurrogate_ReturnsNullNamingTheField(string field, string json)
    {
        Assert.Null(Parse(json, null, out var error));

        Assert.Contains($"'{field}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_EscapedSurrogatePair_IsText()
    {
        var manifest = ParseValid($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","artifactType":"a\ud83d\ude00","config":{{Config}},"layers":[]}""");

        Assert.Equal("a\U0001F600", manifest.ArtifactType);
    }

    [Fact]
    public void TryParse_ErrorMessages_NameTheOffendingField()
    {
        Assert.Null(Parse($$"""{"schemaVersion":2,"config":{{Config}},"layers":[{"mediaType":"a","digest":"{{D2}}","size":-5}]}""", MediaTypes.OciManifest, out var error));

        Assert.Contains("layers[0].size", error, StringComparison.Ordinal);
    }
}
