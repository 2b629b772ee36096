using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Core.Access;
using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// What docker does that skopeo and podman do not (issue 16, item 4): cross-repository mounts of layers it knows are
/// in another repository of the registry, "Layer already exists" on a re-push, Docker schema 2 manifests, and a
/// multi-platform list made with <c>docker manifest create</c>/<c>annotate</c>/<c>push</c>.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class DockerSpecificsTests(DockerLabFixture lab) : IAsyncLifetime
{
    private const string Project = "lab";
    private const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    private const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    private string _token = string.Empty;

    /// <summary>Once for the class: mia, a developer of "lab", with a pull,push token.</summary>
    public async Task InitializeAsync()
    {
        await lab.BuildAsync();
        _token = await lab.OnceAsync(nameof(DockerSpecificsTests), async () =>
        {
            await using var setup = ServerSetup.Open(lab.Registry);
            var mia = await setup.Access.UserAsync("mia", "mias-password");
            await setup.Access.ProjectAsync(Project);
            await setup.Access.MemberAsync(Project, mia, ProjectRole.Developer);
            var token = (await setup.Access.TokenAsync(mia, AccessTokenScope.PullPush, [Project], name: "laptop")).Secret;
            await ServerSetup.WaitForServerCachesAsync();
            return token;
        });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task DockerPush_AppOnABasePushedToAnotherRepository_BaseLayerMountedThenEveryLayerAlreadyExistsOnRePush()
    {
        using var docker = await LoggedInAsync(lab.Laptop);
        var basePath = $"{lab.Host}/{Project}/python:3.11-slim";
        var app = $"{lab.Host}/{Project}/api:v1";
        await docker.CheckedAsync("tag", LabImages.PythonSlim, basePath);
        await docker.CheckedAsync("tag", LabImages.App, app);
        var baseLayer = (await docker.InspectAsync(LabImages.PythonSlim, "{{index .RootFS.Layers 0}}"))["sha256:".Length..][..12];

        var pushedBase = await docker.PushAsync(basePath);
        var pushedApp = await docker.PushAsync(app);
        var again = await docker.PushAsync(app);

        Assert.Equal([baseLayer], pushedBase.Layers.Keys);
        Assert.True(pushedApp.Mounted.Count == 1 && pushedApp.Mounted.GetValueOrDefault(baseLayer) == $"{Project}/python",
            $"expected the base layer {baseLayer} mounted from {Project}/python\n{pushedApp.Output}");
        Assert.Equal(pushedApp.Layers.Count - 1, pushedApp.Pushed.Count);
        Assert.Equal(pushedApp.Layers.Keys.Order(), again.AlreadyExisted.Order());
        Assert.Equal(pushedApp.Digest, again.Digest);

        // The mounted layer is the repository's own now: the other engine pulls and runs the image.
        using var server = await LoggedInAsync(lab.Server);
        await server.CheckedAsync("pull", app);
        Assert.StartsWith(LabImages.AppOutputAsApp, (await server.CheckedAsync("run", "--rm", "--network", "none", app)).StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerPush_Image_StoredAsDockerSchema2WithDockerMediaTypesAndTheDigestDockerPrinted()
    {
        using var docker = await LoggedInAsync(lab.Laptop);
        var reference = $"{lab.Host}/{Project}/schema:v1";
        await docker.CheckedAsync("tag", LabImages.App, reference);
        var pushed = await docker.PushAsync(reference);

        using var http = new RegistryHttp(lab.Registry.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Project}/schema/manifests/v1");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(DockerManifest));
        using var response = await http.Client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(DockerManifest, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(pushed.Digest, response.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(pushed.Digest, Sha256Digest.Of(body));
        Assert.Equal(pushed.Size, body.Length);
        using var manifest = JsonDocument.Parse(body);
        var root = manifest.RootElement;
        Assert.Equal(2, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(DockerManifest, root.GetProperty("mediaType").GetString());
        Assert.Equal("application/vnd.docker.container.image.v1+json", root.GetProperty("config").GetProperty("mediaType").GetString());
        Assert.Equal(await docker.ImageIdAsync(LabImages.App), root.GetProperty("config").GetProperty("digest").GetString());
        Assert.All(root.GetProperty("layers").EnumerateArray(),
            layer => Assert.Equal("application/vnd.docker.image.rootfs.diff.tar.gzip", layer.GetProperty("mediaType").GetString()));
        Assert.Equal(pushed.Layers.Count, root.GetProperty("layers").GetArrayLength());
    }

    [Fact]
    public async Task DockerManifestCreateAnnotatePush_TwoImages_ListServedAndTheOtherEnginePullsEachPlatform()
    {
        using var work = new TempDirectory("docker-manifest");
        using var docker = await LoggedInAsync(lab.Laptop);
        var amd64 = $"{lab.Host}/{Project}/multi:v1-amd64";
        var arm64 = $"{lab.Host}/{Project}/multi:v1-arm64";
        var list = $"{lab.Host}/{Project}/multi:v1";

        // A second image to stand for the arm64 build (one file; these machines cannot build arm64 images).
        Directory.CreateDirectory(work.Sub("arm64"));
        await File.WriteAllTextAsync(Path.Combine(work.Sub("arm64"), "platform.txt"), "linux/arm64/v8\n");
        await ProcessRunner.RunCheckedAsync(ExternalTools.Require("tar"), ["-C", work.Sub("arm64"), "-cf", work.Sub("arm64.tar"), "."]);
        await docker.CheckedAsync("import", work.Sub("arm64.tar"), arm64);
        await docker.CheckedAsync("tag", LabImages.App, amd64);
        var pushedAmd64 = await docker.PushAsync(amd64);
        var pushedArm64 = await docker.PushAsync(arm64);

        // The lab's commands; plain HTTP needs --insecure here, since the CLI itself, not the daemon, talks to the registry.
        var created = await docker.CheckedAsync("manifest", "create", "--insecure", list, amd64, arm64);
        Assert.Contains($"Created manifest list {list}", created.StandardOutputText, StringComparison.Ordinal);
        await docker.CheckedAsync("manifest", "annotate", list, arm64, "--os", "linux", "--arch", "arm64", "--variant", "v8");
        var listDigest = (await docker.CheckedAsync("manifest", "push", "--insecure", list)).StandardOutputText.Trim();
        Assert.Matches("^sha256:[0-9a-f]{64}$", listDigest);

        using (var http = new RegistryHttp(lab.Registry.BaseAddress))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Project}/multi/manifests/v1");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(DockerManifestList));
            using var response = await http.Client.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(DockerManifestList, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(listDigest, Sha256Digest.Of(body));
            using var index = JsonDocument.Parse(body);
            var entries = index.RootElement.GetProperty("manifests").EnumerateArray()
                .Select(m => $"{m.GetProperty("digest").GetString()} {m.GetProperty("mediaType").GetString()} " +
                    string.Join('/', new[] { "os", "architecture", "variant" }.Select(p => m.GetProperty("platform").TryGetProperty(p, out var v) ? v.GetString() : null).OfType<string>()))
                .ToList();
            Assert.Equal(new[] { $"{pushedAmd64.Digest} {DockerManifest} linux/amd64", $"{pushedArm64.Digest} {DockerManifest} linux/arm64/v8" }, entries);
        }

        // The other engine: by the list it gets its own platform and runs it; asked for arm64 it gets the other entry.
        using var server = await LoggedInAsync(lab.Server);
        var inspected = (await server.CheckedAsync("manifest", "inspect", "--insecure", list)).StandardOutputText;
        Assert.Contains(DockerManifestList, inspected, StringComparison.Ordinal);
        Assert.Contains("\"architecture\": \"arm64\"", inspected, StringComparison.Ordinal);
        var pulled = await server.CheckedAsync("pull", list);
        Assert.Contains($"Digest: {listDigest}", pulled.StandardOutputText, StringComparison.Ordinal);
        Assert.Equal(await docker.ImageIdAsync(LabImages.App), await server.ImageIdAsync(list));
        Assert.StartsWith(LabImages.AppOutputAsApp, (await server.CheckedAsync("run", "--rm", "--network", "none", list)).StandardOutputText, StringComparison.Ordinal);
        await server.CheckedAsync("pull", "--platform", "linux/arm64", list);
        Assert.Equal(await docker.ImageIdAsync(arm64), await server.ImageIdAsync(list));
    }

    /// <summary>A client on <paramref name="engine"/> logged in as mia with her token.</summary>
    private async Task<DockerClient> LoggedInAsync(DockerEngine engine)
    {
        var client = new DockerClient(engine);
        var login = await client.LoginAsync(lab.Host, "mia", _token);
        Assert.True(login.ExitCode == 0, login.Describe());
        return client;
    }
}
