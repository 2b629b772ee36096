using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Berth.Core.Storage;
using Berth.Oci;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests;

/// <summary>
/// Online garbage collection through HTTP (issue 13 item 3) on a server with a one-second grace window and no scheduled
/// runs: <c>POST /api/v1/system/gc</c> frees the bytes of blobs no manifest references once older than the window, keeps
/// what was pushed, linked, mounted or HEADed within it, never touches uploads in progress; a manifest PUT that
/// references a collected blob is refused; a dry run deletes nothing. The fake clock is set to the real time first, so
/// the file store's own times (real) and the metadata's (the fake clock) agree.
/// </summary>
public sealed class GarbageCollectionTests : RegistryTest
{
    private const string Repository = "project/app";
    private const string OtherRepository = "project/other";

    public GarbageCollectionTests()
        : base(new Dictionary<string, string?> { ["Berth:GcGrace"] = "00:00:01", ["Berth:GcInterval"] = "0" })
    {
        App.Clock.SetUtcNow(DateTimeOffset.UtcNow);
    }

    private IBlobStore Store => App.Services.GetRequiredService<IBlobStore>();

    private async Task<bool> StoredAsync(string digest) => (await Store.StatUncachedAsync(Digest.Parse(digest), CancellationToken.None)).Exists;

    /// <summary>Past the grace window for everything so far: an hour on the fake clock (far past the files' real times too).</summary>
    private void PassGrace() => App.Clock.Advance(TimeSpan.FromHours(1));

    /// <summary>Starts a run, waits for its end and answers its report (with the blobs named).</summary>
    private async Task<JsonElement> RunGcAsync(bool dryRun = false)
    {
        using var started = await Client.PostAsJsonAsync("/api/v1/system/gc", new { dryRun });
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        Assert.Equal($"/api/v1/system/gc/{id}", started.Headers.Location?.OriginalString);
        for (var i = 0; i < 600; i++)
        {
            var report = await Client.GetFromJsonAsync<JsonElement>($"/api/v1/system/gc/{id}");
            if (report.GetProperty("state").GetString() != "running")
            {
                Assert.Equal("succeeded", report.GetProperty("state").GetString());
                return report;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the garbage collection run did not end within 30 s");
    }

    private static HashSet<string> Named(JsonElement report) =>
        report.GetProperty("blobs").EnumerateArray().Select(b => b.GetProperty("digest").GetString()!).ToHashSet();

    [Fact]
    public async Task Gc_AfterManifestDelete_FreesTheBlobsOnlyThatManifestReferenced()
    {
        var gone = TestImages.OciImage(1);
        var kept = TestImages.OciImage(2);
        await Client.PushManifestAsync(Repository, gone, "old");
        await Client.PushManifestAsync(Repository, kept, "new");
        using (var delete = await Client.DeleteAsync($"/v2/{Repository}/manifests/{gone.Digest}"))
        {
            await OciAssert.StatusAsync(delete, HttpStatusCode.Accepted);
        }

        PassGrace();
        var report = await RunGcAsync();

        var goneDigests = gone.Blobs.Select(TestImages.Sha256).ToHashSet();
        Assert.Equal(goneDigests, Named(report));
        Assert.Equal(3, report.GetProperty("blobsCollected").GetInt64());
        Assert.Equal(gone.Blobs.Sum(b => (long)b.Length), report.GetProperty("bytesFreed").GetInt64());
        Assert.True(report.GetProperty("blobsExamined").GetInt64() >= 6);
        Assert.False(report.GetProperty("dryRun").GetBoolean());
        foreach (var digest in goneDigests)
        {
            Assert.False(await StoredAsync(digest));
            Assert.False(await Client.BlobExistsAsync(Repository, digest));
        }

        foreach (var blob in kept.Blobs)
        {
            using var pull = await Client.GetAsync($"/v2/{Repository}/blobs/{TestImages.Sha256(blob)}");
            Assert.Equal(blob, await pull.Content.ReadAsByteArrayAsync());
        }

        Assert.True(await Client.ManifestExistsAsync(Repository, "new"));
    }

    [Fact]
    public async Task Gc_DryRun_ListsWhatWouldGoAndDeletesNothing()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(500, 7));
        PassGrace();

        var report = await RunGcAsync(dryRun: true);

        Assert.True(report.GetProperty("dryRun").GetBoolean());
        Assert.Equal([digest], Named(report));
        Assert.Equal(500, report.GetProperty("bytesFreed").GetInt64());
        Assert.True(await StoredAsync(digest));
        Assert.True(await Client.BlobExistsAsync(Repository, digest));

        // The HEAD just above renewed the link; past the window again, the real run takes it.
        Assert.Empty(Named(await RunGcAsync(dryRun: true)));
        PassGrace();
        Assert.Equal([digest], Named(await RunGcAsync()));
        Assert.False(await StoredAsync(digest));
    }

    [Fact]
    public async Task Gc_BlobPushedWithinGrace_IsKept()
    {
        var old = await Client.PushBlobAsync(Repository, TestImages.Bytes(100, 1));
        PassGrace();
        var fresh = await Client.PushBlobAsync(Repository, TestImages.Bytes(100, 2));

        var report = await RunGcAsync();

        Assert.Equal([old], Named(report));
        Assert.True(await StoredAsync(fresh));
    }

    [Fact]
    public async Task Gc_BlobUploadedAgainOrMountedWithinGrace_IsKept()
    {
        var uploaded = TestImages.Bytes(100, 1);
        var uploadedDigest = await Client.PushBlobAsync(Repository, uploaded);
        var mountedDigest = await Client.PushBlobAsync(OtherRepository, TestImages.Bytes(100, 2));
        PassGrace();

        await Client.PushBlobAsync(Repository, uploaded); // already stored: the link's time is renewed
        using (var mount = await Client.PostAsync($"/v2/{Repository}/blobs/uploads/?mount={mountedDigest}&from={OtherRepository}", null))
        {
            await OciAssert.StatusAsync(mount, HttpStatusCode.Created);
        }

        var report = await RunGcAsync();

        Assert.Empty(Named(report));
        Assert.True(await StoredAsync(uploadedDigest));
        Assert.True(await StoredAsync(mountedDigest));
    }

    [Fact]
    public async Task Gc_BlobHeadedWithinGrace_IsKeptAndTheManifestPutSucceeds()
    {
        var config = TestImages.Config("headed");
        var layer = TestImages.Bytes(300, 3);
        await Client.PushBlobAsync(Repository, config);
        await Client.PushBlobAsync(Repository, layer);
        PassGrace();

        // What a client does before skipping an upload: HEAD, then the manifest.
        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256(config)));
        Assert.True(await Client.BlobExistsAsync(Repository, TestImages.Sha256(layer)));
        Assert.Empty(Named(await RunGcAsync()));

        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]);
        using var put = await Client.PutManifestAsync(Repository, "v1", body, TestImages.OciManifest);
        await OciAssert.StatusAsync(put, HttpStatusCode.Created);
    }

    [Fact]
    public async Task ManifestPut_ReferencingACollectedBlob_IsManifestBlobUnknownUntilItIsUploadedAgain()
    {
        var config = TestImages.Config("collected");
        var layer = TestImages.Bytes(300, 4);
        await Client.PushBlobAsync(Repository, config);
        await Client.PushBlobAsync(Repository, layer);
        PassGrace();
        Assert.Equal(2, Named(await RunGcAsync()).Count);

        var body = TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]);
        using (var put = await Client.PutManifestAsync(Repository, "v1", body, TestImages.OciManifest))
        {
            await OciAssert.ErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        }

        Assert.False(await Client.ManifestExistsAsync(Repository, "v1"));

        // The client uploads again (the digests were collected recently: the upload checks the bytes exist) and retries.
        await Client.PushBlobAsync(Repository, config);
        await Client.PushBlobAsync(Repository, layer);
        using (var again = await Client.PutManifestAsync(Repository, "v1", body, TestImages.OciManifest))
        {
            await OciAssert.StatusAsync(again, HttpStatusCode.Created);
        }

        using var pull = await Client.GetAsync($"/v2/{Repository}/blobs/{TestImages.Sha256(layer)}");
        Assert.Equal(layer, await pull.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Gc_UploadInProgress_IsNotTouched()
    {
        var content = TestImages.Bytes(2000, 9);
        var location = await Client.StartUploadAsync(Repository);
        using (var patch = await Client.SendAsync(HttpMethod.Patch, location, content[..1000], ("Content-Type", "application/octet-stream")))
        {
            await OciAssert.StatusAsync(patch, HttpStatusCode.Accepted);
        }

        PassGrace();
        var report = await RunGcAsync();
        Assert.Empty(Named(report));

        var separator = location.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        using var put = await Client.SendAsync(HttpMethod.Put, $"{location}{separator}digest={TestImages.Sha256(content)}", content[1000..], ("Content-Type", "application/octet-stream"));
        await OciAssert.StatusAsync(put, HttpStatusCode.Created);
        using var pull = await Client.GetAsync($"/v2/{Repository}/blobs/{TestImages.Sha256(content)}");
        Assert.Equal(content, await pull.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Gc_OrphanBytesWithoutRows_AreCollectedOnceOlderThanGrace()
    {
        var digest = await Client.PushBlobAsync(Repository, TestImages.Bytes(100, 5));
        // What a crash between the commit of the bytes and their link leaves: bytes, no rows.
        await App.ExecuteManyAsync("DELETE FROM repository_blobs WHERE digest = @d", [[("@d", digest)]]);
        await App.ExecuteManyAsync("DELETE FROM blobs WHERE digest = @d", [[("@d", digest)]]);
        Assert.True(await StoredAsync(digest));

        Assert.Empty(Named(await RunGcAsync())); // bytes within the window: an upload may be about to link them
        PassGrace();
        Assert.Equal([digest], Named(await RunGcAsync()));
        Assert.False(await StoredAsync(digest));
    }

    [Fact]
    public async Task GcStatus_ShowsSettingsAndTheLastRuns()
    {
        await RunGcAsync(dryRun: true);

        var status = await Client.GetFromJsonAsync<JsonElement>("/api/v1/system/gc");

        Assert.Equal(1, status.GetProperty("graceSeconds").GetInt64());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("intervalSeconds").ValueKind);
        var run = Assert.Single(status.GetProperty("runs").EnumerateArray());
        Assert.True(run.GetProperty("dryRun").GetBoolean());
        Assert.Equal("admin", run.GetProperty("trigger").GetString());
    }

    [Fact]
    public async Task Gc_EachRunIsAudited()
    {
        var report = await RunGcAsync(dryRun: true);

        for (var i = 0; i < 100; i++)
        {
            var audit = await Client.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=gc.run");
            var entries = audit.GetProperty("items").EnumerateArray().ToList();
            if (entries.Count > 0)
            {
                var entry = Assert.Single(entries);
                Assert.Contains(report.GetProperty("id").GetString()!, entry.GetRawText(), StringComparison.Ordinal);
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("no gc.run audit entry");
    }

    [Theory]
    [InlineData("{\"dryRun\":\"yes\"}")]
    [InlineData("{\"dryRun\":true,\"grace\":\"0s\"}")]
    [InlineData("[1]")]
    public async Task StartGc_BadBody_Is400(string body)
    {
        using var response = await Client.PostAsync("/api/v1/system/gc", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty((await Client.GetFromJsonAsync<JsonElement>("/api/v1/system/gc")).GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public async Task Gc_NotAnAdministrator_Is403AndNothingRuns()
    {
        await new AccessSetup(App).UserAsync("dev", "dev-password-1234");
        using var dev = App.CreateClient("dev", "dev-password-1234");

        using var start = await dev.PostAsJsonAsync("/api/v1/system/gc", new { dryRun = false });
        using var status = await dev.GetAsync("/api/v1/system/gc");

        Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, status.StatusCode);
        Assert.Empty((await Client.GetFromJsonAsync<JsonElement>("/api/v1/system/gc")).GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public async Task GetGcRun_Unknown_Is404()
    {
        using var response = await Client.GetAsync("/api/v1/system/gc/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
