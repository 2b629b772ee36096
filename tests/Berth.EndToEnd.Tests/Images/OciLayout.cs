using System.Text.Json;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>Reads OCI image layouts (ours, skopeo's, umoci's): tags, manifests, configs and which blobs a tag reaches.</summary>
public static class OciLayout
{
    public static string BlobPath(string layout, string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"'{digest}' is not a digest", nameof(digest));
        }

        return Path.Combine(layout, "blobs", digest[..colon], digest[(colon + 1)..]);
    }

    public static byte[] ReadBlob(string layout, string digest) => File.ReadAllBytes(BlobPath(layout, digest));

    /// <summary>The descriptor in index.json whose <c>org.opencontainers.image.ref.name</c> is <paramref name="tag"/>.</summary>
    public static OciDescriptor FindTag(string layout, string tag)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        foreach (var entry in index.RootElement.GetProperty("manifests").EnumerateArray())
        {
            if (entry.TryGetProperty("annotations", out var annotations) &&
                annotations.TryGetProperty("org.opencontainers.image.ref.name", out var name) &&
                name.GetString() == tag)
            {
                return ReadDescriptor(entry);
            }
        }

        throw new InvalidOperationException($"tag '{tag}' is not in {layout}/index.json");
    }

    /// <summary>The config and layers of the manifest <paramref name="digest"/>.</summary>
    public static (OciDescriptor Config, IReadOnlyList<OciDescriptor> Layers) ReadManifest(string layout, string digest)
    {
        using var manifest = JsonDocument.Parse(ReadBlob(layout, digest));
        var config = ReadDescriptor(manifest.RootElement.GetProperty("config"));
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().Select(ReadDescriptor).ToList();
        return (config, layers);
    }

    /// <summary>The manifests an index lists, with their platforms.</summary>
    public static IReadOnlyList<(OciDescriptor Manifest, OciPlatform? Platform)> ReadIndex(string layout, string digest)
    {
        using var index = JsonDocument.Parse(ReadBlob(layout, digest));
        return index.RootElement.GetProperty("manifests").EnumerateArray().Select(m =>
        {
            OciPlatform? platform = null;
            if (m.TryGetProperty("platform", out var p))
            {
                platform = new OciPlatform(p.GetProperty("os").GetString()!, p.GetProperty("architecture").GetString()!,
                    p.TryGetProperty("variant", out var v) ? v.GetString() : null);
            }

            return (ReadDescriptor(m), platform);
        }).ToList();
    }

    /// <summary><c>rootfs.diff_ids</c> of an image config blob (any JSON bytes).</summary>
    public static IReadOnlyList<string> DiffIds(ReadOnlySpan<byte> configJson)
    {
        var reader = new Utf8JsonReader(configJson);
        using var config = JsonDocument.ParseValue(ref reader);
        return config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    /// <summary>Every blob (manifests, indexes, configs, layers) reachable from <paramref name="root"/>, including the root.</summary>
    public static IReadOnlySet<string> ReachableBlobs(string layout, OciDescriptor root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Walk(root);
        return seen;

        void Walk(OciDescriptor descriptor)
        {
            if (!seen.Add(descriptor.Digest))
            {
                return;
            }

            if (OciMediaTypes.IsIndex(descriptor.MediaType))
            {
                foreach (var (manifest, _) in ReadIndex(layout, descriptor.Digest))
                {
                    Walk(manifest);
                }
            }
            else
            {
                var (config, layers) = ReadManifest(layout, descriptor.Digest);
                seen.Add(config.Digest);
                foreach (var layer in layers)
                {
                    seen.Add(layer.Digest);
                }
            }
        }
    }

    /// <summary>Describes a tagged image or index of an existing layout (layer file lists are left empty).</summary>
    public static TestImage Open(string layout, string tag)
    {
        var root = FindTag(layout, tag);
        var manifests = OciMediaTypes.IsIndex(root.MediaType)
            ? ReadIndex(layout, root.Digest).Select(m => m.Manifest).ToList()
            : [root];
        var images = new List<BuiltImage>();
        foreach (var manifest in manifests)
        {
            var (config, layers) = ReadManifest(layout, manifest.Digest);
            var configJson = ReadBlob(layout, config.Digest);
            var diffIds = DiffIds(configJson);
            using var document = JsonDocument.Parse(configJson);
            var platform = new OciPlatform(document.RootElement.GetProperty("os").GetString()!, document.RootElement.GetProperty("architecture").GetString()!,
                document.RootElement.TryGetProperty("variant", out var v) ? v.GetString() : null);
            images.Add(new BuiltImage(manifest, config, platform,
                layers.Select((l, i) => new LayerBlob(l, diffIds[i], new Dictionary<string, string>())).ToList()));
        }

        return new TestImage(layout, tag, root, images);
    }

    private static OciDescriptor ReadDescriptor(JsonElement element) =>
        new(element.GetProperty("mediaType").GetString()!, element.GetProperty("digest").GetString()!, element.GetProperty("size").GetInt64());
}
