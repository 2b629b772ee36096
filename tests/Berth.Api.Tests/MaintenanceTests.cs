using System.Net;
using Berth.Core.Registry;
using Berth.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests;

/// <summary>Background work: the sweeper of abandoned uploads and the batched recording of pull times.</summary>
public sealed class MaintenanceTests : RegistryTest
{
    private const string Repository = "project/app";

    private UploadSweeper Sweeper => App.Services.GetRequiredService<UploadSweeper>();

    private PullRecorder Pulls => App.Services.GetRequiredService<PullRecorder>();

    // ---------------------------------------------------------------- upload sweeper

    [Fact]
    public async Task SweepOnce_UploadIdleLongerThanExpiry_RemovesSessionAndData()
    {
        var location = await Client.StartUploadAsync(Repository);
        (await Client.PatchAsync(location, new ByteArrayContent(TestImages.Bytes(100, 1)))).Dispose();
        var file = UploadFile(location);
        Assert.True(File.Exists(file));

        App.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        await Sweeper.SweepOnceAsync(CancellationToken.None);

        using var status = await Client.GetAsync(location);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.False(File.Exists(file));
        Assert.Equal(0, await Sweeper.SweepOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task SweepOnce_UploadTouchedWithinExpiry_IsKept()
    {
        var location = await Client.StartUploadAsync(Repository);
        App.Clock.Advance(TimeSpan.FromHours(23));
        (await Client.PatchAsync(location, new ByteArrayContent(TestImages.Bytes(100, 2)))).Dispose();
        App.Clock.Advance(TimeSpan.FromHours(2));

        await Sweeper.SweepOnceAsync(CancellationToken.None);

        using var status = await Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-99", status.Header("Range"));
        Assert.True(File.Exists(UploadFile(location)));
    }

    [Fact]
    public async Task SweepOnce_FreshUpload_IsKept()
    {
        var location = await Client.StartUploadAsync(Repository);

        Assert.Equal(0, await Sweeper.SweepOnceAsync(CancellationToken.None));

        using var status = await Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
    }

    [Fact]
    public async Task SweepOnce_RemovesOnlyTheIdleUploads()
    {
        var idle = await Client.StartUploadAsync(Repository);
        App.Clock.Advance(TimeSpan.FromHours(20));
        var active = await Client.StartUploadAsync(Repository);
        App.Clock.Advance(TimeSpan.FromHours(5));

        await Sweeper.SweepOnceAsync(CancellationToken.None);

        using var idleStatus = await Client.GetAsync(idle);
        await OciAssert.ErrorAsync(idleStatus, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var activeStatus = await Client.GetAsync(active);
        Assert.Equal(HttpStatusCode.NoContent, activeStatus.StatusCode);
    }

    [Fact]
    public async Task SweepOnce_ConfiguredExpiry_IsHonoured()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:UploadExpiry"] = "00:30:00" });
        using var client = app.CreateClient();
        var sweeper = app.Services.GetRequiredService<UploadSweeper>();
        var location = await client.StartUploadAsync(Repository);

        app.Clock.Advance(TimeSpan.FromMinutes(29));
        await sweeper.SweepOnceAsync(CancellationToken.None);
        using (var kept = await client.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, kept.StatusCode);
        }

        app.Clock.Advance(TimeSpan.FromMinutes(2));
        await sweeper.SweepOnceAsync(CancellationToken.None);
        using var swept = await client.GetAsync(location);
        await OciAssert.ErrorAsync(swept, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task SweepOnce_LeavesCommittedBlobsAndManifests()
    {
        var image = TestImages.OciImage(3);
        await Client.PushManifestAsync(Repository, image, "v1");
        var before = await RegistrySnapshot.TakeAsync(App, Client);

        App.Clock.Advance(TimeSpan.FromDays(30));
        await Sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.Equal(before, await RegistrySnapshot.TakeAsync(App, Client));
        Assert.True(await Client.ManifestExistsAsync(Repository, "v1"));
    }

    [Fact]
    public async Task SweepOnce_OrphanUploadDataOlderThanExpiry_IsRemoved()
    {
        await Client.StartUploadAsync(Repository); // makes sure the folders exist
        var orphan = Path.Combine(App.DataPath, "uploads", "0123456789abcdef0123456789abcdef");
        await File.WriteAllBytesAsync(orphan, [1, 2, 3]);
        File.SetLastWriteTimeUtc(orphan, App.Clock.GetUtcNow().UtcDateTime.AddHours(-25));

        await Sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.False(File.Exists(orphan));
    }

    [Fact]
    public async Task SweepOnce_OrphanUploadDataWrittenRecently_IsKept()
    {
        await Client.StartUploadAsync(Repository);
        var orphan = Path.Combine(App.DataPath, "uploads", "0123456789abcdef0123456789abcdef");
        await File.WriteAllBytesAsync(orphan, [1, 2, 3]);
        File.SetLastWriteTimeUtc(orphan, App.Clock.GetUtcNow().UtcDateTime.AddHours(-1));

        await Sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.True(File.Exists(orphan));
    }

    [Fact]
    public async Task SweepOnce_ForeignFileInUploadsFolder_DoesNotStopTheSweep()
    {
        var idle = await Client.StartUploadAsync(Repository);
        var uploads = Path.Combine(App.DataPath, "uploads");
        var stray = Path.Combine(uploads, "notes.txt");
        var orphan = Path.Combine(uploads, "fedcba9876543210fedcba9876543210");
        await File.WriteAllTextAsync(stray, "left here by an operator");
        await File.WriteAllBytesAsync(orphan, [1]);
        var old = App.Clock.GetUtcNow().UtcDateTime.AddDays(-2);
        File.SetLastWriteTimeUtc(stray, old);
        File.SetLastWriteTimeUtc(orphan, old);
        App.Clock.Advance(TimeSpan.FromHours(25));

        await Sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.False(File.Exists(orphan));
        using var status = await Client.GetAsync(idle);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    // ---------------------------------------------------------------- pull times

    [Fact]
    public async Task GetManifestByTag_AfterFlush_RecordsPullTimeOfManifestAndTag()
    {
        var image = TestImages.OciImage(4);
        await Client.PushManifestAsync(Repository, image, "v1");
        await Client.PushManifestAsync(Repository, image, "other");
        App.Clock.Advance(TimeSpan.FromHours(3));
        var pulledAt = App.Clock.GetUtcNow();

        (await Client.GetAsync($"/v2/{Repository}/manifests/v1")).Dispose();
        await Pulls.FlushAsync(CancellationToken.None);

        Assert.Equal(pulledAt, ManifestPulledAt(Repository, image.Digest));
        Assert.Equal(pulledAt, TagPulledAt(Repository, "v1"));
        Assert.Null(TagPulledAt(Repository, "other"));
    }

    [Fact]
    public async Task GetManifestByDigest_AfterFlush_RecordsPullOfEveryTagPointingAtIt()
    {
        var image = TestImages.OciImage(5);
        var unrelated = TestImages.OciImage(6);
        await Client.PushManifestAsync(Repository, image, "a");
        await Client.PushManifestAsync(Repository, image, "b");
        await Client.PushManifestAsync(Repository, unrelated, "c");
        App.Clock.Advance(TimeSpan.FromMinutes(10));

        (await Client.GetAsync($"/v2/{Repository}/manifests/{image.Digest}")).Dispose();
        await Pulls.FlushAsync(CancellationToken.None);

        var pulledAt = App.Clock.GetUtcNow();
        Assert.Equal(pulledAt, ManifestPulledAt(Repository, image.Digest));
        Assert.Equal(pulledAt, TagPulledAt(Repository, "a"));
        Assert.Equal(pulledAt, TagPulledAt(Repository, "b"));
        Assert.Null(TagPulledAt(Repository, "c"));
        Assert.Null(ManifestPulledAt(Repository, unrelated.Digest));
    }

    [Fact]
    public async Task HeadManifest_IsNotRecordedAsPull()
    {
        var image = TestImages.OciImage(7);
        await Client.PushManifestAsync(Repository, image, "v1");

        (await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/manifests/v1")).Dispose();
        await Pulls.FlushAsync(CancellationToken.None);

        Assert.Null(ManifestPulledAt(Repository, image.Digest));
        Assert.Null(TagPulledAt(Repository, "v1"));
    }

    [Fact]
    public async Task RepeatedPulls_LatestTimeWins()
    {
        var image = TestImages.OciImage(8);
        await Client.PushManifestAsync(Repository, image, "v1");
        (await Client.GetAsync($"/v2/{Repository}/manifests/v1")).Dispose();
        await Pulls.FlushAsync(CancellationToken.None);
        App.Clock.Advance(TimeSpan.FromDays(2));

        (await Client.GetAsync($"/v2/{Repository}/manifests/v1")).Dispose();
        (await Client.GetAsync($"/v2/{Repository}/manifests/v1")).Dispose();
        await Pulls.FlushAsync(CancellationToken.None);

        Assert.Equal(App.Clock.GetUtcNow(), ManifestPulledAt(Repository, image.Digest));
        Assert.Equal(App.Clock.GetUtcNow(), TagPulledAt(Repository, "v1"));
    }

    [Fact]
    public async Task PullOfManifestDeletedBeforeFlush_IsIgnored()
    {
        var image = TestImages.OciImage(9);
        await Client.PushManifestAsync(Repository, image, "v1");
        (await Client.GetAsync($"/v2/{Repository}/manifests/v1")).Dispose();
        (await Client.DeleteAsync($"/v2/{Repository}/manifests/{image.Digest}")).Dispose();

        await Pulls.FlushAsync(CancellationToken.None);

        Assert.Null(ManifestPulledAt(Repository, image.Digest));
    }

    // ---------------------------------------------------------------- helpers

    private string UploadFile(string location) => Path.Combine(App.DataPath, "uploads", location[(location.LastIndexOf('/') + 1)..]);

    private DateTimeOffset? ManifestPulledAt(string repository, string digest) => QueryTime(
        "SELECT m.last_pulled_at FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = @repo AND m.digest = @key",
        repository, digest);

    private DateTimeOffset? TagPulledAt(string repository, string tag) => QueryTime(
        "SELECT t.last_pulled_at FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = @repo AND t.name = @key",
        repository, tag);

    private DateTimeOffset? QueryTime(string sql, string repository, string key)
    {
        var value = App.QueryScalarAsync(sql, ("@repo", repository), ("@key", key)).GetAwaiter().GetResult();
        return value is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
