using System.Net.Http.Headers;
using Berth.Auth.Tokens;
using Berth.Core.Access;
using Berth.Core.Registry;
using Berth.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Migration.Tests;

/// <summary>An image pushed to the source, as a client would pull it afterwards.</summary>
public sealed record PushedImage(string Repository, string Tag, TestManifest Manifest);

/// <summary>
/// A real embedded installation, built once per test class: the in-process server on SQLite and the file store with
/// several projects, users, memberships, robots (one read-only), tokens (one revoked, one expired), IP rules, audit
/// entries and images pushed over HTTP (single and multi-platform, OCI and Docker, one layer of several MiB). What
/// clients see of it is recorded (<see cref="ServerObservation"/>: <see cref="Listings"/>, <see cref="Access"/>) to
/// compare a migrated server with. Its data folder is then copied as a stopped server leaves it (<c>VACUUM INTO</c> for a consistent <c>berth.db</c>, the blob files, the keys) into a
/// template; each test migrates its own copy.
/// </summary>
public sealed class EmbeddedInstallation : IAsyncLifetime
{
    public string Template { get; } = Path.Combine(Path.GetTempPath(), "berth-migration-template-" + Guid.NewGuid().ToString("N"));

    public List<PushedImage> Images { get; } = [];

    /// <summary>Every credential made on the source, working or not (revoked, expired, a wrong password).</summary>
    public List<MadeCredential> Credentials { get; } = [];

    /// <summary>The source's catalog and tags lists (<see cref="ServerObservation.ListingsAsync"/>).</summary>
    public List<string> Listings { get; private set; } = [];

    /// <summary>What every credential could do on the source (<see cref="ServerObservation.AccessAsync"/>).</summary>
    public List<string> Access { get; private set; } = [];

    /// <summary>The source's clock when <see cref="Access"/> was taken (the expired token had expired).</summary>
    public DateTimeOffset ObservedAt { get; private set; }

    /// <summary>The trust entries the installation holds (their ids are the store's), as added at <paramref name="at"/>.</summary>
    public static IReadOnlyList<Berth.Core.Signing.TrustEntry> TrustEntries(DateTimeOffset at) =>
    [
        new(0, null, "release", Berth.Core.Signing.TrustKind.Key, "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n", [], "SHA256:release", "carol", at),
        new(0, ProjectName.Parse("shop"), "corp-root", Berth.Core.Signing.TrustKind.Root, "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
            ["x509.subject: CN=ci, O=Shop", "email:ci@example.com"], "SHA256:corp", "alice", at),
        new(0, ProjectName.Parse("vault"), "vault-key", Berth.Core.Signing.TrustKind.Key, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n", [], "SHA256:vault", "carol", at),
    ];

    public async Task InitializeAsync()
    {
        using var app = new BerthApplication(new Dictionary<string, string?>
        {
            [ProviderCatalog.StorageKey] = "filesystem",
            [ProviderCatalog.MetadataKey] = "sqlite",
            // The scanner runtime is off: the scan queue and results are the ones written below, not scans of the pushes.
            ["Berth:Scanning:Enabled"] = "false",
        });
        var setup = new AccessSetup(app);
        var alice = await setup.UserAsync("alice", "alice-password-1");
        var bob = await setup.UserAsync("Bob", "bob-password-22");
        await setup.UserAsync("carol", "carol-password-333", administrator: true);
        await setup.ProjectAsync("shop", description: "the shop's images");
        await setup.ProjectAsync("web", isPublic: true);
        await setup.ProjectAsync("ops");
        await setup.MemberAsync("shop", alice, ProjectRole.Developer);
        await setup.MemberAsync("web", bob, ProjectRole.Reader);
        await setup.MemberAsync("ops", alice, ProjectRole.Owner);
        var robot = await setup.RobotAsync("shop", "ci", RegistryActions.Pull | RegistryActions.Push);
        var (_, robotSecret) = await setup.RobotTokenAsync(robot, AccessTokenScope.PullPush);
        var readOnlyRobot = await setup.RobotAsync("web", "mirror", RegistryActions.Pull);
        var (_, readOnlyRobotSecret) = await setup.RobotTokenAsync(readOnlyRobot, AccessTokenScope.Pull);
        var (_, aliceSecret) = await setup.TokenAsync(alice, AccessTokenScope.PullPush, ["shop"], name: "laptop");
        var (_, bobSecret) = await setup.TokenAsync(bob, AccessTokenScope.Pull, name: "reader");
        var (revoked, revokedSecret) = await setup.TokenAsync(alice, AccessTokenScope.Pull, name: "old");
        await setup.RevokeAsync(revoked);
        var (_, expiredSecret) = await setup.TokenAsync(bob, AccessTokenScope.PullPush, expiresAt: app.Clock.GetUtcNow().AddSeconds(30), name: "short");
        await setup.AllowAsync("10.0.0.0/8", "ops");
        await setup.AllowAsync("127.0.0.0/8", "ops");
        await setup.AllowAsync("192.168.0.0/16");
        await setup.AllowAsync("127.0.0.0/8");
        await setup.ImmutableAsync("shop", ["v*"], ["latest"], ["api"]);
        await setup.QuotaAsync("web", 5L << 30);

        using var client = app.CreateClient();
        var big = TestImages.Bytes((3 * 1024 * 1024) + 17, 99);
        var bigConfig = TestImages.Config("big");
        var bigImage = new TestManifest(TestImages.OciManifest,
            TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, bigConfig), [TestDescriptor.Of(TestImages.OciLayer, big)]), [bigConfig, big], []);
        Images.Add(new("shop/api", "v1", TestImages.OciImage(1)));
        Images.Add(new("shop/api", "multi", TestImages.Index([TestImages.OciImage(2), TestImages.OciImage(3)])));
        Images.Add(new("shop/big", "latest", bigImage));
        Images.Add(new("web/site", "latest", TestImages.DockerImage(4)));
        Images.Add(new("web/site", "list", TestImages.Index([TestImages.DockerImage(5), TestImages.DockerImage(6)], TestImages.DockerManifestList)));
        Images.Add(new("ops/tool", "1.0", TestImages.OciImage(7, layerCount: 3)));
        foreach (var image in Images)
        {
            await client.PushManifestAsync(image.Repository, image.Manifest, image.Tag);
        }

        // A digest garbage collection took (its marker is copied, so a link of it on the target checks the bytes).
        var collections = app.Services.GetRequiredService<Berth.Core.Metadata.IBlobCollectionIndex>();
        var collected = Berth.Oci.Digest.Compute(Berth.Oci.DigestAlgorithm.Sha256, "collected"u8.ToArray());
        await collections.BeginCollectionAsync([collected], app.Clock.GetUtcNow(), CancellationToken.None);
        await collections.FinishCollectionAsync([collected], CancellationToken.None);

        // Pull times and audit entries of the pushes, written as the server writes them.
        using (var pull = await client.GetAsync("/v2/shop/api/manifests/v1"))
        {
            pull.EnsureSuccessStatusCode();
        }

        app.Clock.Advance(TimeSpan.FromMinutes(1));

        // A retention policy and a dry run of it a minute after the pushes (a run and its items in the history; nothing deleted).
        var retention = app.Services.GetRequiredService<Berth.Core.Retention.IRetentionStore>();
        await retention.SetAsync(ProjectName.Parse("shop"), new Berth.Core.Retention.RetentionSettings(null,
            [new Berth.Core.Retention.RetentionRule(Berth.Core.Immutability.PatternFilter.All, Berth.Core.Immutability.PatternFilter.All, false,
                [new Berth.Core.Retention.RetentionCondition.PushedWithin(TimeSpan.FromSeconds(30))])], "0 3 * * *", false, app.Clock.GetUtcNow()), CancellationToken.None);
        var dryRun = await app.Services.GetRequiredService<Berth.Application.Retention.RetentionRunner>().RunAsync(ProjectName.Parse("shop"),
            Berth.Core.Retention.RetentionTrigger.Manual, dryRun: true, new Berth.Application.Access.Caller(null, AuditActorKind.User, "alice", null), CancellationToken.None);
        if (dryRun.Run is not { ArtifactsDeleted: > 0 })
        {
            throw new InvalidOperationException("the installation's retention dry run listed nothing");
        }

        // Scanning (migration 10): an imported advisory database (one record withdrawn; a second import left running),
        // a finished scan and a queued one, a project's scanning policy and allowlist entries of both scopes.
        var advisories = app.Services.GetRequiredService<Berth.Core.Scanning.IAdvisoryStore>();
        var import = await advisories.BeginImportAsync("osv-debian.zip", "carol", app.Clock.GetUtcNow(), TimeSpan.FromHours(1), CancellationToken.None);
        await advisories.AddBatchAsync(import.Import.Id,
        [
            Berth.Core.Scanning.AdvisoryRecordReader.Read("""{"id":"DSA-5000-1","modified":"2024-05-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}"""u8),
            Berth.Core.Scanning.AdvisoryRecordReader.Read("""{"id":"GHSA-xxxx-yyyy-zzzz","modified":"2024-05-02T00:00:00Z","withdrawn":"2024-05-03T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"Zope.Interface"}}]}"""u8),
        ], app.Clock.GetUtcNow(), CancellationToken.None);
        await advisories.FinishImportAsync(import.Import.Id, app.Clock.GetUtcNow(), CancellationToken.None);
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        await advisories.BeginImportAsync("osv-pypi", "carol", app.Clock.GetUtcNow(), TimeSpan.FromHours(1), CancellationToken.None);
        var scans = app.Services.GetRequiredService<Berth.Core.Scanning.IScanResultStore>();
        await scans.UpsertAsync(new Berth.Core.Scanning.ScanResult(Berth.Oci.Digest.Parse(Images[0].Manifest.Digest), Berth.Core.Scanning.ScanStatus.Done, null, import.Import.Id, app.Clock.GetUtcNow(),
            """{"os":{"family":"debian","name":"12"},"packages":[{"name":"openssl","version":"3.0.11-1~deb12u2"}]}""", """[{"id":"DSA-5000-1"}]""",
            new Berth.Core.Scanning.SeverityCounts(0, 0, 0, 1, 0), "DSA-5000-1", app.Clock.GetUtcNow()), CancellationToken.None);
        await scans.EnqueueAsync(Berth.Oci.Digest.Parse(Images[^1].Manifest.Digest), app.Clock.GetUtcNow(), TimeSpan.FromMinutes(10), CancellationToken.None);
        // Unscanned images stay pullable: the migrated server must serve every image (its pull policy is in force).
        var policies = app.Services.GetRequiredService<Berth.Core.Scanning.IScanPolicyStore>();
        await policies.SetPolicyAsync(ProjectName.Parse("shop"), new Berth.Core.Scanning.ScanPolicy(true, Berth.Core.Scanning.BlockSeverity.Critical, false, false, app.Clock.GetUtcNow()), CancellationToken.None);
        await policies.AddAllowAsync(new Berth.Core.Scanning.CveAllowEntry(0, null, "CVE-2024-0001", "server-wide", null, "carol", app.Clock.GetUtcNow()), CancellationToken.None);
        await policies.AddAllowAsync(new Berth.Core.Scanning.CveAllowEntry(0, ProjectName.Parse("shop"), "CVE-2024-0002", "not reachable", app.Clock.GetUtcNow().AddDays(30), "alice", app.Clock.GetUtcNow()), CancellationToken.None);

        // Signatures (migration 12): trusted keys and roots of both scopes, and the signed-only policy on a project of
        // its own without images (the migrated server must serve every image).
        await setup.ProjectAsync("vault");
        var trust = app.Services.GetRequiredService<Berth.Core.Signing.ITrustStore>();
        foreach (var entry in TrustEntries(app.Clock.GetUtcNow()))
        {
            if ((await trust.AddAsync(entry, CancellationToken.None)).Status != Berth.Core.Signing.TrustAddStatus.Added)
            {
                throw new InvalidOperationException($"trust entry {entry.Name} was not added");
            }
        }

        await policies.SetPolicyAsync(ProjectName.Parse("vault"), Berth.Core.Scanning.ScanPolicy.Default with { SignedOnly = true, UpdatedAt = app.Clock.GetUtcNow() }, CancellationToken.None);

        await app.Services.GetRequiredService<PullRecorder>().FlushAsync(CancellationToken.None);
        await app.Services.GetRequiredService<Berth.Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None);

        Credentials.Add(new("alice's token (pull,push; shop)", "alice", aliceSecret));
        Credentials.Add(new("Bob's token (pull)", "Bob", bobSecret));
        Credentials.Add(new("robot shop+ci (pull,push)", robot.FullName, robotSecret));
        Credentials.Add(new("robot web+mirror (pull)", readOnlyRobot.FullName, readOnlyRobotSecret));
        Credentials.Add(new("alice's password", "alice", "alice-password-1"));
        Credentials.Add(new("Bob's password", "Bob", "bob-password-22"));
        Credentials.Add(new("carol's password (administrator)", "carol", "carol-password-333"));
        Credentials.Add(new("alice's revoked token", "alice", revokedSecret));
        Credentials.Add(new("Bob's expired token", "Bob", expiredSecret));
        Credentials.Add(new("Bob's token with alice's name", "alice", bobSecret));
        Credentials.Add(new("carol's wrong password", "carol", "carol-password-334"));
        Listings = await ServerObservation.ListingsAsync(app);
        ObservedAt = app.Clock.GetUtcNow();
        Access = await ServerObservation.AccessAsync(app, Credentials);
        await app.Services.GetRequiredService<PullRecorder>().FlushAsync(CancellationToken.None);
        await app.Services.GetRequiredService<Berth.Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None);

        Directory.CreateDirectory(Template);
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(app.DataPath, "berth.db")};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var vacuum = connection.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $to";
            vacuum.Parameters.AddWithValue("$to", Path.Combine(Template, "berth.db"));
            await vacuum.ExecuteNonQueryAsync();
        }

        CopyFolder(Path.Combine(app.DataPath, "blobs"), Path.Combine(Template, "blobs"));
        CopyFolder(Path.Combine(app.DataPath, "keys"), Path.Combine(Template, "keys"));
    }

    /// <summary>A fresh copy of the installation for one test (deleted with <paramref name="cleanup"/>).</summary>
    public string NewSource(List<string> cleanup)
    {
        var path = Path.Combine(Path.GetTempPath(), "berth-migration-source-" + Guid.NewGuid().ToString("N"));
        CopyFolder(Template, path);
        cleanup.Add(path);
        return path;
    }

    /// <summary>Every committed blob file of a data folder or file store, by digest.</summary>
    public static Dictionary<string, string> BlobFiles(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var blobs = Path.Combine(root, "blobs");
        if (!Directory.Exists(blobs))
        {
            return result;
        }

        foreach (var file in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories))
        {
            var algorithm = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(file)))!;
            result[algorithm + ":" + Path.GetFileName(file)] = file;
        }

        return result;
    }

    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    public static AuthenticationHeaderValue Basic(string user, string secret) => BerthApplication.Basic(user, secret);

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Template, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
    }
}
