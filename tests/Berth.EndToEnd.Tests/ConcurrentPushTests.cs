using System.Net;
using System.Text.Json;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>32 pushes at once of images that share blobs, by skopeo processes and by HttpClient, into overlapping repositories.</summary>
public sealed class ConcurrentPushTests : IClassFixture<BerthServerFixture>
{
    private const int Pushes = 32;
    private readonly BerthProcess _server;

    public ConcurrentPushTests(BerthServerFixture fixture) => _server = fixture.Server;

    private sealed record Push(int Number, TestImage Image, string Repository, string Tag, bool ViaSkopeo, bool Chunked)
    {
        public override string ToString() => $"#{Number} {Image.Tag} -> {Repository}:{Tag} via {(ViaSkopeo ? "skopeo" : Chunked ? "http chunked" : "http monolithic")}";
    }

    [Fact]
    public async Task ConcurrentPushes_32OverlappingImagesBySkopeoAndHttp_AllIntactAndPullBackByteIdentical()
    {
        using var work = new TempDirectory("concurrent");

        // Four images in one layout. All share the "base" layer, so every one of the 32 pushes races on that blob.
        var builder = new OciLayoutBuilder(work.Sub("source"));
        var shared = builder.AddRandomLayer("base", 768 * 1024, seed: 8);
        var images = Enumerable.Range(0, 4).Select(i =>
        {
            var own = builder.AddRandomLayer($"app-{i}", 256 * 1024, seed: 8);
            var image = builder.AddImage(OciPlatform.LinuxAmd64, [shared, own], $"concurrent image {i}");
            builder.Tag(image.Manifest, $"img{i}");
            return new TestImage(builder.Layout, $"img{i}", image.Manifest, [image]);
        }).ToList();

        // Pushes 0-15: two tags each of repo0..repo7 (push k and k+8 carry the same image to the same repository).
        // Pushes 16-31: sixteen tags of one repository, all four images. Even pushes by skopeo, odd ones over HTTP.
        var pushes = Enumerable.Range(0, Pushes).Select(i => new Push(i, images[i % 4],
            i < 16 ? $"e2e/concurrent/repo{i % 8}" : "e2e/concurrent/shared", $"t{i}", ViaSkopeo: i % 2 == 0, Chunked: i % 4 == 1)).ToList();

        using var http = new RegistryHttp(_server.BaseAddress);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = pushes.Select(push => Task.Run(async () =>
        {
            await go.Task;
            try
            {
                if (push.ViaSkopeo)
                {
                    await Skopeo.PushAsync(push.Image, $"{_server.Host}/{push.Repository}:{push.Tag}");
                }
                else
                {
                    var digest = await http.PushImageAsync(push.Image, push.Repository, push.Tag, push.Chunked);
                    Assert.Equal(push.Image.Root.Digest, digest);
                }
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"push {push} failed. Server log tail:\n{_server.LogTail()}", ex);
            }
        })).ToList();
        go.SetResult();
        await Task.WhenAll(running);

        // Every tag serves its image, and pulls back (8 skopeo pulls at a time) byte-identical.
        using var pulls = new SemaphoreSlim(8);
        await Task.WhenAll(pushes.Select(push => Task.Run(async () =>
        {
            await pulls.WaitAsync();
            try
            {
                await ImageAssert.ManifestDigestHeaderAsync(_server, push.Repository, push.Tag, push.Image.Root.Digest, push.Image.Root.MediaType);
                var pulled = work.Sub($"pulled-{push.Number}");
                await Skopeo.PullAsync($"{_server.Host}/{push.Repository}:{push.Tag}", pulled, push.Tag, all: false);
                ImageAssert.PulledIdentical(push.Image, pulled, push.Tag);
                TempDirectory.DeleteQuietly(pulled);
            }
            finally
            {
                pulls.Release();
            }
        })));

        // The tag lists hold exactly the pushed tags.
        foreach (var group in pushes.GroupBy(p => p.Repository))
        {
            using var response = await http.Client.GetAsync($"/v2/{group.Key}/tags/list");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var tags = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(group.Select(p => p.Tag).Order(StringComparer.Ordinal),
                tags.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal));
        }

        Assert.DoesNotContain("fail:", _server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", _server.Log, StringComparison.Ordinal);
    }
}
