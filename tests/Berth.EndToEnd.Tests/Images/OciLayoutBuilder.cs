using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Berth.EndToEnd.Tests.Images;

/// <summary>
/// Writes OCI image layouts (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/...</c>) without any container tool:
/// layers are real tar archives (System.Formats.Tar) compressed with gzip (System.IO.Compression), configs carry
/// <c>rootfs.diff_ids</c> and <c>history</c>, so skopeo, podman and umoci accept and verify them.
/// Content is deterministic: a seed and a name always give the same bytes and therefore the same digests.
/// </summary>
public sealed class OciLayoutBuilder
{
    /// <summary>All timestamps (tar entries, config, history): the Unix epoch, so builds are reproducible.</summary>
    public static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly List<(OciDescriptor Descriptor, string Tag)> _tags = [];

    /// <summary>Creates (or opens, if empty) <paramref name="directory"/> as an OCI image layout.</summary>
    public OciLayoutBuilder(string directory)
    {
        Layout = Path.GetFullPath(directory);
        Directory.CreateDirectory(Path.Combine(Layout, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(Layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        WriteIndexJson();
    }

    public string Layout { get; }

    /// <summary>Stores <paramref name="content"/> under its sha256 and returns its descriptor. Storing the same bytes twice is harmless.</summary>
    public OciDescriptor AddBlob(ReadOnlySpan<byte> content, string mediaType)
    {
        var digest = Sha256Digest.Of(content);
        var path = OciLayout.BlobPath(Layout, digest);
        if (!File.Exists(path))
        {
            var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
            File.WriteAllBytes(temporary, content.ToArray());
            File.Move(temporary, path, overwrite: true);
        }

        return new OciDescriptor(mediaType, digest, content.Length);
    }

    /// <summary>
    /// A gzip layer holding <c>random/</c> and <c>random/NAME.bin</c> with <paramref name="size"/> pseudo-random bytes
    /// from (<paramref name="seed"/>, <paramref name="name"/>).
    /// </summary>
    public LayerBlob AddRandomLayer(string name, int size, ulong seed)
    {
        var content = DeterministicRandom.Bytes(seed, name, size);
        var file = $"random/{name}.bin";
        return AddLayer([("random/", null), (file, content)]);
    }

    /// <summary>
    /// A gzip layer of the given entries, in order: a name ending in '/' with null content is a directory (0755), anything
    /// else a regular file (0644). Owner root, mtime the epoch.
    /// </summary>
    public LayerBlob AddLayer(IReadOnlyList<(string Name, byte[]? Content)> entries)
    {
        using var tar = new MemoryStream();
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var directory = content is null;
                var entry = new UstarTarEntry(directory ? TarEntryType.Directory : TarEntryType.RegularFile, name)
                {
                    Mode = directory
                        ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
                        : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = Epoch,
                    Uid = 0,
                    Gid = 0,
                };
                if (content is not null)
                {
                    entry.DataStream = new MemoryStream(content, writable: false);
                    files[name] = Sha256Digest.Of(content);
                }

                writer.WriteEntry(entry);
            }
        }

        var tarBytes = tar.ToArray();
        using var gzip = new MemoryStream();
        using (var compressor = new GZipStream(gzip, CompressionLevel.Fastest, leaveOpen: true))
        {
            compressor.Write(tarBytes);
        }

        var descriptor = AddBlob(gzip.ToArray(), OciMediaTypes.LayerGzip);
        return new LayerBlob(descriptor, Sha256Digest.Of(tarBytes), files);
    }

    /// <summary>Writes the config (with diff_ids and one history entry per layer) and the manifest of an image.</summary>
    public BuiltImage AddImage(OciPlatform platform, IReadOnlyList<LayerBlob> layers, string label)
    {
        var config = AddBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("created", Epoch);
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is not null)
            {
                w.WriteString("variant", platform.Variant);
            }

            w.WriteStartObject("config");
            w.WriteStartArray("Env");
            w.WriteStringValue("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            w.WriteEndArray();
            w.WriteStartArray("Cmd");
            w.WriteStringValue("/bin/sh");
            w.WriteEndArray();
            w.WriteStartObject("Labels");
            w.WriteString("org.berth.e2e.image", label);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var layer in layers)
            {
                w.WriteStringValue(layer.DiffId);
            }

            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartArray("history");
            for (var i = 0; i < layers.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("created", Epoch);
                w.WriteString("created_by", $"berth e2e OciLayoutBuilder: {label} layer {i + 1}/{layers.Count}");
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }), OciMediaTypes.ImageConfig);

        var manifest = AddBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", OciMediaTypes.ImageManifest);
            w.WritePropertyName("config");
            WriteDescriptor(w, config);
            w.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                WriteDescriptor(w, layer.Descriptor);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }), OciMediaTypes.ImageManifest);
        return new BuiltImage(manifest, config, platform, layers);
    }

    /// <summary>Writes an image index listing <paramref name="images"/> with their platforms.</summary>
    public OciDescriptor AddIndex(IReadOnlyList<BuiltImage> images) =>
        AddBlob(Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", OciMediaTypes.ImageIndex);
            w.WriteStartArray("manifests");
            foreach (var image in images)
            {
                WriteDescriptor(w, image.Manifest, image.Platform);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }), OciMediaTypes.ImageIndex);

    /// <summary>Names <paramref name="descriptor"/> <paramref name="tag"/> in index.json (<c>org.opencontainers.image.ref.name</c>).</summary>
    public void Tag(OciDescriptor descriptor, string tag)
    {
        _tags.RemoveAll(t => t.Tag == tag);
        _tags.Add((descriptor, tag));
        WriteIndexJson();
    }

    // ---------------------------------------------------------------- ready-made test images

    /// <summary>A linux/amd64 image of <paramref name="layers"/> random layers of <paramref name="bytesPerLayer"/> bytes each.</summary>
    public static TestImage RandomImage(string layout, string tag, int layers, int bytesPerLayer, ulong seed)
    {
        var builder = new OciLayoutBuilder(layout);
        var blobs = Enumerable.Range(1, layers).Select(i => builder.AddRandomLayer($"layer-{i}", bytesPerLayer, seed)).ToList();
        var image = builder.AddImage(OciPlatform.LinuxAmd64, blobs, $"random seed={seed}");
        builder.Tag(image.Manifest, tag);
        return new TestImage(builder.Layout, tag, image.Manifest, [image]);
    }

    /// <summary>
    /// An image index for linux/amd64 and linux/arm64/v8: two layers per platform, of which the first
    /// (<c>random/shared.bin</c>) is the same blob in both.
    /// </summary>
    public static TestImage MultiPlatformIndex(string layout, string tag, int bytesPerLayer, ulong seed)
    {
        var builder = new OciLayoutBuilder(layout);
        var shared = builder.AddRandomLayer("shared", bytesPerLayer, seed);
        var images = new[] { OciPlatform.LinuxAmd64, OciPlatform.LinuxArm64 }.Select(platform =>
        {
            var own = builder.AddRandomLayer($"{platform.Architecture}-only", bytesPerLayer, seed);
            return builder.AddImage(platform, [shared, own], $"multi-platform seed={seed} {platform}");
        }).ToList();
        var index = builder.AddIndex(images);
        builder.Tag(index, tag);
        return new TestImage(builder.Layout, tag, index, images);
    }

    private void WriteIndexJson()
    {
        var json = Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteStartArray("manifests");
            foreach (var (descriptor, tag) in _tags)
            {
                w.WriteStartObject();
                w.WriteString("mediaType", descriptor.MediaType);
                w.WriteString("digest", descriptor.Digest);
                w.WriteNumber("size", descriptor.Size);
                w.WriteStartObject("annotations");
                w.WriteString("org.opencontainers.image.ref.name", tag);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        File.WriteAllBytes(Path.Combine(Layout, "index.json"), json);
    }

    private static void WriteDescriptor(Utf8JsonWriter w, OciDescriptor descriptor, OciPlatform? platform = null)
    {
        w.WriteStartObject();
        w.WriteString("mediaType", descriptor.MediaType);
        w.WriteString("digest", descriptor.Digest);
        w.WriteNumber("size", descriptor.Size);
        if (platform is not null)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is not null)
            {
                w.WriteString("variant", platform.Variant);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(writer);
        }

        return buffer.ToArray();
    }
}
