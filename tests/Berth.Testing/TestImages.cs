using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Testing;

/// <summary>A content descriptor as a test writes it into a manifest.</summary>
public sealed record TestDescriptor(string MediaType, string Digest, long Size, string? ArtifactType = null, IReadOnlyDictionary<string, string>? Annotations = null)
{
    /// <summary>The descriptor of <paramref name="content"/> (sha256).</summary>
    public static TestDescriptor Of(string mediaType, byte[] content, string? artifactType = null) =>
        new(mediaType, TestImages.Sha256(content), content.LongLength, artifactType);

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["mediaType"] = MediaType,
            ["digest"] = Digest,
            ["size"] = Size,
        };
        if (ArtifactType is not null)
        {
            json["artifactType"] = ArtifactType;
        }

        if (Annotations is not null)
        {
            json["annotations"] = TestImages.ToJson(Annotations);
        }

        return json;
    }
}

/// <summary>
/// A manifest document with the blobs (config and layers) or child manifests it needs, ready to push.
/// </summary>
public sealed record TestManifest(string MediaType, byte[] Body, IReadOnlyList<byte[]> Blobs, IReadOnlyList<TestManifest> Children)
{
    public string Digest => TestImages.Sha256(Body);

    public string Sha512Digest => TestImages.Sha512(Body);

    public TestDescriptor Descriptor(string? artifactType = null) => new(MediaType, Digest, Body.LongLength, artifactType);
}

/// <summary>Digests, deterministic content and manifest documents for tests.</summary>
public static class TestImages
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>The empty JSON object <c>{}</c>: the OCI "empty" config and layer of artifacts.</summary>
    public static byte[] EmptyJson => "{}"u8.ToArray();

    public static TestDescriptor EmptyDescriptor => TestDescriptor.Of(OciEmpty, EmptyJson);

    public static string Sha256(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Sha512(byte[] content) => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));

    /// <summary>Deterministic pseudo-random bytes: the same seed gives the same content, different seeds different content.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A small, unique, valid-looking image config.</summary>
    public static byte[] Config(string label) =>
        Encoding.UTF8.GetBytes($$$"""{"architecture":"amd64","os":"linux","config":{"Labels":{"test":"{{{label}}}"}},"rootfs":{"type":"layers","diff_ids":[]}}""");

    /// <summary>An OCI image manifest document.</summary>
    public static byte[] OciManifestBody(TestDescriptor config, IEnumerable<TestDescriptor> layers, TestDescriptor? subject = null,
        string? artifactType = null, IReadOnlyDictionary<string, string>? annotations = null, string? mediaType = OciManifest)
    {
        var json = new JsonObject { ["schemaVersion"] = 2 };
        if (mediaType is not null)
        {
            json["mediaType"] = mediaType;
        }

        if (artifactType is not null)
        {
            json["artifactType"] = artifactType;
        }

        json["config"] = config.ToJson();
        json["layers"] = new JsonArray(layers.Select(l => (JsonNode)l.ToJson()).ToArray());
        if (subject is not null)
        {
            json["subject"] = subject.ToJson();
        }

        if (annotations is not null)
        {
            json["annotations"] = ToJson(annotations);
        }

        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>An OCI image index (or Docker manifest list) document.</summary>
    public static byte[] IndexBody(IEnumerable<TestDescriptor> manifests, string mediaType = OciIndex, TestDescriptor? subject = null,
        string? artifactType = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var json = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType };
        if (artifactType is not null)
        {
            json["artifactType"] = artifactType;
        }

        json["manifests"] = new JsonArray(manifests.Select(m =>
        {
            var descriptor = m.ToJson();
            descriptor["platform"] = new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" };
            return (JsonNode)descriptor;
        }).ToArray());
        if (subject is not null)
        {
            json["subject"] = subject.ToJson();
        }

        if (annotations is not null)
        {
            json["annotations"] = ToJson(annotations);
        }

        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>An OCI image with a config and <paramref name="layerCount"/> random layers; <paramref name="seed"/> makes it unique.</summary>
    public static TestManifest OciImage(int seed, int layerCount = 2, TestDescriptor? subject = null, string? artifactType = null,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        var config = Config("oci-" + seed);
        var layers = Enumerable.Range(0, layerCount).Select(i => Bytes(64 + i, (seed * 31) + i + 1)).ToList();
        var body = OciManifestBody(TestDescriptor.Of(OciConfig, config), layers.Select(l => TestDescriptor.Of(OciLayer, l)), subject, artifactType, annotations);
        return new TestManifest(OciManifest, body, [config, .. layers], []);
    }

    /// <summary>A Docker image manifest, schema 2.</summary>
    public static TestManifest DockerImage(int seed)
    {
        var config = Config("docker-" + seed);
        var layer = Bytes(100, seed + 7);
        var body = OciManifestBody(TestDescriptor.Of(DockerConfig, config), [TestDescriptor.Of(DockerLayer, layer)], mediaType: DockerManifest);
        return new TestManifest(DockerManifest, body, [config, layer], []);
    }

    /// <summary>
    /// An artifact manifest (OCI 1.1 guidance): <c>artifactType</c> set, the empty config <c>{}</c>, one layer, optionally a subject.
    /// </summary>
    public static TestManifest Artifact(string artifactType, byte[] payload, TestDescriptor? subject = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var body = OciManifestBody(EmptyDescriptor, [TestDescriptor.Of("application/octet-stream", payload)], subject, artifactType, annotations);
        return new TestManifest(OciManifest, body, [EmptyJson, payload], []);
    }

    /// <summary>An index over <paramref name="children"/> (OCI index or Docker manifest list).</summary>
    public static TestManifest Index(IReadOnlyList<TestManifest> children, string mediaType = OciIndex, TestDescriptor? subject = null,
        string? artifactType = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var body = IndexBody(children.Select(c => c.Descriptor()), mediaType, subject, artifactType, annotations);
        return new TestManifest(mediaType, body, [], children);
    }

    internal static JsonObject ToJson(IReadOnlyDictionary<string, string> values)
    {
        var json = new JsonObject();
        foreach (var (key, value) in values)
        {
            json[key] = value;
        }

        return json;
    }
}
