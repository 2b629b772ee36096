using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Berth.Core.Signing;

namespace Berth.Management.Tests;

/// <summary>
/// Signature trust through HTTP (<c>/api/v1/trust</c>, <c>/api/v1/projects/{project}/trust</c>): keys and root
/// certificates checked before they are stored, who may change what, hostile bodies, audit, a deleted project's trust
/// not passing to its successor, and the signed-only switch of the scan policy.
/// </summary>
public sealed class TrustTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    internal static string EcPublicKeyPem(ECCurve? curve = null)
    {
        using var key = ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);
        return key.ExportSubjectPublicKeyInfoPem();
    }

    private static string Certificate(bool ca = true, DateTimeOffset? notAfter = null, string subject = "CN=Berth Test Root")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        var end = notAfter ?? DateTimeOffset.UtcNow.AddYears(1);
        using var certificate = request.CreateSelfSigned(end.AddYears(-2), end);
        return certificate.ExportCertificatePem();
    }

    [Fact]
    public async Task ProjectKey_AddListRemove_ByMaintainersReadByMembersAudited()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.CreateUserAsync("rob");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        await _app.AddMemberAsync("shop", "rob", "reader");
        var pem = EcPublicKeyPem();

        using (var added = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "ci", pem }))
        {
            await Expect.StatusAsync(added, HttpStatusCode.Created);
            var json = await added.ReadJsonAsync();
            Assert.Equal(("shop", "ci", "key", "mia"), (json.GetProperty("project").GetString(), json.GetProperty("name").GetString(),
                json.GetProperty("kind").GetString(), json.GetProperty("createdBy").GetString()));
            Assert.Empty(json.GetProperty("identities").EnumerateArray());
            Assert.Contains("-----BEGIN PUBLIC KEY-----", json.GetProperty("pem").GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(json.GetProperty("fingerprint").GetString()));
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("rob").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "rob", pem = EcPublicKeyPem() })).StatusCode);
        var listed = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/trust");
        Assert.Equal(["ci"], listed.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        // The name is unique in the project, whatever its case; another key under a new name is fine.
        await Expect.ProblemAsync(await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "CI", pem = EcPublicKeyPem() }), HttpStatusCode.Conflict);
        using (var second = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "release", pem = EcPublicKeyPem(ECCurve.NamedCurves.nistP384) }))
        {
            await Expect.StatusAsync(second, HttpStatusCode.Created);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("rob").DeleteAsync("/api/v1/projects/shop/trust/ci")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _app.As("mia").DeleteAsync("/api/v1/projects/shop/trust/CI")).StatusCode);
        await Expect.ProblemAsync(await _app.As("mia").DeleteAsync("/api/v1/projects/shop/trust/ci"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await _app.As("mia").DeleteAsync("/api/v1/projects/shop/trust/..%2F..%2Fx"), HttpStatusCode.NotFound);
        Assert.Equal(["release"], (await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/trust")).GetProperty("items").EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        var adds = await _app.AuditAsync(TrustAuditActions.TrustAdd);
        Assert.Equal(2, adds.Count);
        Assert.All(adds, e => Assert.Equal(("mia", "shop"), (e.ActorName, e.Project?.Value)));
        var removed = Assert.Single(await _app.AuditAsync(TrustAuditActions.TrustRemove));
        Assert.Equal(("mia", "shop"), (removed.ActorName, removed.Project?.Value));
    }

    [Fact]
    public async Task ServerWide_AdministratorsChangeSignedInCallersRead()
    {
        await _app.CreateUserAsync("mia");
        using (var added = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/trust", new { name = "company", pem = EcPublicKeyPem() }))
        {
            await Expect.StatusAsync(added, HttpStatusCode.Created);
            Assert.Equal(JsonValueKind.Null, (await added.ReadJsonAsync()).GetProperty("project").ValueKind);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/trust", new { name = "mine", pem = EcPublicKeyPem() })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _app.As("mia").DeleteAsync("/api/v1/trust/company")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Anonymous.GetAsync("/api/v1/trust")).StatusCode);
        Assert.Equal(["company"], (await _app.As("mia").GetJsonAsync("/api/v1/trust")).GetProperty("items").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NoContent, (await _app.Admin.DeleteAsync("/api/v1/trust/company")).StatusCode);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/trust")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Root_NeedsIdentitiesAndACaCertificateStillValid()
    {
        await _app.CreateProjectAsync("shop");
        var root = Certificate();

        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "root", pem = root }), "identities");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust",
            new { name = "root", pem = root, identities = new[] { "subject=CN=x" } }), "identities");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust",
            new { name = "leaf", pem = Certificate(ca: false), identities = new[] { "*" } }), "pem");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust",
            new { name = "old", pem = Certificate(notAfter: _app.Service<TimeProvider>().GetUtcNow().AddDays(-1)), identities = new[] { "*" } }), "pem");
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust",
            new { name = "two", pem = root + Certificate(), identities = new[] { "*" } }), "pem");

        using var added = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust",
            new { name = "notary-root", pem = root, identities = new[] { "x509.subject: O=Acme, CN=ci", "email:ci@example.com" } });
        await Expect.StatusAsync(added, HttpStatusCode.Created);
        var json = await added.ReadJsonAsync();
        Assert.Equal("root", json.GetProperty("kind").GetString());
        Assert.Equal(["x509.subject: O=Acme, CN=ci", "email:ci@example.com"], json.GetProperty("identities").EnumerateArray().Select(i => i.GetString()));
        Assert.Equal(64, json.GetProperty("fingerprint").GetString()!.Length);
    }

    [Fact]
    public async Task HostileBodies_AreClearProblemsAndStoreNothing()
    {
        await _app.CreateProjectAsync("shop");
        using var rsa = RSA.Create(1024);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var cases = new (object Body, string Field)[]
        {
            (new { pem = EcPublicKeyPem() }, "name"),
            (new { name = "", pem = EcPublicKeyPem() }, "name"),
            (new { name = "-lead", pem = EcPublicKeyPem() }, "name"),
            (new { name = "a/b", pem = EcPublicKeyPem() }, "name"),
            (new { name = new string('k', TrustLimits.MaxNameLength + 1), pem = EcPublicKeyPem() }, "name"),
            (new { name = "k" }, "pem"),
            (new { name = "k", pem = "not a key" }, "pem"),
            (new { name = "k", pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }, "pem"),
            (new { name = "k", pem = ec.ExportPkcs8PrivateKeyPem() }, "pem"),
            (new { name = "k", pem = rsa.ExportSubjectPublicKeyInfoPem() }, "pem"),
            (new { name = "k", pem = EcPublicKeyPem() + Certificate() }, "pem"),
            (new { name = "k", pem = EcPublicKeyPem(), identities = new[] { "*" } }, "identities"),
            (new { name = "k", pem = Certificate(), identities = Enumerable.Repeat("*", TrustLimits.MaxIdentities + 1).ToArray() }, "identities"),
            (new { name = "k", pem = Certificate(), identities = new[] { "email:a\u0000b" } }, "identities"),
        };
        foreach (var (body, field) in cases)
        {
            await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", body), field);
        }

        using (var unknown = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "k", pem = EcPublicKeyPem(), extra = 1 }))
        {
            await Expect.ProblemAsync(unknown, HttpStatusCode.BadRequest);
        }

        using (var huge = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "k", pem = new string('A', 200_000) }))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        }

        await Expect.ProblemAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/nowhere/trust", new { name = "k", pem = EcPublicKeyPem() }), HttpStatusCode.NotFound);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/trust")).GetProperty("items").EnumerateArray());
        Assert.Empty(await _app.AuditAsync(TrustAuditActions.TrustAdd));
    }

    [Fact]
    public async Task ScopeLimit_IsAConflict()
    {
        await _app.CreateProjectAsync("shop");
        for (var i = 0; i < TrustLimits.MaxEntriesPerScope; i++)
        {
            using var ok = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = $"k{i}", pem = EcPublicKeyPem() });
            await Expect.StatusAsync(ok, HttpStatusCode.Created);
        }

        await Expect.ProblemAsync(await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "one-more", pem = EcPublicKeyPem() }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task DeletedProject_TrustDoesNotPassToItsSuccessor()
    {
        await _app.CreateProjectAsync("shop");
        using (var added = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/trust", new { name = "ci", pem = EcPublicKeyPem() }))
        {
            await Expect.StatusAsync(added, HttpStatusCode.Created);
        }

        using (var policy = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { signedOnly = true }))
        {
            await Expect.StatusAsync(policy, HttpStatusCode.OK);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _app.Admin.DeleteAsync("/api/v1/projects/shop")).StatusCode);
        await _app.CreateProjectAsync("shop");

        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/trust")).GetProperty("items").EnumerateArray());
        Assert.False((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/scan-policy")).GetProperty("signedOnly").GetBoolean());
    }

    [Fact]
    public async Task ScanPolicy_SignedOnly_RoundTripsKeepsOtherMembersAndIsAudited()
    {
        await _app.CreateProjectAsync("shop");
        Assert.False((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/scan-policy")).GetProperty("signedOnly").GetBoolean());
        using (var set = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { blockSeverity = "HIGH" }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
        }

        using (var set = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { signedOnly = true }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
            var json = await set.ReadJsonAsync();
            Assert.Equal((true, "HIGH"), (json.GetProperty("signedOnly").GetBoolean(), json.GetProperty("blockSeverity").GetString()));
        }

        var read = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/scan-policy");
        Assert.Equal((true, "HIGH", true), (read.GetProperty("signedOnly").GetBoolean(), read.GetProperty("blockSeverity").GetString(), read.GetProperty("scanOnPush").GetBoolean()));
        await Expect.ValidationAsync(await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/scan-policy", new { signedOnly = "yes" }), "signedOnly");
        var audit = await _app.AuditAsync(Berth.Core.Scanning.ScanAuditActions.ScanPolicySet);
        Assert.Contains(audit, e => e.Detail is { } d && d.Contains("\"signedOnly\":true", StringComparison.Ordinal));
    }
}
