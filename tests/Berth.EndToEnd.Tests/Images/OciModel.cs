using System.Security.Cryptography;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>Media types the builder writes.</summary>
public static class OciMediaTypes
{
    public const string ImageIndex = "application/vnd.oci.image.index.v1+json";
    public const string ImageManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string ImageConfig = "application/vnd.oci.image.config.v1+json";
    public const string LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    public static bool IsIndex(string mediaType) => mediaType is ImageIndex or DockerManifestList;
}

/// <summary>An OCI content descriptor.</summary>
public sealed record OciDescriptor(string MediaType, string Digest, long Size);

/// <summary>An OCI platform (<c>linux/arm64/v8</c>).</summary>
public sealed record OciPlatform(string Os, string Architecture, string? Variant = null)
{
    public static readonly OciPlatform LinuxAmd64 = new("linux", "amd64");
    public static readonly OciPlatform LinuxArm64 = new("linux", "arm64", "v8");

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}

/// <summary>A layer the builder made: its descriptor (gzip blob), its diff_id (sha256 of the tar) and the regular files in it with their sha256.</summary>
public sealed record LayerBlob(OciDescriptor Descriptor, string DiffId, IReadOnlyDictionary<string, string> Files);

/// <summary>One image (manifest + config + layers) written into a layout.</summary>
public sealed record BuiltImage(OciDescriptor Manifest, OciDescriptor Config, OciPlatform Platform, IReadOnlyList<LayerBlob> Layers);

/// <summary>
/// A tagged image or index in an OCI image layout on disk: what a test pushes. <see cref="Images"/> lists the images the
/// builder made (one for an image, one per platform for an index; empty for images made by other tools).
/// </summary>
public sealed record TestImage(string Layout, string Tag, OciDescriptor Root, IReadOnlyList<BuiltImage> Images)
{
    public bool IsIndex => OciMediaTypes.IsIndex(Root.MediaType);

    /// <summary><c>oci:LAYOUT:TAG</c>, the skopeo/umoci reference.</summary>
    public string OciReference => $"oci:{Layout}:{Tag}";

    public string BlobPath(string digest) => OciLayout.BlobPath(Layout, digest);
}

/// <summary>sha256 helpers in the <c>sha256:hex</c> form.</summary>
public static class Sha256Digest
{
    public static string Of(ReadOnlySpan<byte> content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static string OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string OfStream(Stream stream) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
}
