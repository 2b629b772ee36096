using System.Text.Json;

namespace Berth.Scanning.Layers;

/// <summary>An image platform as OCI spells it ("linux/amd64", "linux/arm64/v8").</summary>
public sealed record ImagePlatform(string Os, string Architecture, string? Variant = null)
{
    public static ImagePlatform LinuxAmd64 { get; } = new("linux", "amd64");

    /// <summary>Parses "os/arch[/variant]"; throws <see cref="ScanException"/> for anything else.</summary>
    public static ImagePlatform Parse(string text)
    {
        var parts = (text ?? string.Empty).Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw new ScanException($"platform '{text}' is not of the form os/arch[/variant] (e.g. linux/amd64)");
        }

        return new ImagePlatform(parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
    }

    /// <summary>Same OS and architecture, and the same variant when this one names one.</summary>
    public bool Matches(ImagePlatform other) =>
        Os == other.Os && Architecture == other.Architecture && (Variant is null || other.Variant is null || Variant == other.Variant);

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}

/// <summary>One image read from a local archive: its layers (bottom first, streamed from the archive), config and names.</summary>
/// <param name="ManifestDigest">The manifest's digest (OCI layouts), or null (a legacy docker save archive has none).</param>
/// <param name="Platform">The image's platform, from the index or the config, if known.</param>
/// <param name="Config">The image config JSON.</param>
/// <param name="Layers">The layers, each opening a fresh stream over its part of the archive.</param>
/// <param name="Names">Names the archive gives the image (docker save RepoTags, OCI <c>org.opencontainers.image.ref.name</c>).</param>
public sealed record LoadedImage(string? ManifestDigest, ImagePlatform? Platform, byte[] Config, IReadOnlyList<ImageLayer> Layers, IReadOnlyList<string> Names);

/// <summary>
/// Images on disk for the offline scanner (<c>berth scan --input PATH</c>): an OCI image layout directory (<c>index.json</c>,
/// <c>blobs/sha256/…</c>), the same layout in a tar (<c>skopeo copy … oci-archive:</c>, and <c>docker save</c> since Docker
/// 25, which also writes manifest.json), or a legacy <c>docker save</c> archive (<c>manifest.json</c>, <c>ID/layer.tar</c>,
/// layers identified by the config's diff_ids). Tars are indexed once (headers only: data is skipped by seeking) and each
/// layer is then streamed from its offset; a gzip-compressed tar is indexed while decompressing and each entry reached by
/// decompressing up to it again. Nothing is extracted. For an index, the platform asked for is chosen (default
/// linux/amd64; a single image is taken whatever its platform when none was asked for).
/// </summary>
public static class ImageArchive
{
    private const int MaxJsonBytes = 4 << 20;

    /// <summary>Loads one image. Throws <see cref="ScanException"/> when the path is not a supported archive or the platform is missing.</summary>
    public static async Task<LoadedImage> LoadAsync(string path, ImagePlatform? platform, CancellationToken cancellationToken)
    {
        var source = await ArchiveSource.OpenArchiveAsync(path, cancellationToken).ConfigureAwait(false);
        var candidates = await CandidatesAsync(source, cancellationToken).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            throw new ScanException($"{path}: the archive holds no image");
        }

        Candidate chosen;
        if (platform is null && candidates.Select(c => c.Key).Distinct().Count() == 1)
        {
            chosen = candidates[0];
        }
        else
        {
            var wanted = platform ?? ImagePlatform.LinuxAmd64;
            chosen = candidates.FirstOrDefault(c => c.Platform is not null && wanted.Matches(c.Platform))
                ?? throw new ScanException($"{path}: no image for platform {wanted}; the archive has {string.Join(", ", candidates.Select(c => c.Platform?.ToString() ?? "unknown"))}");
        }

        return await chosen.Load(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The platforms of the images in the archive (an index lists several).</summary>
    public static async Task<IReadOnlyList<ImagePlatform>> ListPlatformsAsync(string path, CancellationToken cancellationToken)
    {
        var source = await ArchiveSource.OpenArchiveAsync(path, cancellationToken).ConfigureAwait(false);
        var candidates = await CandidatesAsync(source, cancellationToken).ConfigureAwait(false);
        return [.. candidates.Where(c => c.Platform is not null).Select(c => c.Platform!).Distinct()];
    }

    private sealed record Candidate(string Key, ImagePlatform? Platform, Func<CancellationToken, Task<LoadedImage>> Load);

    private static async Task<List<Candidate>> CandidatesAsync(ArchiveSource source, CancellationToken cancellationToken)
    {
        if (source.Exists("index.json"))
        {
            var candidates = new List<Candidate>();
            using var index = await ReadJsonAsync(source, "index.json", cancellationToken).ConfigureAwait(false);
            await AddFromIndexAsync(source, index.RootElement, null, [], candidates, 0, cancellationToken).ConfigureAwait(false);
            return candidates;
        }

        if (source.Exists("manifest.json"))
        {
            return await DockerCandidatesAsync(source, cancellationToken).ConfigureAwait(false);
        }

        throw new ScanException($"{source.Description}: neither an OCI image layout (index.json) nor a docker save archive (manifest.json)");
    }

    private static async Task AddFromIndexAsync(ArchiveSource source, JsonElement index, ImagePlatform? inherited, IReadOnlyList<string> names, List<Candidate> candidates, int depth, CancellationToken cancellationToken)
    {
        if (depth > 4)
        {
            throw new ScanException($"{source.Description}: image indexes nested too deeply");
        }

        if (!index.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
        {
            throw new ScanException($"{source.Description}: index has no manifests array");
        }

        foreach (var descriptor in manifests.EnumerateArray())
        {
            var mediaType = String(descriptor, "mediaType");
            var digest = String(descriptor, "digest") ?? throw new ScanException($"{source.Description}: index entry without a digest");
            var platform = ReadPlatform(descriptor) ?? inherited;
            var refName = descriptor.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
                ? String(annotations, "org.opencontainers.image.ref.name") ?? String(annotations, "io.containerd.image.name")
                : null;
            IReadOnlyList<string> entryNames = refName is null ? names : [.. names, refName];
            if (Berth.Oci.MediaTypes.IsIndex(mediaType))
            {
                using var nested = await ReadJsonAsync(source, BlobPath(source, digest), cancellationToken).ConfigureAwait(false);
                await AddFromIndexAsync(source, nested.RootElement, platform, entryNames, candidates, depth + 1, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (mediaType is not null && !Berth.Oci.MediaTypes.IsImageManifest(mediaType))
            {
                continue;
            }

            if (platform is null)
            {
                // No platform in the index: the config says.
                using var manifest = await ReadJsonAsync(source, BlobPath(source, digest), cancellationToken).ConfigureAwait(false);
                if (manifest.RootElement.TryGetProperty("config", out var config) && String(config, "digest") is { } configDigest)
                {
                    using var configJson = await ReadJsonAsync(source, BlobPath(source, configDigest), cancellationToken).ConfigureAwait(false);
                    platform = ReadPlatform(configJson.RootElement);
                }
            }

            if (platform is { Os: "unknown" })
            {
                // buildx attestation manifests.
                continue;
            }

            var capturedPlatform = platform;
            candidates.Add(new Candidate(digest, platform, ct => LoadOciAsync(source, digest, capturedPlatform, entryNames, ct)));
        }
    }

    private static async Task<LoadedImage> LoadOciAsync(ArchiveSource source, string manifestDigest, ImagePlatform? platform, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        using var manifest = await ReadJsonAsync(source, BlobPath(source, manifestDigest), cancellationToken).ConfigureAwait(false);
        var root = manifest.RootElement;
        if (!root.TryGetProperty("config", out var config) || String(config, "digest") is not { } configDigest)
        {
            throw new ScanException($"{source.Description}: manifest {manifestDigest} has no config");
        }

        var configBytes = await source.ReadAllAsync(BlobPath(source, configDigest), MaxJsonBytes, cancellationToken).ConfigureAwait(false);
        var layers = new List<ImageLayer>();
        if (root.TryGetProperty("layers", out var layerArray) && layerArray.ValueKind == JsonValueKind.Array)
        {
            foreach (var layer in layerArray.EnumerateArray())
            {
                var digest = String(layer, "digest") ?? throw new ScanException($"{source.Description}: manifest {manifestDigest} has a layer without a digest");
                var path = BlobPath(source, digest);
                layers.Add(new ImageLayer(digest, String(layer, "mediaType") ?? LayerDecompression.OciLayerTar, ct => source.OpenAsync(path, ct)));
            }
        }

        return new LoadedImage(manifestDigest, platform, configBytes, layers, names);
    }

    private static async Task<List<Candidate>> DockerCandidatesAsync(ArchiveSource source, CancellationToken cancellationToken)
    {
        using var manifest = await ReadJsonAsync(source, "manifest.json", cancellationToken).ConfigureAwait(false);
        if (manifest.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new ScanException($"{source.Description}: manifest.json is not an array");
        }

        var candidates = new List<Candidate>();
        foreach (var image in manifest.RootElement.EnumerateArray())
        {
            var configPath = String(image, "Config") ?? throw new ScanException($"{source.Description}: manifest.json entry without Config");
            var configBytes = await source.ReadAllAsync(configPath, MaxJsonBytes, cancellationToken).ConfigureAwait(false);
            using var config = JsonDocument.Parse(configBytes);
            var diffIds = config.RootElement.TryGetProperty("rootfs", out var rootfs) && rootfs.TryGetProperty("diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array
                ? ids.EnumerateArray().Select(i => i.GetString()).ToList()
                : [];
            var layerPaths = image.TryGetProperty("Layers", out var layersElement) && layersElement.ValueKind == JsonValueKind.Array
                ? layersElement.EnumerateArray().Select(l => l.GetString() ?? string.Empty).ToList()
                : [];
            var names = image.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array
                ? tags.EnumerateArray().Select(t => t.GetString()).OfType<string>().ToList()
                : [];
            var layers = new List<ImageLayer>();
            for (var i = 0; i < layerPaths.Count; i++)
            {
                var layerPath = layerPaths[i];
                if (!source.Exists(layerPath))
                {
                    throw new ScanException($"{source.Description}: layer '{layerPath}' named by manifest.json is missing");
                }

                // Layer blobs in "blobs/sha256/HEX" carry their digest; legacy "ID/layer.tar" ones are known by the diff_id.
                var digest = layerPath.StartsWith("blobs/", StringComparison.Ordinal) ? layerPath["blobs/".Length..].Replace('/', ':')
                    : i < diffIds.Count && diffIds[i] is { } diffId ? diffId
                    : layerPath;
                layers.Add(new ImageLayer(digest, LayerDecompression.DockerLayerTar, ct => source.OpenAsync(layerPath, ct)));
            }

            var platform = ReadPlatform(config.RootElement);
            var loaded = new LoadedImage(null, platform, configBytes, layers, names);
            candidates.Add(new Candidate(configPath, platform, _ => Task.FromResult(loaded)));
        }

        return candidates;
    }

    private static string BlobPath(ArchiveSource source, string digest)
    {
        if (!Berth.Oci.Digest.TryParse(digest, out var parsed))
        {
            throw new ScanException($"{source.Description}: '{digest}' is not a valid digest");
        }

        return $"blobs/{parsed.AlgorithmName}/{parsed.Hex}";
    }

    private static ImagePlatform? ReadPlatform(JsonElement element)
    {
        var holder = element.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.Object ? platform : element;
        var os = String(holder, "os");
        var architecture = String(holder, "architecture");
        return os is null || architecture is null ? null : new ImagePlatform(os, architecture, String(holder, "variant"));
    }

    private static async Task<JsonDocument> ReadJsonAsync(ArchiveSource source, string path, CancellationToken cancellationToken)
    {
        var bytes = await source.ReadAllAsync(path, MaxJsonBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new ScanException($"{source.Description}: {path} is not valid JSON ({ex.Message})", ex);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
