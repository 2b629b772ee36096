using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>Requests that race each other: the outcome is the same whichever wins.</summary>
public sealed class ConcurrencyTests : RegistryTest
{
    private const string Repository = "project/app";

    [Fact]
    public async Task TwoPatchesOfTheSameRange_ExactlyOneIsAcceptedAndTheOtherGets416()
    {
        var location = await Client.StartUploadAsync(Repository);
        var chunk = TestImages.Bytes(1000, 1);

        var responses = await Task.WhenAll(
            Client.SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", "0-999")),
            Client.SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", "0-999")));

        try
        {
            Assert.Equal(
                [HttpStatusCode.Accepted, HttpStatusCode.RequestedRangeNotSatisfiable],
                responses.Select(r => r.StatusCode).Order());
            Assert.All(responses, r => Assert.Equal("0-999", r.Header("Range")));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        using var put = await Client.PutAsync($"{location}?digest={TestImages.Sha256(chunk)}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task SameBlobPushedManyTimesAtOnce_AllSucceedAndOneCopyIsStored()
    {
        var content = TestImages.Bytes(100_000, 2);
        var digest = TestImages.Sha256(content);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Client.PostAsync($"/v2/{Repository}{i % 2}/blobs/uploads/?digest={digest}", new ByteArrayContent(content))));

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        Assert.Single(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "uploads")));
        Assert.True(await Client.BlobExistsAsync(Repository + "0", digest));
        Assert.True(await Client.BlobExistsAsync(Repository + "1", digest));
    }

    [Fact]
    public async Task ManifestsPushedToTheSameTagAtOnce_AllSucceedAndTheTagPointsAtOneOfThem()
    {
        var images = Enumerable.Range(0, 6).Select(i => TestImages.OciImage(100 + i)).ToList();
        foreach (var image in images)
        {
            await Client.PushManifestAsync(Repository, image);
        }

        var responses = await Task.WhenAll(images.Select(image => Client.PutManifestAsync(Repository, "latest", image.Body, image.MediaType)));

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        using var head = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/manifests/latest");
        Assert.Contains(head.Header("Docker-Content-Digest"), images.Select(i => i.Digest));
        Assert.Equal(["latest"], await Client.GetTagsAsync(Repository));
    }

    [Fact]
    public async Task ManyUploadsInParallel_EachCompletesWithItsOwnContent()
    {
        var contents = Enumerable.Range(0, 10).Select(i => TestImages.Bytes(5000 + i, 10 + i)).ToList();

        var digests = await Task.WhenAll(contents.Select(async content =>
        {
            var location = await Client.StartUploadAsync(Repository);
            using (var patch = await Client.SendAsync(HttpMethod.Patch, location, content[..2500], ("Content-Range", "0-2499")))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            }

            var digest = TestImages.Sha256(content);
            using var put = await Client.SendAsync(HttpMethod.Put, $"{location}?digest={digest}", content[2500..], ("Content-Range", $"2500-{content.Length - 1}"));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            return digest;
        }));

        for (var i = 0; i < contents.Count; i++)
        {
            using var get = await Client.GetAsync($"/v2/{Repository}/blobs/{digests[i]}");
            Assert.Equal(contents[i], await get.Content.ReadAsByteArrayAsync());
        }
    }
}
