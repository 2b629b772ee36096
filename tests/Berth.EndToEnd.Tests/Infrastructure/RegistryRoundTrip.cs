using Berth.EndToEnd.Tests.Images;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>Push with skopeo, check what the registry serves, pull back with skopeo, compare everything.</summary>
public static class RegistryRoundTrip
{
    /// <summary>
    /// Pushes <paramref name="image"/> to <c>REPOSITORY:TAG</c>, asserts the registry serves the source manifest/index
    /// bytes (sha256 of <c>skopeo inspect --raw</c>, the Docker-Content-Digest header, each child manifest of an index),
    /// pulls it back into <paramref name="work"/>/pulled and asserts every blob is identical. Returns the pulled layout.
    /// </summary>
    public static async Task<string> SkopeoAsync(BerthProcess server, TestImage image, string repository, string tag, TempDirectory work)
    {
        var reference = $"{server.Host}/{repository}:{tag}";
        await Skopeo.PushAsync(image, reference);

        var served = await Skopeo.InspectRawAsync(reference);
        Assert.Equal(image.Root.Digest, Sha256Digest.Of(served));
        await ImageAssert.ManifestDigestHeaderAsync(server, repository, tag, image.Root.Digest, image.Root.MediaType);
        if (image.IsIndex)
        {
            foreach (var (child, _) in OciLayout.ReadIndex(image.Layout, image.Root.Digest))
            {
                var childServed = await Skopeo.InspectRawAsync($"{server.Host}/{repository}@{child.Digest}");
                Assert.Equal(child.Digest, Sha256Digest.Of(childServed));
            }
        }

        var pulled = work.Sub("pulled");
        await Skopeo.PullAsync(reference, pulled, tag, image.IsIndex);
        ImageAssert.PulledIdentical(image, pulled, tag);
        return pulled;
    }
}
