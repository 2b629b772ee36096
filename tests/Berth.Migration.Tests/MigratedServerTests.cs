using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Application.Audit;
using Berth.Testing;
using Berth.Testing.Servers;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Migration.Tests;

/// <summary>
/// The proof of <c>berth admin migrate</c> (issue 12): an embedded installation migrated to PostgreSQL + S3, then a
/// server started on the migrated database and bucket serves every image byte-identical, lists what the source listed,
/// lets every credential do exactly what it could do on the source (and nothing more), and takes new writes into every
/// table.
/// </summary>
[RequiresServer(TestPostgres.Server, TestPostgres.EndpointVariable, TestPostgres.DefaultEndpoint)]
[RequiresServer(TestS3.Server, TestS3.EndpointVariable, TestS3.DefaultEndpoint)]
public sealed class MigratedServerTests(MigratedInstallation migrated) : IClassFixture<MigratedInstallation>
{
    private BerthApplication Server => migrated.Server ?? throw new InvalidOperationException(
        $"the migration failed (exit {migrated.Migration.Code}): {migrated.Migration.Error}");

    [Fact]
    public async Task Migrate_ToPostgresAndS3_CopiesEveryBlobIntoTheBucket()
    {
        Assert.True(migrated.Migration.Code == 0, $"exit {migrated.Migration.Code}: {migrated.Migration.Error}");
        Assert.Contains("Metadata: copied", migrated.Migration.Output, StringComparison.Ordinal);
        var expected = EmbeddedInstallation.BlobFiles(migrated.SourceFolder);
        var keys = await migrated.Bucket.KeysAsync(MigratedInstallation.Prefix + "/");
        var blobKeys = keys.Where(k => k.StartsWith(MigratedInstallation.Prefix + "/blobs/", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(expected.Count, blobKeys.Count(k => expected.ContainsKey("sha256:" + k[(k.LastIndexOf('/') + 1)..])));
        Assert.DoesNotContain(keys, k => k.StartsWith(MigratedInstallation.Prefix + "/uploads/", StringComparison.Ordinal) && k.Contains("migrat", StringComparison.Ordinal));
        foreach (var (digest, path) in expected)
        {
            var hex = digest["sha256:".Length..];
            using var read = await migrated.Bucket.Client.GetObjectAsync(migrated.Bucket.Name, $"{MigratedInstallation.Prefix}/blobs/sha256/{hex[..2]}/{hex}");
            using var bytes = new MemoryStream();
            await read.ResponseStream.CopyToAsync(bytes);
            Assert.True(Same(bytes.ToArray(), await File.ReadAllBytesAsync(path)), $"{digest} differs in the bucket");
        }
    }

    [Fact]
    public async Task MigratedServer_EveryImage_ServedByteIdenticalByTagAndDigest()
    {
        using var client = Server.CreateClient();
        var checkedManifests = 0;
        var checkedBlobs = 0;
        foreach (var image in migrated.Source.Images)
        {
            await AssertManifestAsync(client, image.Repository, image.Tag, image.Manifest);
            checkedManifests++;
            foreach (var manifest in image.Manifest.Children.Prepend(image.Manifest))
            {
                await AssertManifestAsync(client, image.Repository, manifest.Digest, manifest);
                checkedManifests++;
                foreach (var blob in manifest.Blobs)
                {
                    using var response = await client.GetAsync($"/v2/{image.Repository}/blobs/{TestImages.Sha256(blob)}");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.True(Same(blob, await response.Content.ReadAsByteArrayAsync()),
                        $"{image.Repository} blob {TestImages.Sha256(blob)} differs");
                    checkedBlobs++;
                }
            }
        }

        // Every platform of both indexes, every layer including the one of several MiB.
        Assert.True(checkedManifests >= 16, $"{checkedManifests} manifests");
        Assert.True(checkedBlobs >= 20, $"{checkedBlobs} blobs");
    }

    [Fact]
    public void MigratedServer_CatalogAndTagsLists_EqualTheSources()
    {
        _ = Server;
        Assert.Equal(migrated.Source.Listings, migrated.Listings);
        Assert.Contains(migrated.Listings, l => l.StartsWith("catalog: 200 ", StringComparison.Ordinal) && l.Contains("shop/big", StringComparison.Ordinal));
        Assert.Equal(1 + 4, migrated.Listings.Count);
    }

    [Fact]
    public void MigratedServer_EveryCredential_HasTheAccessItHadOnTheSource()
    {
        _ = Server;
        var source = migrated.Source.Access;
        var target = migrated.Access;
        var differences = source.Zip(target).Where(p => p.First != p.Second).Select(p => $"source: {p.First}\n  migrated: {p.Second}").ToList();
        Assert.True(differences.Count == 0 && source.Count == target.Count,
            $"{differences.Count} of {source.Count} answers differ ({target.Count} on the migrated server):\n" + string.Join('\n', differences.Take(20)));

        // What the equal answers are (so that two servers refusing everything would not pass).
        Assert.Contains("alice's token (pull,push; shop): basic push shop/api: 201", target);
        Assert.Contains("alice's token (pull,push; shop): token shop/api: 200 grants [repository:shop/api:pull,push]", target);
        Assert.Contains("alice's token (pull,push; shop): bearer push shop/api: 201", target);
        Assert.Contains("robot shop+ci (pull,push): basic push shop/api: 201", target);
        Assert.Contains("robot shop+ci (pull,push): bearer pull shop/api: 200", target);
        Assert.Contains("robot web+mirror (pull): basic pull web/site: 200", target);
        Assert.Contains("robot web+mirror (pull): token web/site: 200 grants [repository:web/site:pull]", target);
        Assert.Contains(target, l => l.StartsWith("robot web+mirror (pull): basic push web/site: 40", StringComparison.Ordinal));
        Assert.Contains(target, l => l.StartsWith("robot web+mirror (pull): bearer push web/site: 40", StringComparison.Ordinal));
        Assert.Contains("Bob's token (pull): basic pull web/site: 200", target);
        Assert.Contains(target, l => l.StartsWith("Bob's token (pull): basic push web/site: 40", StringComparison.Ordinal));
        Assert.Contains("alice's password: basic pull ops/tool: 200", target);
        Assert.Contains("Bob's password: token web/site: 200 grants [repository:web/site:pull]", target);
        Assert.Contains("carol's password (administrator): basic push ops/tool: 201", target);
        foreach (var refused in new[] { "alice's revoked token", "Bob's expired token", "Bob's token with alice's name", "carol's wrong password" })
        {
            var lines = target.Where(l => l.StartsWith(refused + ":", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(lines);
            Assert.All(lines, l => Assert.Matches(@": (401|429)$|basic catalog: (401|429) ", l));
        }

        Assert.Contains("admin from 127.0.0.1: pull ops/tool: 200", target);
        Assert.Contains("admin from 192.168.7.7: pull shop/api: 200", target);
        Assert.Contains("admin from 192.168.7.7: pull ops/tool: 403", target);
        Assert.Contains("admin from 172.16.0.9: pull shop/api: 403", target);
    }

    [Fact]
    public async Task MigratedServer_ProjectQuotas_AreCopied()
    {
        var quotas = Server.Services.GetRequiredService<Berth.Core.Quotas.IProjectQuotaStore>();

        var web = await quotas.GetUsageAsync("web", CancellationToken.None);
        Assert.Equal(5L << 30, web?.QuotaBytes);
        Assert.True(web!.UsedBytes > 0);
        Assert.Null(await quotas.GetQuotaAsync("shop", CancellationToken.None));
    }

    [Fact]
    public async Task MigratedServer_FirstInsertIntoEveryTable_Succeeds()
    {
        using var admin = Server.CreateClient();

        // projects, users, project_members, robot_accounts, access_tokens (robot and personal), ip_allow_rules, audit_log
        await CreatedAsync(admin, "/api/v1/projects", new { name = "fresh", description = "after the migration" });
        await CreatedAsync(admin, "/api/v1/users", new { name = "dave", password = "dave-password-4444" });
        await OkAsync(admin, HttpMethod.Put, "/api/v1/projects/fresh/members/dave", new { role = "developer" });
        var robot = await CreatedAsync(admin, "/api/v1/projects/fresh/robots", new { name = "deploy", scope = "pull,push" });
        var robotToken = await CreatedAsync(admin, "/api/v1/projects/fresh/robots/deploy/tokens", new { name = "pipeline", expires = "30d" });
        var robotName = robot.GetProperty("fullName").GetString()!;
        await CreatedAsync(admin, "/api/v1/projects/fresh/ip-allow", new { network = "127.0.0.0/8", note = "loopback" });
        await CreatedAsync(admin, "/api/v1/ip-allow", new { network = "203.0.113.0/24", note = "documentation" });
        using var dave = Server.CreateClient("dave", "dave-password-4444");
        var daveToken = await CreatedAsync(dave, "/api/v1/tokens", new { name = "laptop", scope = "pull,push" });

        // repositories, uploads, blobs, repository_blobs, manifests, manifest_references, tags: a chunked push by the
        // new robot into a new repository, then a multi-platform index by the new user's token.
        using var pusher = Server.CreateClient(robotName, robotToken.GetProperty("token").GetString()!);
        var layer = TestImages.Bytes(70_000, 2026);
        var location = await pusher.StartUploadAsync("fresh/app");
        using (var patch = await pusher.SendAsync(HttpMethod.Patch, location, layer[..40_000], ("Content-Range", "0-39999"), ("Content-Type", "application/octet-stream")))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!.OriginalString;
        }

        var separator = location.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        using (var put = await pusher.SendAsync(HttpMethod.Put, $"{location}{separator}digest={TestImages.Sha256(layer)}", layer[40_000..],
            ("Content-Range", "40000-69999"), ("Content-Type", "application/octet-stream")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var config = TestImages.Config("fresh");
        var image = new TestManifest(TestImages.OciManifest,
            TestImages.OciManifestBody(TestDescriptor.Of(TestImages.OciConfig, config), [TestDescriptor.Of(TestImages.OciLayer, layer)]), [config, layer], []);
        await pusher.PushManifestAsync("fresh/app", image, "v1");
        using var withToken = Server.CreateClient("dave", daveToken.GetProperty("token").GetString()!);
        var index = TestImages.Index([TestImages.OciImage(40), TestImages.DockerImage(41)]);
        await withToken.PushManifestAsync("fresh/app", index, "multi");

        // and into an existing repository, whose copied rows are next to the new ones
        var more = TestImages.OciImage(42);
        await pusher.PushManifestAsync("fresh/app", more, "more");
        await admin.PushManifestAsync("shop/api", TestImages.OciImage(43), "after-migration");

        // Read back what was written: the images, the listings, the audit entries (written in the background).
        await AssertManifestAsync(admin, "fresh/app", "v1", image);
        await AssertManifestAsync(admin, "fresh/app", "multi", index);
        using (var blob = await admin.GetAsync($"/v2/fresh/app/blobs/{TestImages.Sha256(layer)}"))
        {
            Assert.True(Same(layer, await blob.Content.ReadAsByteArrayAsync()));
        }

        Assert.Contains("fresh/app", await admin.GetCatalogAsync());
        Assert.Equal(["after-migration", "multi", "v1"], (await admin.GetTagsAsync("shop/api"))!.Order(StringComparer.Ordinal));
        await Server.Services.GetRequiredService<AuditRecorder>().FlushAsync(CancellationToken.None);
        using var audit = await admin.GetAsync("/api/v1/audit?limit=200");
        var auditBody = await audit.Content.ReadAsStringAsync();
        Assert.True(audit.StatusCode == HttpStatusCode.OK, auditBody);
        var fresh = JsonDocument.Parse(auditBody).RootElement.GetProperty("items").EnumerateArray()
            .Where(e => e.GetProperty("project").ValueKind == JsonValueKind.String && e.GetProperty("project").GetString() == "fresh")
            .Select(e => e.GetProperty("id").GetInt64())
            .ToList();
        Assert.NotEmpty(fresh);
        var copiedMax = MaxSourceAuditId();
        Assert.All(fresh, id => Assert.True(id > copiedMax, $"new audit entry {id} is not past the copied {copiedMax}"));
    }

    [Fact]
    public async Task MigratedServer_UsersSignInWithTheirPasswords_AndWrongPasswordsAreRefused()
    {
        foreach (var (user, password) in new[] { ("alice", "alice-password-1"), ("Bob", "bob-password-22"), ("carol", "carol-password-333"), ("admin", BerthApplication.AdminPassword) })
        {
            using var client = Server.CreateClient(user, password);
            using var me = await client.GetAsync("/api/v1/me");
            var body = await me.Content.ReadAsStringAsync();
            Assert.True(me.StatusCode == HttpStatusCode.OK, $"{user}: {(int)me.StatusCode} {body}");
            Assert.Contains(user, body, StringComparison.OrdinalIgnoreCase);
        }

        using var wrong = Server.CreateClient("Bob", "bob-password-23");
        using var refused = await wrong.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private long MaxSourceAuditId()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(migrated.SourceFolder, "berth.db")};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(id) FROM audit_log";
        return (long)command.ExecuteScalar()!;
    }

    private static bool Same(byte[] expected, byte[] actual) => expected.AsSpan().SequenceEqual(actual);

    private static async Task AssertManifestAsync(HttpClient client, string repository, string reference, TestManifest manifest)
    {
        using var response = await client.GetAsync($"/v2/{repository}/manifests/{reference}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{repository}:{reference}: {(int)response.StatusCode}");
        Assert.True(Same(manifest.Body, await response.Content.ReadAsByteArrayAsync()), $"{repository}:{reference} differs");
        Assert.Equal(manifest.Digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(manifest.MediaType, response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<JsonElement> CreatedAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task OkAsync(HttpClient client, HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
