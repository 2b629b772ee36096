using System.Net;
using Berth.Core.Access;
using static Berth.Management.Tests.Who;

namespace Berth.Management.Tests;

/// <summary>
/// Every /api/v1 route against every kind of caller: allowed ones succeed, denied ones get 401, 403 or 404 and change
/// nothing (stores and audit log compared before and after). Denied callers go first; each call gets a fresh target
/// from the route's preparation, so an allowed delete does not spoil the next caller's attempt.
/// </summary>
public sealed class PermissionMatrixTests
{
    private static readonly Who[] Everyone = Enum.GetValues<Who>();
    private static readonly Who[] Users = [Admin, Owner, Maintainer, Developer, Reader, Stranger];

    /// <param name="Prepare">Makes the target for call number i; returns the text for <c>{target}</c> in the path.</param>
    private sealed record Route(string Method, string Path, Who[] Allowed, Func<Who, int, object?>? Body = null, Func<World, int, Task<string>>? Prepare = null);

    private static readonly Dictionary<string, Route> Routes = new()
    {
        ["GET me"] = new("GET", "/api/v1/me", [.. Everyone.Except([Anonymous])]),
        ["PUT me/password"] = new("PUT", "/api/v1/me/password", Users,
            (who, _) => new { currentPassword = World.PasswordOf(who), newPassword = World.PasswordOf(who) }),
        ["DELETE me/sessions"] = new("DELETE", "/api/v1/me/sessions", Users),
        ["GET projects"] = new("GET", "/api/v1/projects", Everyone),
        ["POST projects"] = new("POST", "/api/v1/projects", [Admin], (_, i) => new { name = $"new{i}" }),
        ["GET project"] = new("GET", "/api/v1/projects/proj", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken]),
        ["PATCH project"] = new("PATCH", "/api/v1/projects/proj", [Admin, Owner], (_, i) => new { description = $"d{i}" }),
        ["DELETE project"] = new("DELETE", "/api/v1/projects/proj?force=true", [Admin]),
        ["GET members"] = new("GET", "/api/v1/projects/proj/members", [Admin, Owner, Maintainer, Developer, Reader]),
        ["PUT member"] = new("PUT", "/api/v1/projects/proj/members/{target}", [Admin, Owner], (_, _) => new { role = "reader" },
            (w, i) => w.CreateUserInStoreAsync($"t{i}")),
        ["DELETE member"] = new("DELETE", "/api/v1/projects/proj/members/{target}", [Admin, Owner], null, async (w, i) =>
        {
            var name = await w.CreateUserInStoreAsync($"t{i}");
            var user = await w.App.Service<IUserStore>().GetAsync(UserName.Parse(name), default);
            await w.App.Service<IMembershipStore>().AddAsync(ProjectName.Parse(World.Project), user!.Id, ProjectRole.Reader, default);
            return name;
        }),
        ["GET robots"] = new("GET", "/api/v1/projects/proj/robots", [Admin, Owner, Maintainer]),
        ["POST robots"] = new("POST", "/api/v1/projects/proj/robots", [Admin, Owner], (_, i) => new { name = $"r{i}", scope = "pull" }),
        ["GET robot"] = new("GET", "/api/v1/projects/proj/robots/ci", [Admin, Owner, Maintainer]),
        ["PATCH robot"] = new("PATCH", "/api/v1/projects/proj/robots/{target}", [Admin, Owner], (_, _) => new { description = "changed", disabled = true }, CreateRobotAsync),
        ["DELETE robot"] = new("DELETE", "/api/v1/projects/proj/robots/{target}", [Admin, Owner], null, CreateRobotAsync),
        ["GET robot tokens"] = new("GET", "/api/v1/projects/proj/robots/ci/tokens", [Admin, Owner]),
        ["POST robot tokens"] = new("POST", "/api/v1/projects/proj/robots/ci/tokens", [Admin, Owner], (_, i) => new { name = $"t{i}" }),
        ["DELETE robot token"] = new("DELETE", "/api/v1/projects/proj/robots/ci/tokens/{target}", [Admin, Owner], null,
            async (w, i) => (await w.CreateTokenInStoreAsync(TokenOwner.Robot(w.Robot.Id, w.Robot.FullName), $"p{i}")).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["GET project ip-allow"] = new("GET", "/api/v1/projects/proj/ip-allow", [Admin, Owner]),
        ["POST project ip-allow"] = new("POST", "/api/v1/projects/proj/ip-allow", [Admin, Owner], (_, _) => new { network = "127.0.0.0/8" },
            async (w, _) => { await w.SetIpRulesAsync(World.Project); return string.Empty; }),
        ["DELETE project ip-allow"] = new("DELETE", "/api/v1/projects/proj/ip-allow/{target}", [Admin, Owner], null,
            async (w, i) => (await w.SetIpRulesAsync(World.Project, "127.0.0.0/8", $"10.{i}.0.0/16"))[1].ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["GET tokens"] = new("GET", "/api/v1/tokens", Users),
        ["POST tokens"] = new("POST", "/api/v1/tokens", Users, (_, i) => new { name = $"t{i}", scope = "pull" }),
        ["DELETE token"] = new("DELETE", "/api/v1/tokens/{target}", [Admin, Owner], null,
            async (w, i) => (await w.CreateTokenInStoreAsync(TokenOwner.User(w.OwnerUser.Id, "owner"), $"p{i}")).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["GET users"] = new("GET", "/api/v1/users", [Admin]),
        ["POST users"] = new("POST", "/api/v1/users", [Admin], (_, i) => new { name = $"u{i}", password = "long-enough-1" }),
        ["GET user"] = new("GET", "/api/v1/users/reader", [Admin, Reader]),
        ["PATCH user"] = new("PATCH", "/api/v1/users/{target}", [Admin], (_, _) => new { disabled = true }, (w, i) => w.CreateUserInStoreAsync($"u{i}")),
        ["DELETE user"] = new("DELETE", "/api/v1/users/{target}", [Admin], null, (w, i) => w.CreateUserInStoreAsync($"u{i}")),
        ["GET ip-allow"] = new("GET", "/api/v1/ip-allow", [Admin]),
        ["POST ip-allow"] = new("POST", "/api/v1/ip-allow", [Admin], (_, _) => new { network = "127.0.0.0/8" },
            async (w, _) => { await w.SetIpRulesAsync(null); return string.Empty; }),
        ["DELETE ip-allow"] = new("DELETE", "/api/v1/ip-allow/{target}", [Admin], null,
            async (w, i) => (await w.SetIpRulesAsync(null, "127.0.0.0/8", $"10.{i}.0.0/16"))[1].ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["GET audit"] = new("GET", "/api/v1/audit", [Admin]),
        ["GET audit of project"] = new("GET", "/api/v1/audit?project=proj", [Admin, Owner]),
        ["GET repositories"] = new("GET", "/api/v1/projects/proj/repositories", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken]),
        ["GET tags"] = new("GET", "/api/v1/repositories/tags?repository={target}", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken], null, PushImageAsync),
        ["DELETE tag"] = new("DELETE", "/api/v1/repositories/tags?repository={target}&tag=v1", [Admin, Owner, Maintainer, AdminToken, RobotToken], null, PushImageAsync),
        ["DELETE repository"] = new("DELETE", "/api/v1/repositories?repository={target}", [Admin, Owner, Maintainer, AdminToken, RobotToken], null, PushImageAsync),
        ["GET system storage"] = new("GET", "/api/v1/system/storage", [Admin]),
        ["GET system gc"] = new("GET", "/api/v1/system/gc", [Admin]),
        ["POST system gc"] = new("POST", "/api/v1/system/gc", [Admin], (_, _) => new { dryRun = true }),
        ["GET system gc run"] = new("GET", "/api/v1/system/gc/{target}", [Admin], null, async (w, _) =>
        {
            var collector = w.App.Service<Berth.Core.Gc.GarbageCollector>();
            var run = (await collector.TryStartAsync(true, "test", default))!;
            await collector.RunAsync(run, default);
            return run.Id;
        }),
        ["GET openapi"] = new("GET", "/api/v1/openapi.json", Everyone),
        ["GET vulndb"] = new("GET", "/api/v1/vulndb", [.. Everyone.Except([Anonymous])]),
        ["POST vulndb imports"] = new("POST", "/api/v1/vulndb/imports", [Admin], (_, i) => new { source = $"s{i}" }),
        ["GET vulndb import"] = new("GET", "/api/v1/vulndb/imports/{target}", [Admin], null, BeginImportAsync),
        ["POST vulndb records"] = new("POST", "/api/v1/vulndb/imports/{target}/records", [Admin],
            (_, i) => new[] { new { id = $"R-{i}", modified = "2024-01-01T00:00:00Z" } }, BeginImportAsync),
        ["POST vulndb finish"] = new("POST", "/api/v1/vulndb/imports/{target}/finish", [Admin], null, BeginImportAsync),
        ["GET scan-policy"] = new("GET", "/api/v1/projects/proj/scan-policy", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken]),
        ["PUT scan-policy"] = new("PUT", "/api/v1/projects/proj/scan-policy", [Admin, Owner, Maintainer], (_, i) => new { blockUnscanned = i % 2 == 0 }),
        ["GET cve-allowlist"] = new("GET", "/api/v1/cve-allowlist", [Admin]),
        ["POST cve-allowlist"] = new("POST", "/api/v1/cve-allowlist", [Admin], (_, i) => new { vulnerability = $"CVE-2024-{i}" }),
        ["DELETE cve-allowlist"] = new("DELETE", "/api/v1/cve-allowlist/{target}", [Admin], null, (w, i) => AllowAsync(w, null, i)),
        ["GET project cve-allowlist"] = new("GET", "/api/v1/projects/proj/cve-allowlist", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken]),
        ["POST project cve-allowlist"] = new("POST", "/api/v1/projects/proj/cve-allowlist", [Admin, Owner, Maintainer], (_, i) => new { vulnerability = $"CVE-2024-{i}" }),
        ["GET scan"] = new("GET", "/api/v1/repositories/scan?repository={target}&reference=v1", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken], null, PushImageAsync),
        ["POST scan"] = new("POST", "/api/v1/repositories/scan?repository={target}&reference=v1", [Admin, Owner, Maintainer, Developer, AdminToken, RobotToken], null, PushImageAsync),
        ["GET signature"] = new("GET", "/api/v1/repositories/signature?repository={target}&reference=v1", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken], null, PushImageAsync),
        ["GET sbom"] = new("GET", "/api/v1/repositories/sbom?repository={target}&reference=v1", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken], null, PushScannedImageAsync),
        ["DELETE project cve-allowlist"] = new("DELETE", "/api/v1/projects/proj/cve-allowlist/{target}", [Admin, Owner, Maintainer], null, (w, i) => AllowAsync(w, World.Project, i)),
        ["GET trust"] = new("GET", "/api/v1/trust", [.. Everyone.Except([Anonymous])]),
        ["POST trust"] = new("POST", "/api/v1/trust", [Admin], (_, i) => new { name = $"k{i}", pem = TrustTests.EcPublicKeyPem() }),
        ["DELETE trust"] = new("DELETE", "/api/v1/trust/{target}", [Admin], null, (w, i) => TrustAsync(w, null, i)),
        ["GET project trust"] = new("GET", "/api/v1/projects/proj/trust", [Admin, Owner, Maintainer, Developer, Reader, AdminToken, RobotToken]),
        ["POST project trust"] = new("POST", "/api/v1/projects/proj/trust", [Admin, Owner, Maintainer], (_, i) => new { name = $"k{i}", pem = TrustTests.EcPublicKeyPem() }),
        ["DELETE project trust"] = new("DELETE", "/api/v1/projects/proj/trust/{target}", [Admin, Owner, Maintainer], null, (w, i) => TrustAsync(w, World.Project, i)),
    };

    public static TheoryData<string> RouteNames => [.. Routes.Keys];

    /// <summary>The table covers the contract: one row per route of docs/management-api.md.</summary>
    [Fact]
    public void Matrix_CoversEveryContractRoute() =>
        Assert.Equal(
            OpenApiTests.ContractRoutes.Length,
            Routes.Values.Select(r => r.Method + " " + r.Path.Split('?')[0].Replace("/proj/", "/{project}/", StringComparison.Ordinal)).Distinct().Count());

    [Theory]
    [MemberData(nameof(RouteNames))]
    public async Task Route_EachCallerKind_AllowedOrDeniedWithoutChange(string name)
    {
        var route = Routes[name];
        using var world = await World.CreateAsync();
        var order = Everyone.Where(w => !route.Allowed.Contains(w)).Concat(route.Allowed).ToArray();
        var failures = new List<string>();
        for (var i = 0; i < order.Length; i++)
        {
            var who = order[i];
            var target = route.Prepare is null ? string.Empty : await route.Prepare(world, i);
            var path = route.Path.Replace("{target}", target, StringComparison.Ordinal);
            var allowed = route.Allowed.Contains(who);
            var before = allowed ? null : await world.SnapshotAsync();
            using var response = await world[who].SendJsonAsync(new HttpMethod(route.Method), path, route.Body?.Invoke(who, i));
            var status = (int)response.StatusCode;
            if (allowed && status is < 200 or > 299)
            {
                failures.Add($"{who}: expected success, got {status} {await response.Content.ReadAsStringAsync()}");
            }
            else if (!allowed)
            {
                if (response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound))
                {
                    failures.Add($"{who}: expected 401/403/404, got {status} {await response.Content.ReadAsStringAsync()}");
                }
                else if (await world.SnapshotAsync() != before)
                {
                    failures.Add($"{who}: denied ({status}) but something changed");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{route.Method} {route.Path}:\n" + string.Join("\n", failures));
    }

    /// <summary>An image pushed as <c>proj/app{i}/img:v1</c> (a name with slashes below the project).</summary>
    private static async Task<string> PushImageAsync(World world, int i)
    {
        var repository = $"{World.Project}/app{i}/img";
        await Berth.Testing.RegistryClientExtensions.PushManifestAsync(world.App.Admin, repository, Berth.Testing.TestImages.OciImage(i), "v1");
        return repository;
    }

    /// <summary>As <see cref="PushImageAsync"/>, with a finished scan stored for it (its SBOM can be made).</summary>
    private static async Task<string> PushScannedImageAsync(World world, int i)
    {
        var repository = await PushImageAsync(world, i);
        await Berth.Testing.TestScans.StoreAsync(world.App.App.Services, Berth.Testing.TestScans.Done(Berth.Testing.TestImages.OciImage(i).Digest));
        return repository;
    }

    /// <summary>A new running import (the previous one abandoned at once), as its id.</summary>
    private static async Task<string> BeginImportAsync(World world, int i)
    {
        var start = await world.App.Service<Berth.Core.Scanning.IAdvisoryStore>().BeginImportAsync($"s{i}", "admin", DateTimeOffset.UtcNow, TimeSpan.Zero, default);
        return start.Import.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> AllowAsync(World world, string? project, int i)
    {
        var id = $"CVE-2023-{i}";
        await world.App.Service<Berth.Core.Scanning.IScanPolicyStore>().AddAllowAsync(
            new Berth.Core.Scanning.CveAllowEntry(0, project is null ? null : ProjectName.Parse(project), id, "", null, "admin", DateTimeOffset.UtcNow), default);
        return id;
    }

    private static async Task<string> TrustAsync(World world, string? project, int i)
    {
        var name = $"key{i}";
        await world.App.Service<Berth.Core.Signing.ITrustStore>().AddAsync(new Berth.Core.Signing.TrustEntry(0, project is null ? null : ProjectName.Parse(project), name,
            Berth.Core.Signing.TrustKind.Key, TrustTests.EcPublicKeyPem(), [], "fingerprint", "admin", DateTimeOffset.UtcNow), default);
        return name;
    }

    private static async Task<string> CreateRobotAsync(World world, int i)
    {
        var result = await world.App.Service<IRobotAccountStore>().CreateAsync(ProjectName.Parse(World.Project), $"r{i}", string.Empty, Core.Registry.RegistryActions.Pull, default);
        return result.Robot!.Name;
    }
}
