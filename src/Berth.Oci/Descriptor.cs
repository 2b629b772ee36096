namespace Berth.Oci;

/// <summary>An OCI content descriptor. <see cref="AnnotationsJson"/> keeps the annotations object as raw JSON (null when absent).</summary>
public sealed record Descriptor(
    string MediaType,
    Digest Digest,
    long Size,
    string? ArtifactType = null,
    string? AnnotationsJson = null,
    bool HasUrls = false);
