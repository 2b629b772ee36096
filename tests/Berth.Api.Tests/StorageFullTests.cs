using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>
/// A full disk (issue 17), on a 48 MiB tmpfs the test mounts as the data folder's file system: pushes that meet the
/// reserve or the end of the disk answer 507 <c>DENIED</c> saying the storage is full (never a 500), the upload that
/// failed leaves no bytes, what was stored before pulls byte-identical, deletes work while the reserve is reached,
/// <c>/readyz</c> and <c>/api/v1/system/storage</c> report it, and pushes work again once space is freed.
/// </summary>
[Collection(nameof(StorageFullTests))]
[CollectionDefinition(nameof(StorageFullTests), DisableParallelization = true)]
public sealed class StorageFullTests : IDisposable
{
    private const long MiB = 1L << 20;
    private const long Reserve = 8 * MiB;

    private readonly SmallFileSystem _disk = SmallFileSystem.Mount(48);
    private readonly List<BerthApplication> _apps = [];

    public void Dispose()
    {
        foreach (var app in _apps)
        {
            _disk.Remove("filler"); // room for the last writes of the shutdown
            app.Dispose();
        }

        _disk.Dispose();
    }

    private (BerthApplication App, HttpClient Client) Start(long reserve)
    {
        var app = new BerthApplication(new Dictionary<string, string?>
        {
            ["Berth:Storage:Type"] = "filesystem",
            ["Berth:Storage:FileSystem:ReserveBytes"] = reserve.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, Path.Combine(_disk.Path, "data"));
        _apps.Add(app);
        return (app, app.CreateClient());
    }

    private static async Task AssertStorageFullAsync(HttpResponseMessage response)
    {
        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.InsufficientStorage, "DENIED");
        Assert.Contains("storage is full", error.Message, StringComparison.Ordinal);
    }

    private static long UploadBytes(BerthApplication app) =>
        new DirectoryInfo(Path.Combine(app.DataPath, "uploads")).EnumerateFiles().Sum(f => f.Length);

    /// <summary>POST, PATCH in chunks of <paramref name="chunk"/>, PUT: the first answer that is not a success, or null.</summary>
    private static async Task<HttpResponseMessage?> PushChunkedAsync(HttpClient client, string repository, byte[] blob, int chunk, List<int> statuses)
    {
        var start = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        statuses.Add((int)start.StatusCode);
        if (start.StatusCode != HttpStatusCode.Accepted)
        {
            return start;
        }

        var location = start.Headers.Location!.OriginalString;
        for (var offset = 0; offset < blob.Length; offset += chunk)
        {
            var length = Math.Min(chunk, blob.Length - offset);
            var content = new ByteArrayContent(blob, offset, length);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
            var patch = await client.PatchAsync(location, content);
            statuses.Add((int)patch.StatusCode);
            if (patch.StatusCode != HttpStatusCode.Accepted)
            {
                return patch;
            }

            location = patch.Headers.Location!.OriginalString;
        }

        var put = await client.PutAsync(location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + TestImages.Sha256(blob), null);
        statuses.Add((int)put.StatusCode);
        return put.StatusCode == HttpStatusCode.Created ? null : put;
    }

    private static async Task<string> PushImageAsync(HttpClient client, string repository, string tag, byte[] layer)
    {
        await client.PushBlobAsync(repository, layer);
        var config = TestImages.Config(repository + tag);
        await client.PushBlobAsync(repository, config);
        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]);
        using var put = await client.PutManifestAsync(repository, tag, body, TestImages.OciManifest);
        await OciAssert.StatusAsync(put, HttpStatusCode.Created);
        return TestImages.Sha256(body);
    }

    private static async Task AssertPullsAsync(HttpClient client, string repository, string tag, byte[] layer)
    {
        using var manifest = await client.GetAsync($"/v2/{repository}/manifests/{tag}");
        await OciAssert.StatusAsync(manifest, HttpStatusCode.OK);
        var pulled = await client.GetByteArrayAsync($"/v2/{repository}/blobs/{TestImages.Sha256(layer)}");
        Assert.Equal(layer, pulled);
    }

    [Fact]
    public async Task Push_UntilTheReserve_RefusedWith507AndNothingLeftThenRecoversOnceSpaceIsFreed()
    {
        var (app, client) = Start(Reserve);
        var before = TestImages.Bytes((int)(3 * MiB), 1701);
        await PushImageAsync(client, "full/app", "before", before);
        var kept = TestImages.Bytes((int)(2 * MiB), 1702);
        await PushImageAsync(client, "full/app", "kept", kept);

        // Fill with 6 MiB layers in 1 MiB chunks until the registry refuses one.
        var statuses = new List<int>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 12 && refused is null; i++)
        {
            refused = await PushChunkedAsync(client, "full/app", TestImages.Bytes((int)(6 * MiB), 1710 + i), (int)MiB, statuses);
        }

        Assert.NotNull(refused);
        await AssertStorageFullAsync(refused);
        Assert.DoesNotContain(500, statuses);
        Assert.Equal(0, UploadBytes(app)); // the refused upload's chunks are gone at once
        Assert.True(_disk.FreeBytes >= Reserve - MiB, $"uploads went into the reserve: {_disk.FreeBytes} bytes free");

        // Another program takes the disk below the reserve: every new upload is refused, monolithic ones too.
        _disk.Fill("filler", leaveFree: Reserve / 2);
        await Task.Delay(Berth.Storage.FileSystem.FileSystemSpace.MeasureEvery + TimeSpan.FromMilliseconds(200));
        await AssertStorageFullAsync(await client.PostAsync("/v2/full/app/blobs/uploads/", null));
        var small = TestImages.Bytes(1000, 1799);
        await AssertStorageFullAsync(await client.PostAsync($"/v2/full/app/blobs/uploads/?digest={TestImages.Sha256(small)}", new ByteArrayContent(small)));
        Assert.Equal(0, UploadBytes(app));

        // Reads, and deletes (the metadata database has the reserve to commit in).
        await AssertPullsAsync(client, "full/app", "before", before);
        await AssertPullsAsync(client, "full/app", "kept", kept);
        using (var delete = await client.DeleteAsync("/v2/full/app/manifests/before"))
        {
            await OciAssert.StatusAsync(delete, HttpStatusCode.Accepted);
        }

        Assert.False(await client.ManifestExistsAsync("full/app", "before"));
        using (var tagDelete = await client.DeleteAsync("/api/v1/repositories/tags?repository=full/app&tag=kept"))
        {
            Assert.Equal(HttpStatusCode.NoContent, tagDelete.StatusCode);
        }

        // Visible: /readyz stays 200 and says so; the administrators' figure.
        using (var ready = await client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            var storage = json.RootElement.GetProperty("storage");
            Assert.True(storage.GetProperty("reserveReached").GetBoolean());
            Assert.Equal("refused", storage.GetProperty("uploads").GetString());
            Assert.Equal(Reserve, storage.GetProperty("reserveBytes").GetInt64());
        }

        using (var figure = await client.GetAsync("/api/v1/system/storage"))
        {
            Assert.Equal(HttpStatusCode.OK, figure.StatusCode);
            using var json = JsonDocument.Parse(await figure.Content.ReadAsStringAsync());
            Assert.Equal("filesystem", json.RootElement.GetProperty("storage").GetString());
            Assert.True(json.RootElement.GetProperty("reserveReached").GetBoolean());
            Assert.True(json.RootElement.GetProperty("freeBytes").GetInt64() < Reserve);
            Assert.Equal(48 * MiB, json.RootElement.GetProperty("totalBytes").GetInt64());
        }

        // Space freed: pushes work again (within the measurement's second).
        _disk.Remove("filler");
        await Task.Delay(Berth.Storage.FileSystem.FileSystemSpace.MeasureEvery + TimeSpan.FromMilliseconds(200));
        var after = TestImages.Bytes((int)MiB, 1790);
        await PushImageAsync(client, "full/app", "after", after);
        await AssertPullsAsync(client, "full/app", "after", after);
        Assert.Equal(kept, await client.GetByteArrayAsync($"/v2/full/app/blobs/{TestImages.Sha256(kept)}")); // the tag is gone, not the blob
    }

    [Fact]
    public async Task Push_DiskFullWithoutReserve_507AndTheFailedUploadFreesItsBytes()
    {
        var (app, client) = Start(reserve: 0);
        var before = TestImages.Bytes((int)(2 * MiB), 1801);
        await PushImageAsync(client, "nores/app", "before", before);

        // One chunk larger than the free space: the write itself fails with ENOSPC.
        var statuses = new List<int>();
        var tooLarge = TestImages.Bytes((int)(_disk.FreeBytes + MiB), 1802);
        var refused = await PushChunkedAsync(client, "nores/app", tooLarge, tooLarge.Length, statuses);
        Assert.NotNull(refused);
        await AssertStorageFullAsync(refused);
        Assert.Equal(0, UploadBytes(app));

        // The same as a monolithic upload.
        using (var monolithic = await client.PostAsync($"/v2/nores/app/blobs/uploads/?digest={TestImages.Sha256(tooLarge)}", new ByteArrayContent(tooLarge)))
        {
            await AssertStorageFullAsync(monolithic);
        }

        Assert.Equal(0, UploadBytes(app));

        // The disk entirely full (another program): no answer is a 500, whatever runs out first.
        _disk.Fill("filler", leaveFree: 1);
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var start = await client.PostAsync("/v2/nores/app/blobs/uploads/", null);
            answers.Add(start.StatusCode);
            if (start.StatusCode == HttpStatusCode.InsufficientStorage)
            {
                await AssertStorageFullAsync(start);
            }
        }

        using (var manifest = await client.PutManifestAsync("nores/app", "other", TestImages.OciManifestBody(TestImages.EmptyDescriptor, []), TestImages.OciManifest))
        {
            answers.Add(manifest.StatusCode);
        }

        // A management write: problem details with 507 when it is the metadata database that has no room.
        using (var project = await client.PostAsync("/api/v1/projects", new StringContent("{\"name\":\"fullproj\"}", System.Text.Encoding.UTF8, "application/json")))
        {
            answers.Add(project.StatusCode);
            if (project.StatusCode == HttpStatusCode.InsufficientStorage)
            {
                Assert.Equal("application/problem+json", project.Content.Headers.ContentType?.MediaType);
                using var problem = JsonDocument.Parse(await project.Content.ReadAsStringAsync());
                Assert.Equal(507, problem.RootElement.GetProperty("status").GetInt32());
                Assert.Contains("storage is full", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Created, project.StatusCode);
            }
        }

        Assert.DoesNotContain(HttpStatusCode.InternalServerError, answers);
        if (app.Metadata == "sqlite")
        {
            Assert.Contains(HttpStatusCode.InsufficientStorage, answers); // SQLITE_FULL, as the storage being full
        }

        await AssertPullsAsync(client, "nores/app", "before", before);

        _disk.Remove("filler");
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        var after = TestImages.Bytes((int)MiB, 1890);
        await PushImageAsync(client, "nores/app", "after", after);
        await AssertPullsAsync(client, "nores/app", "after", after);
    }
}
