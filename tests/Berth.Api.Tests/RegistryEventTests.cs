using System.Collections.Concurrent;
using System.Net;
using Berth.Core.Access;
using Berth.Core.Events;
using Berth.Core.Registry;
using Berth.Oci;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests;

/// <summary>The registry services raise each event once, after the commit, attributed to the caller; failures raise nothing.</summary>
public sealed class RegistryEventTests : IDisposable
{
    private readonly Recorder _events = new();
    private readonly BerthApplication _app;
    private readonly HttpClient _client;

    public RegistryEventTests()
    {
        _app = new BerthApplication
        {
            ConfigureTestServices = services => services.AddSingleton(_events).AddRegistryEventSubscriber<Recorder.Subscriber>(),
        };
        _client = _app.CreateClientFrom("10.1.2.3");
    }

    public void Dispose()
    {
        _client.Dispose();
        _app.Dispose();
    }

    [Fact]
    public async Task ManifestPut_NewTag_RaisesPushedThenTagCreated_AttributedToTheCaller()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");

        var events = _events.Of<ManifestPushed, TagMoved>();
        Assert.Equal(2, events.Count);
        var pushed = Assert.IsType<ManifestPushed>(events[0]);
        Assert.Equal((image.Digest, "v1", image.Body.Length, image.MediaType), (pushed.Digest.ToString(), pushed.Tag?.Value, pushed.Size, pushed.MediaType));
        Assert.Equal(_app.Clock.GetUtcNow(), pushed.At);
        Assert.Equal(new EventActor(EventActorKind.User, BerthApplication.AdminUser, IPAddress.Parse("10.1.2.3")), pushed.Actor);
        var created = Assert.IsType<TagMoved>(events[1]);
        Assert.Null(created.Previous);
        Assert.Equal(image.Digest, created.Digest.ToString());
        Assert.Equal("shop/api", created.Repository.Value);
    }

    [Fact]
    public async Task ManifestPut_SameTagSameManifest_RaisesPushedButNoTagMove()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");
        _events.Clear();

        await _client.PushManifestAsync("shop/api", image, "v1");

        Assert.IsType<ManifestPushed>(Assert.Single(_events.Of<ManifestPushed, TagMoved>()));
    }

    [Fact]
    public async Task ManifestPut_TagToAnotherManifest_RaisesTagMovedFromTheOldDigest()
    {
        var first = TestImages.OciImage(1);
        var second = TestImages.OciImage(2);
        await _client.PushManifestAsync("shop/api", first, "v1");
        await _client.PushManifestAsync("shop/api", second, "v1");

        var moved = _events.Of<TagMoved>().Cast<TagMoved>().ToList();
        Assert.Equal(2, moved.Count);
        Assert.Equal((first.Digest, second.Digest), (moved[1].Previous?.ToString(), moved[1].Digest.ToString()));
    }

    [Fact]
    public async Task ManifestPut_ByDigest_RaisesPushedWithoutTagAndNoTagMove()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image);

        var pushed = Assert.IsType<ManifestPushed>(Assert.Single(_events.Of<ManifestPushed, TagMoved>()));
        Assert.Null(pushed.Tag);
    }

    [Fact]
    public async Task ManifestPut_MissingBlob_RaisesNothing()
    {
        var image = TestImages.OciImage(1);
        await _client.PushBlobAsync("shop/api", image.Blobs[0]); // the config, not the layers
        _events.Clear();

        using var response = await _client.PutManifestAsync("shop/api", "v1", image.Body, image.MediaType);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Empty(_events.All);
    }

    [Fact]
    public async Task ManifestPut_DigestMismatchOrInvalidBody_RaisesNothing()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");
        _events.Clear();

        using (var wrong = await _client.PutManifestAsync("shop/api", TestImages.OciImage(2).Digest, image.Body, image.MediaType))
        {
            await OciAssert.ErrorAsync(wrong, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }

        using (var garbage = await _client.PutManifestAsync("shop/api", "v2", "{not json"u8.ToArray(), image.MediaType))
        {
            await OciAssert.ErrorAsync(garbage, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        }

        Assert.Empty(_events.All);
    }

    [Fact]
    public async Task ManifestGet_RaisesOnePullByTagOrDigest_HeadAndUnknownRaiseNothing()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");
        _events.Clear();

        Assert.True(await _client.ManifestExistsAsync("shop/api", "v1")); // HEAD
        using (var byTag = await _client.GetAsync("/v2/shop/api/manifests/v1"))
        {
            await OciAssert.StatusAsync(byTag, HttpStatusCode.OK);
        }

        using (var byDigest = await _client.GetAsync($"/v2/shop/api/manifests/{image.Digest}"))
        {
            await OciAssert.StatusAsync(byDigest, HttpStatusCode.OK);
        }

        using (var unknown = await _client.GetAsync("/v2/shop/api/manifests/nope"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        var pulls = _events.All.Cast<ManifestPulled>().ToList();
        Assert.Equal(2, pulls.Count);
        Assert.Equal(("v1", image.Digest, image.MediaType), (pulls[0].Tag?.Value, pulls[0].Digest.ToString(), pulls[0].MediaType));
        Assert.Null(pulls[1].Tag);
    }

    [Fact]
    public async Task Delete_TagManifestAndBlob_RaiseOneEventEach_UnknownRaiseNothing()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");
        _events.Clear();

        foreach (var path in new[] { "manifests/v1", "manifests/v1", $"manifests/{image.Digest}", $"manifests/{image.Digest}", $"blobs/{TestImages.Sha256(image.Blobs[0])}", $"blobs/{TestImages.Sha256(image.Blobs[0])}" })
        {
            using var response = await _client.DeleteAsync($"/v2/shop/api/{path}");
            Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        }

        Assert.Equal(["TagDeleted v1", $"ManifestDeleted {image.Digest}", $"BlobDeleted {TestImages.Sha256(image.Blobs[0])}"], _events.All.Select(e => e switch
        {
            TagDeleted t => $"TagDeleted {t.Tag}",
            ManifestDeleted m => $"ManifestDeleted {m.Digest}",
            BlobDeleted b => $"BlobDeleted {b.Digest}",
            _ => e.GetType().Name,
        }));
    }

    [Fact]
    public async Task BlobUploads_MonolithicChunkedAndMount_RaiseCommittedOrMountedOnce()
    {
        var first = TestImages.Bytes(100, 1);
        var second = TestImages.Bytes(200, 2);
        await _client.PushBlobAsync("shop/api", first);
        var location = await _client.StartUploadAsync("shop/api");
        using (var put = await _client.PutAsync($"{location}{(location.Contains('?', StringComparison.Ordinal) ? '&' : '?')}digest={TestImages.Sha256(second)}", new ByteArrayContent(second)))
        {
            await OciAssert.StatusAsync(put, HttpStatusCode.Created);
        }

        using (var mount = await _client.PostAsync($"/v2/shop/web/blobs/uploads/?mount={TestImages.Sha256(first)}&from=shop/api", null))
        {
            await OciAssert.StatusAsync(mount, HttpStatusCode.Created);
        }

        Assert.Equal(
            [$"committed shop/api {TestImages.Sha256(first)} 100", $"committed shop/api {TestImages.Sha256(second)} 200", $"mounted shop/web {TestImages.Sha256(first)} 100 from shop/api"],
            _events.All.Select(e => e switch
            {
                BlobCommitted c => $"committed {c.Repository} {c.Digest} {c.Size}",
                BlobMounted m => $"mounted {m.Repository} {m.Digest} {m.Size} from {m.From}",
                _ => e.GetType().Name,
            }));
    }

    [Fact]
    public async Task BlobUpload_WrongDigest_RaisesNothing()
    {
        var content = TestImages.Bytes(100, 1);
        using var response = await _client.PostAsync($"/v2/shop/api/blobs/uploads/?digest={TestImages.Sha256(TestImages.Bytes(100, 2))}", new ByteArrayContent(content));

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Empty(_events.All);
    }

    [Fact]
    public async Task Subscriber_Throws_RequestSucceedsAndAuditStillWritten()
    {
        using var app = new BerthApplication { ConfigureTestServices = services => services.AddRegistryEventSubscriber<Throwing>() };
        using var client = app.CreateClient();

        await client.PushManifestAsync("shop/api", TestImages.OciImage(1), "v1");
        using (var get = await client.GetAsync("/v2/shop/api/manifests/v1"))
        {
            await OciAssert.StatusAsync(get, HttpStatusCode.OK);
        }

        var audited = await new AccessSetup(app).AuditAsync();
        Assert.Contains(audited, e => e.Action == AuditActions.Push);
        Assert.Contains(audited, e => e.Action == AuditActions.Pull);
    }

    [Fact]
    public async Task ManifestPut_WithAPersonalAccessTokenOrARobot_ActorsAreTokenAndRobot()
    {
        var setup = new AccessSetup(_app);
        await setup.ProjectAsync("shop");
        var user = await setup.UserAsync("dev", "dev-password");
        await setup.MemberAsync("shop", user, ProjectRole.Developer);
        var (_, secret) = await setup.TokenAsync(user, AccessTokenScope.PullPush);
        var robot = await setup.RobotAsync("shop", "ci", RegistryActions.Pull | RegistryActions.Push);
        var (_, robotSecret) = await setup.RobotTokenAsync(robot, AccessTokenScope.PullPush);

        using (var byToken = _app.CreateClient("dev", secret))
        {
            await byToken.PushManifestAsync("shop/api", TestImages.OciImage(1));
        }

        using (var byRobot = _app.CreateClient(robot.FullName, robotSecret))
        {
            await byRobot.PushManifestAsync("shop/api", TestImages.OciImage(2));
        }

        Assert.Equal(
            [(EventActorKind.Token, "dev"), (EventActorKind.Robot, "shop+ci")],
            _events.Of<ManifestPushed>().Select(e => (e.Actor.Kind, e.Actor.Name)));
    }

    [Fact]
    public async Task ServiceCall_WithoutAnActorScope_IsAttributedToTheSystem()
    {
        var image = TestImages.OciImage(1);
        await _client.PushManifestAsync("shop/api", image, "v1");
        _events.Clear();

        var manifests = _app.Services.GetRequiredService<ManifestService>();
        Assert.True((await manifests.DeleteAsync(RepositoryName.Parse("shop/api"), Reference.Of(Digest.Parse(image.Digest)), CancellationToken.None)).IsSuccess);

        var deleted = Assert.IsType<ManifestDeleted>(Assert.Single(_events.All));
        Assert.Equal(EventActor.Berth, deleted.Actor);
    }

    private sealed class Throwing : IRegistryEventSubscriber
    {
        public ValueTask HandleAsync(RegistryEvent registryEvent) => throw new InvalidOperationException("a broken subscriber");
    }

    /// <summary>Every event, in the order raised.</summary>
    public sealed class Recorder
    {
        private readonly ConcurrentQueue<RegistryEvent> _events = new();

        public IReadOnlyList<RegistryEvent> All => [.. _events];

        public IReadOnlyList<RegistryEvent> Of<T>() => [.. _events.Where(e => e is T)];

        public IReadOnlyList<RegistryEvent> Of<T1, T2>() => [.. _events.Where(e => e is T1 or T2)];

        public void Clear() => _events.Clear();

        public sealed class Subscriber(Recorder recorder) : IRegistryEventSubscriber
        {
            public ValueTask HandleAsync(RegistryEvent registryEvent)
            {
                recorder._events.Enqueue(registryEvent);
                return ValueTask.CompletedTask;
            }
        }
    }
}
