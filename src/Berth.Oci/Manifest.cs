using System.Text.Json;
using System.Text.Unicode;

namespace Berth.Oci;

/// <summary>What kind of document a manifest is.</summary>
public enum ManifestKind
{
    Image,
    Index,
}

/// <summary>
/// A parsed image manifest or index: the references the registry must check and record.
/// Parsing is strict about structure (types of known fields) and lenient about unknown fields.
/// </summary>
public sealed class Manifest
{
    private Manifest(string mediaType, ManifestKind kind)
    {
        MediaType = mediaType;
        Kind = kind;
    }

    public string MediaType { get; }

    public ManifestKind Kind { get; }

    /// <summary>Image manifests only.</summary>
    public Descriptor? Config { get; private set; }

    /// <summary>Image layers (image manifest) or child manifests (index).</summary>
    public IReadOnlyList<Descriptor> References { get; private set; } = [];

    public Descriptor? Subject { get; private set; }

    public string? ArtifactType { get; private set; }

    public string? AnnotationsJson { get; private set; }

    /// <summary>
    /// The artifact type the referrers API reports: <c>artifactType</c> if set, else the config media type of an image manifest.
    /// </summary>
    public string? EffectiveArtifactType => ArtifactType ?? (Kind == ManifestKind.Image ? Config?.MediaType : null);

    /// <summary>
    /// Parses <paramref name="body"/> sent with <paramref name="contentType"/>. Returns null and sets <paramref name="error"/>
    /// to a human-readable reason when the document is not a supported, well-formed manifest.
    /// </summary>
    public static Manifest? TryParse(ReadOnlyMemory<byte> body, string? contentType, out string? error)
    {
        error = null;
        if (!Utf8.IsValid(body.Span))
        {
            // JSON is UTF-8 (RFC 8259); strings and annotations are read as text, and stored and served as they came.
            error = "manifest is not valid UTF-8";
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            error = "manifest is not valid JSON: " + ex.Message;
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "manifest must be a JSON object";
                return null;
            }

            var schemaVersion = root.TryGetProperty("schemaVersion", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.TryGetInt32(out var v) ? v : (int?)null;
            var bodyMediaType = GetString(root, "mediaType", ref error);
            if (error is not null)
            {
                return null;
            }

            if (schemaVersion == 1 || MediaTypes.IsSchema1(contentType) || MediaTypes.IsSchema1(bodyMediaType))
            {
                error = "Docker image manifest schema 1 is not supported (deprecated and insecure); push with schema 2 or OCI (e.g. skopeo copy --format v2s2 or --format oci)";
                return null;
            }

            if (schemaVersion != 2)
            {
                error = "schemaVersion must be 2";
                return null;
            }

            var normalizedContentType = NormalizeContentType(contentType);
            if (bodyMediaType is not null && normalizedContentType is not null && bodyMediaType != normalizedContentType)
            {
                error = $"Content-Type '{normalizedContentType}' does not match the manifest's mediaType '{bodyMediaType}'";
                return null;
            }

            var mediaType = bodyMediaType ?? normalizedContentType;
            if (mediaType is null)
            {
                // No declared type: infer from structure, as the OCI spec permits.
                mediaType = root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
                    : root.TryGetProperty("config", out _) ? MediaTypes.OciManifest
                    : null;
            }

            if (!MediaTypes.IsIndex(mediaType) && !MediaTypes.IsImageManifest(mediaType))
            {
                error = $"unsupported manifest media type '{mediaType ?? "(none)"}'";
                return null;
            }

            var manifest = new Manifest(mediaType!, MediaTypes.IsIndex(mediaType) ? ManifestKind.Index : ManifestKind.Image);
            manifest.ArtifactType = GetString(root, "artifactType", ref error);
            if (root.TryGetProperty("annotations", out var annotations))
            {
                if (annotations.ValueKind != JsonValueKind.Object)
                {
                    error = "annotations must be an object";
                    return null;
                }

                manifest.AnnotationsJson = annotations.GetRawText();
            }

            if (root.TryGetProperty("subject", out var subject) && subject.ValueKind != JsonValueKind.Null)
            {
                manifest.Subject = ParseDescriptor(subject, "subject", ref error);
            }

            if (manifest.Kind == ManifestKind.Image)
            {
                if (!root.TryGetProperty("config", out var config))
                {
                    error = "image manifest has no config";
                    return null;
                }

                manifest.Config = ParseDescriptor(config, "config", ref error);
                manifest.References = ParseArray(root, "layers", required: false, ref error);
                if (error is null && manifest.Config is not null && mediaType == MediaTypes.DockerManifest && manifest.References.Count == 0)
                {
                    // Docker schema 2 images always have layers; an empty list is a client bug.
                    error = "Docker schema 2 manifest has no layers";
                }
            }
            else
            {
                manifest.References = ParseArray(root, "manifests", required: true, ref error);
            }

            return error is null ? manifest : null;
        }
    }

    private static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var value = (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
        return value is "application/json" or "application/octet-stream" or "" ? null : value;
    }

    private static IReadOnlyList<Descriptor> ParseArray(JsonElement root, string name, bool required, ref string? error)
    {
        if (error is not null)
        {
            return [];
        }

        if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                error = $"'{name}' is required";
            }

            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            error = $"'{name}' must be an array";
            return [];
        }

        var list = new List<Descriptor>(array.GetArrayLength());
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var descriptor = ParseDescriptor(item, $"{name}[{index++}]", ref error);
            if (descriptor is null)
            {
                return [];
            }

            list.Add(descriptor);
        }

        return list;
    }

    private static Descriptor? ParseDescriptor(JsonElement element, string where, ref string? error)
    {
        if (error is not null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            error = $"{where} must be an object";
            return null;
        }

        var mediaType = GetString(element, "mediaType", ref error);
        var digestText = GetString(element, "digest", ref error);
        var artifactType = GetString(element, "artifactType", ref error);
        if (error is not null)
        {
            error = $"{where}: {error}";
            return null;
        }

        if (string.IsNullOrEmpty(mediaType))
        {
            error = $"{where}.mediaType is required";
            return null;
        }

        if (!Digest.TryParse(digestText, out var digest))
        {
            error = $"{where}.digest '{digestText}' is not a valid sha256 or sha512 digest";
            return null;
        }

        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number ||
            !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            error = $"{where}.size must be a non-negative integer";
            return null;
        }

        string? annotations = null;
        if (element.TryGetProperty("annotations", out var a) && a.ValueKind != JsonValueKind.Null)
        {
            if (a.ValueKind != JsonValueKind.Object)
            {
                error = $"{where}.annotations must be an object";
                return null;
            }

            annotations = a.GetRawText();
        }

        var hasUrls = element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0;
        return new Descriptor(mediaType, digest, size, artifactType, annotations, hasUrls);
    }

    private static string? GetString(JsonElement element, string name, ref string? error)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            error ??= $"'{name}' must be a string";
            return null;
        }

        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            // An escape that is not text: a lone surrogate such as "\ud800".
            error ??= $"'{name}' is not a valid string (an escaped lone surrogate)";
            return null;
        }
    }
}
