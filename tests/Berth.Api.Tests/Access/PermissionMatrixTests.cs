using System.Net;
using System.Text;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Every /v2 route × every kind of caller × project visibility, with both credential styles (Basic on /v2, and a
/// registry token from /token sent as Bearer). The expected answers are written out below, not computed.
/// </summary>
public sealed class PermissionMatrixTests
{
    private const string Project = "proj";
    private const string Repository = "proj/app";
    private const string MountSource = "proj/base";

    // Columns: adm = administrator, own = owner, mnt = maintainer, dev = developer, rdr = reader, str = a user who is no
    // member, ano = anonymous; dP / dPP / dPD = a developer's personal token with scope pull / pull,push /
    // pull,push,delete; oP / oPP / oPD = the same of an owner; tOt = an owner's full token restricted to another
    // project; rP / rPP = a robot of the project with pull / pull,push; rOt = a robot of another project (all actions).
    // Y = allowed, n = refused, b = refused without credentials (Basic style), allowed with the anonymous registry token.
    private const string PrivateTable = """
        route           adm own mnt dev rdr str ano dP  dPP dPD oP  oPP oPD tOt rP  rPP rOt
        base             Y   Y   Y   Y   Y   Y   b   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        catalog          Y   Y   Y   Y   Y   Y   n   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        manifest-get     Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        manifest-head    Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        manifest-put     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        manifest-delete  Y   Y   Y   n   n   n   n   n   n   n   n   n   Y   n   n   n   n
        blob-get         Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        blob-head        Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        blob-delete      Y   Y   Y   n   n   n   n   n   n   n   n   n   Y   n   n   n   n
        upload-start     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-digest    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-mount     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-patch     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-put       Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-status    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-cancel    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        tags             Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        referrers        Y   Y   Y   Y   Y   n   n   Y   Y   Y   Y   Y   Y   n   Y   Y   n
        """;

    // Public: everyone may pull (anonymous, strangers, other projects' robots and tokens included); writes as private.
    private const string PublicTable = """
        route           adm own mnt dev rdr str ano dP  dPP dPD oP  oPP oPD tOt rP  rPP rOt
        base             Y   Y   Y   Y   Y   Y   b   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        catalog          Y   Y   Y   Y   Y   Y   n   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        manifest-get     Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        manifest-head    Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        manifest-put     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        manifest-delete  Y   Y   Y   n   n   n   n   n   n   n   n   n   Y   n   n   n   n
        blob-get         Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        blob-head        Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        blob-delete      Y   Y   Y   n   n   n   n   n   n   n   n   n   Y   n   n   n   n
        upload-start     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-digest    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-mount     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-patch     Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-put       Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-status    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        upload-cancel    Y   Y   Y   Y   n   n   n   n   Y   Y   n   Y   Y   n   n   Y   n
        tags             Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        referrers        Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y
        """;

    public static TheoryData<bool, bool> Cases => new()
    {
        { false, false },
        { false, true },
        { true, false },
        { true, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EveryRoute_EveryCaller_GetsTheExpectedAnswer(bool isPublic, bool bearer)
    {
        using var app = new BerthApplication();
        var world = await World.CreateAsync(app, isPublic);
        var table = Parse(isPublic ? PublicTable : PrivateTable);
        var failures = new List<string>();
        var checkedCases = 0;

        foreach (var route in Routes)
        {
            foreach (var (caller, credentials) in world.Callers)
            {
                var expected = table[(route.Key, caller)];
                var allowed = expected == 'Y' || (expected == 'b' && bearer);
                var state = await route.PrepareAsync(world);
                var before = route.IsWrite && !allowed ? await RegistrySnapshot.TakeAsync(app, world.Admin) : null;

                using var client = bearer
                    ? AccessClient.Bearer(app, await AccessClient.GetTokenAsync(app, credentials, route.Scopes))
                    : AccessClient.Basic(app, credentials);
                using var response = await client.SendAsync(route.Method, route.Path(state), route.Body(state), route.Headers ?? []);
                var what = $"{route.Key} as {caller} ({(isPublic ? "public" : "private")}, {(bearer ? "Bearer" : "Basic")})";
                checkedCases++;

                if (allowed)
                {
                    if (response.StatusCode != route.Success)
                    {
                        failures.Add($"{what}: expected {(int)route.Success}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                else
                {
                    var problem = await CheckRefusalAsync(response, route, credentials is null, bearer);
                    if (problem is not null)
                    {
                        failures.Add($"{what}: {problem}");
                    }

                    if (before is not null)
                    {
                        var after = await RegistrySnapshot.TakeAsync(app, world.Admin);
                        if (after != before)
                        {
                            failures.Add($"{what}: a refused write changed the registry:\nbefore {before}\nafter  {after}");
                        }
                    }
                }

                world.AllowedLastMount = allowed;
                await route.CleanUpAsync(world, state);
            }
        }

        Assert.Equal(Routes.Length * World.CallerNames.Length, checkedCases);
        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedCases} cases failed:\n" + string.Join('\n', failures));
    }

    /// <summary>
    /// Anonymous: 401 with the challenge naming the scope; Basic: 403 DENIED; Bearer: 401 with insufficient_scope and its description.
    /// Null when the refusal looks right.
    /// </summary>
    private static async Task<string?> CheckRefusalAsync(HttpResponseMessage response, Route route, bool anonymous, bool bearer)
    {
        var body = route.Method == HttpMethod.Head ? string.Empty : await response.Content.ReadAsStringAsync();
        var challenge = response.Header("WWW-Authenticate");
        var scope = string.Join(' ', route.Needed);
        var baseChallenge = $"Bearer realm=\"{AccessClient.Realm}\",service=\"berth\"" + (scope.Length > 0 ? $",scope=\"{scope}\"" : string.Empty);
        if (bearer)
        {
            var expected = baseChallenge + ",error=\"insufficient_scope\",error_description=\"";
            return response.StatusCode != HttpStatusCode.Unauthorized || challenge?.StartsWith(expected, StringComparison.Ordinal) != true || !HasCode(body, route, "UNAUTHORIZED")
                ? $"expected 401 UNAUTHORIZED with '{expected}', got {(int)response.StatusCode} '{challenge}' {body}"
                : null;
        }

        if (anonymous)
        {
            return response.StatusCode != HttpStatusCode.Unauthorized || challenge != baseChallenge || !HasCode(body, route, "UNAUTHORIZED")
                ? $"expected 401 UNAUTHORIZED with '{baseChallenge}', got {(int)response.StatusCode} '{challenge}' {body}"
                : null;
        }

        return response.StatusCode != HttpStatusCode.Forbidden || !HasCode(body, route, "DENIED")
            ? $"expected 403 DENIED, got {(int)response.StatusCode} {body}"
            : null;
    }

    private static bool HasCode(string body, Route route, string code) =>
        route.Method == HttpMethod.Head || body.Contains($"\"code\":\"{code}\"", StringComparison.Ordinal);

    private static Dictionary<(string Route, string Caller), char> Parse(string table)
    {
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var columns = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(World.CallerNames, columns);
        var result = new Dictionary<(string, string), char>();
        foreach (var line in lines[1..])
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(columns.Length + 1, cells.Length);
            for (var i = 0; i < columns.Length; i++)
            {
                Assert.Contains(cells[i + 1], new[] { "Y", "n", "b" });
                result[(cells[0], columns[i])] = cells[i + 1][0];
            }
        }

        Assert.Equal(Routes.Select(r => r.Key), lines[1..].Select(l => l.Split(' ')[0]));
        return result;
    }

    private static int _unique;

    private static int Unique() => Interlocked.Increment(ref _unique);

    /// <summary>What a route needs prepared (by the administrator) before the request: an upload session, a fresh blob.</summary>
    private sealed record State(string? Upload = null, byte[]? Content = null);

    private sealed record Route(
        string Key,
        HttpMethod Method,
        HttpStatusCode Success,
        bool IsWrite,
        string[] Needed,
        string[] Scopes,
        Func<State, string> Path,
        Func<World, Task<State>>? Prepare = null,
        Func<State, byte[]?>? MakeBody = null,
        Func<World, State, Task>? CleanUp = null,
        (string Name, string Value)[]? Headers = null)
    {
        public Task<State> PrepareAsync(World world) => Prepare?.Invoke(world) ?? Task.FromResult(new State());

        public byte[]? Body(State state) => MakeBody?.Invoke(state);

        public Task CleanUpAsync(World world, State state) => CleanUp?.Invoke(world, state) ?? Task.CompletedTask;
    }

    private const string Pull = "repository:" + Repository + ":pull";
    private const string PullPush = "repository:" + Repository + ":pull,push";
    private const string Delete = "repository:" + Repository + ":delete";

    private static readonly Route[] Routes =
    [
        new("base", HttpMethod.Get, HttpStatusCode.OK, false, [], [], _ => "/v2/"),
        new("catalog", HttpMethod.Get, HttpStatusCode.OK, false, ["registry:catalog:*"], ["registry:catalog:*"], _ => "/v2/_catalog"),
        new("manifest-get", HttpMethod.Get, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/manifests/v1"),
        new("manifest-head", HttpMethod.Head, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/manifests/v1"),
        new("manifest-put", HttpMethod.Put, HttpStatusCode.Created, true, ["repository:" + Repository + ":push"], [PullPush],
            _ => $"/v2/{Repository}/manifests/pushed",
            Prepare: world => Task.FromResult(new State(Content: world.UniqueManifest())),
            MakeBody: state => state.Content,
            Headers: [("Content-Type", TestImages.OciManifest)]),
        new("manifest-delete", HttpMethod.Delete, HttpStatusCode.Accepted, true, [Delete], [Delete],
            _ => $"/v2/{Repository}/manifests/victim",
            Prepare: async world =>
            {
                await world.Admin.PushManifestAsync(Repository, world.Victim, "victim");
                return new State();
            }),
        new("blob-get", HttpMethod.Get, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/blobs/{World.LayerDigest}"),
        new("blob-head", HttpMethod.Head, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/blobs/{World.LayerDigest}"),
        new("blob-delete", HttpMethod.Delete, HttpStatusCode.Accepted, true, [Delete], [Delete],
            _ => $"/v2/{Repository}/blobs/{TestImages.Sha256(World.VictimBlob)}",
            Prepare: async world =>
            {
                await world.Admin.PushBlobAsync(Repository, World.VictimBlob);
                return new State();
            }),
        new("upload-start", HttpMethod.Post, HttpStatusCode.Accepted, true, [PullPush], [PullPush],
            _ => $"/v2/{Repository}/blobs/uploads/",
            MakeBody: _ => []),
        new("upload-digest", HttpMethod.Post, HttpStatusCode.Created, true, [PullPush], [PullPush],
            state => $"/v2/{Repository}/blobs/uploads/?digest={TestImages.Sha256(state.Content!)}",
            Prepare: _ => Task.FromResult(new State(Content: TestImages.Bytes(40, 1000 + Unique()))),
            MakeBody: state => state.Content),
        new("upload-mount", HttpMethod.Post, HttpStatusCode.Created, true, [PullPush], [PullPush, "repository:" + MountSource + ":pull"],
            state => $"/v2/{Repository}/blobs/uploads/?mount={TestImages.Sha256(state.Content!)}&from={MountSource}",
            Prepare: async world =>
            {
                // A blob only the source has, so a mount that happened shows in the target.
                var content = TestImages.Bytes(41, 2000 + Unique());
                await world.Admin.PushBlobAsync(MountSource, content);
                return new State(Content: content);
            },
            MakeBody: _ => [],
            CleanUp: async (world, state) => Assert.Equal(
                world.AllowedLastMount, await world.Admin.BlobExistsAsync(Repository, TestImages.Sha256(state.Content!)))),
        new("upload-patch", HttpMethod.Patch, HttpStatusCode.Accepted, true, [PullPush], [PullPush],
            state => state.Upload!,
            Prepare: StartUploadAsync,
            MakeBody: _ => TestImages.Bytes(30, 3000 + Unique()),
            CleanUp: CancelUploadAsync,
            Headers: [("Content-Type", "application/octet-stream")]),
        new("upload-put", HttpMethod.Put, HttpStatusCode.Created, true, [PullPush], [PullPush],
            state => $"{state.Upload}?digest={TestImages.Sha256(state.Content!)}",
            Prepare: async world => (await StartUploadAsync(world)) with { Content = TestImages.Bytes(42, 4000 + Unique()) },
            MakeBody: state => state.Content,
            CleanUp: CancelUploadAsync,
            Headers: [("Content-Type", "application/octet-stream")]),
        new("upload-status", HttpMethod.Get, HttpStatusCode.NoContent, false, [PullPush], [PullPush],
            state => state.Upload!,
            Prepare: StartUploadAsync,
            CleanUp: CancelUploadAsync),
        new("upload-cancel", HttpMethod.Delete, HttpStatusCode.NoContent, true, [PullPush], [PullPush],
            state => state.Upload!,
            Prepare: StartUploadAsync,
            CleanUp: CancelUploadAsync),
        new("tags", HttpMethod.Get, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/tags/list"),
        new("referrers", HttpMethod.Get, HttpStatusCode.OK, false, [Pull], [Pull], _ => $"/v2/{Repository}/referrers/{World.Image.Digest}"),
    ];

    private static async Task<State> StartUploadAsync(World world) => new(Upload: await world.Admin.StartUploadAsync(Repository));

    private static async Task CancelUploadAsync(World world, State state)
    {
        using var _ = await world.Admin.DeleteAsync(state.Upload!); // 204, or 404 when the request completed or cancelled it
    }

    /// <summary>The project, its members, tokens and robots, and the images the routes work on.</summary>
    private sealed class World
    {
        public static readonly string[] CallerNames = ["adm", "own", "mnt", "dev", "rdr", "str", "ano", "dP", "dPP", "dPD", "oP", "oPP", "oPD", "tOt", "rP", "rPP", "rOt"];

        public static readonly TestManifest Image = TestImages.OciImage(1);

        public static readonly string LayerDigest = TestImages.Sha256(Image.Blobs[1]);

        public static readonly byte[] VictimBlob = TestImages.Bytes(50, 77);

        public TestManifest Victim { get; } = TestImages.OciImage(2);

        public required HttpClient Admin { get; init; }

        public required IReadOnlyList<(string Name, Credentials? Credentials)> Callers { get; init; }

        /// <summary>Set by the mount clean-up check: whether the case just run was expected to mount.</summary>
        public bool AllowedLastMount { get; set; }

        /// <summary>A manifest not stored yet, over the image's blobs.</summary>
        public byte[] UniqueManifest() => TestImages.OciManifestBody(
            TestDescriptor.Of(TestImages.OciConfig, Image.Blobs[0]),
            Image.Blobs.Skip(1).Select(b => TestDescriptor.Of(TestImages.OciLayer, b)),
            annotations: new Dictionary<string, string> { ["case"] = Unique().ToString(System.Globalization.CultureInfo.InvariantCulture) });

        public static async Task<World> CreateAsync(BerthApplication app, bool isPublic)
        {
            var setup = new AccessSetup(app);
            await setup.ProjectAsync(Project, isPublic);
            await setup.ProjectAsync("other");
            var admin = app.CreateClient();
            await admin.PushManifestAsync(Repository, Image, "v1");
            await admin.PushBlobAsync(MountSource, TestImages.Bytes(10, 5));

            async Task<(User User, Credentials Credentials)> UserAsync(string name, ProjectRole? role)
            {
                var user = await setup.UserAsync(name, name + "-password");
                if (role is { } r)
                {
                    await setup.MemberAsync(Project, user, r);
                }

                return (user, new Credentials(name, name + "-password"));
            }

            async Task<Credentials> MemberAsync(string name, ProjectRole? role) => (await UserAsync(name, role)).Credentials;

            var (ownerUser, owner) = await UserAsync("owner", ProjectRole.Owner);
            var (developerUser, developer) = await UserAsync("developer", ProjectRole.Developer);

            async Task<Credentials> TokenAsync(User user, AccessTokenScope scope, string[]? projects = null) =>
                new(user.Name.Value, (await setup.TokenAsync(user, scope, projects)).Secret);

            async Task<Credentials> RobotAsync(string project, string name, RegistryActions actions)
            {
                var robot = await setup.RobotAsync(project, name, actions);
                return new Credentials(robot.FullName, (await setup.RobotTokenAsync(robot, AccessTokenScope.PullPushDelete)).Secret);
            }

            List<(string, Credentials?)> callers =
            [
                ("adm", new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword)),
                ("own", owner),
                ("mnt", await MemberAsync("maintainer", ProjectRole.Maintainer)),
                ("dev", developer),
                ("rdr", await MemberAsync("reader", ProjectRole.Reader)),
                ("str", await MemberAsync("stranger", null)),
                ("ano", null),
                ("dP", await TokenAsync(developerUser, AccessTokenScope.Pull)),
                ("dPP", await TokenAsync(developerUser, AccessTokenScope.PullPush)),
                ("dPD", await TokenAsync(developerUser, AccessTokenScope.PullPushDelete)),
                ("oP", await TokenAsync(ownerUser, AccessTokenScope.Pull)),
                ("oPP", await TokenAsync(ownerUser, AccessTokenScope.PullPush)),
                ("oPD", await TokenAsync(ownerUser, AccessTokenScope.PullPushDelete)),
                ("tOt", await TokenAsync(ownerUser, AccessTokenScope.PullPushDelete, ["other"])),
                ("rP", await RobotAsync(Project, "puller", RegistryActions.Pull)),
                ("rPP", await RobotAsync(Project, "pusher", RegistryActions.Pull | RegistryActions.Push)),
                ("rOt", await RobotAsync("other", "ci", RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete)),
            ];
            return new World { Admin = admin, Callers = callers };
        }
    }
}
