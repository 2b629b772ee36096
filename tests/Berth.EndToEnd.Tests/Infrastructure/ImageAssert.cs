using System.IO.Compression;
using System.Net.Http.Headers;
using Berth.EndToEnd.Tests.Images;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>Checks that what came back from the registry is exactly what went in.</summary>
public static class ImageAssert
{
    /// <summary>
    /// The pulled layout holds <paramref name="source"/>'s root digest under <paramref name="tag"/>, every pulled blob
    /// hashes to its name, and the pulled blobs are exactly the source blobs reachable from the tag, byte for byte.
    /// </summary>
    public static void PulledIdentical(TestImage source, string pulledLayout, string tag)
    {
        var pulledRoot = OciLayout.FindTag(pulledLayout, tag);
        Assert.Equal(source.Root.Digest, pulledRoot.Digest);
        Assert.Equal(source.Root.Size, pulledRoot.Size);

        var pulled = Directory.GetFiles(Path.Combine(pulledLayout, "blobs", "sha256")).Select(f => "sha256:" + Path.GetFileName(f)).ToHashSet();
        var expected = OciLayout.ReachableBlobs(source.Layout, source.Root);
        Assert.Equal(expected.Order(StringComparer.Ordinal), pulled.Order(StringComparer.Ordinal));
        foreach (var digest in pulled)
        {
            var pulledPath = OciLayout.BlobPath(pulledLayout, digest);
            Assert.True(Sha256Digest.OfFile(pulledPath) == digest, $"pulled blob {digest} does not hash to its name");
            Assert.True(FilesEqual(pulledPath, source.BlobPath(digest)), $"pulled blob {digest} differs from the source blob");
        }
    }

    /// <summary>Each gzip layer decompresses to a tar whose sha256 is the corresponding diff_id.</summary>
    public static void LayersMatchDiffIds(string layout, string manifestDigest)
    {
        var (config, layers) = OciLayout.ReadManifest(layout, manifestDigest);
        var diffIds = OciLayout.DiffIds(OciLayout.ReadBlob(layout, config.Digest));
        Assert.Equal(layers.Count, diffIds.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            using var file = File.OpenRead(OciLayout.BlobPath(layout, layers[i].Digest));
            using var tar = layers[i].MediaType.EndsWith("gzip", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            Assert.Equal(diffIds[i], Sha256Digest.OfStream(tar));
        }
    }

    /// <summary>HEAD of the manifest answers 200 with <paramref name="digest"/> as Docker-Content-Digest.</summary>
    public static async Task ManifestDigestHeaderAsync(BerthProcess server, string repository, string reference, string digest, string mediaType)
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = RegistryAuth.Basic(BerthProcess.AdminUser, BerthProcess.AdminPassword);
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{reference}");
        foreach (var accept in new[] { mediaType, OciMediaTypes.ImageManifest, OciMediaTypes.ImageIndex, OciMediaTypes.DockerManifest, OciMediaTypes.DockerManifestList }.Distinct())
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
    }

    public static bool FilesEqual(string a, string b)
    {
        using var x = File.OpenRead(a);
        using var y = File.OpenRead(b);
        if (x.Length != y.Length)
        {
            return false;
        }

        var bufferX = new byte[1 << 16];
        var bufferY = new byte[1 << 16];
        while (true)
        {
            var read = x.ReadAtLeast(bufferX, bufferX.Length, throwOnEndOfStream: false);
            y.ReadExactly(bufferY, 0, read);
            if (!bufferX.AsSpan(0, read).SequenceEqual(bufferY.AsSpan(0, read)))
            {
                return false;
            }

            if (read < bufferX.Length)
            {
                return true;
            }
        }
    }
}
