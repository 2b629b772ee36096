using Berth.Oci;

namespace Berth.Signing.Tests.Support;

/// <summary>Files under tests/testdata/signing (see SOURCES.md there) and small builders around them.</summary>
public static class TestData
{
    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", "signing", name));

    public static string Text(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "testdata", "signing", name));

    public static Dictionary<Digest, ReadOnlyMemory<byte>> Blobs(params byte[][] blobs) =>
        blobs.ToDictionary(b => Digest.Compute(DigestAlgorithm.Sha256, b), b => (ReadOnlyMemory<byte>)b);

    public static Digest RandomDigest() => Digest.Compute(DigestAlgorithm.Sha256, Guid.NewGuid().ToByteArray());

    public static DateTimeOffset Now => DateTimeOffset.UtcNow;
}
