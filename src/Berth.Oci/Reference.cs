using System.Diagnostics.CodeAnalysis;

namespace Berth.Oci;

/// <summary>The <c>&lt;reference&gt;</c> of a manifest URL: either a tag or a digest, never both.</summary>
public readonly record struct Reference
{
    private Reference(Tag? tag, Digest? digest)
    {
        Tag = tag;
        Digest = digest;
    }

    public Tag? Tag { get; }

    public Digest? Digest { get; }

    public bool IsDigest => Digest.HasValue;

    public override string ToString() => IsDigest ? Digest!.Value.ToString() : Tag?.ToString() ?? string.Empty;

    public static Reference Of(Tag tag) => new(tag, null);

    public static Reference Of(Digest digest) => new(null, digest);

    /// <summary>A value containing ':' must be a valid digest; anything else must be a valid tag.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out Reference reference)
    {
        reference = default;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        if (value.Contains(':', StringComparison.Ordinal))
        {
            if (Oci.Digest.TryParse(value, out var digest))
            {
                reference = new Reference(null, digest);
                return true;
            }

            return false;
        }

        if (Oci.Tag.TryParse(value, out var tag))
        {
            reference = new Reference(tag, null);
            return true;
        }

        return false;
    }
}
