using System.Net;
using System.Text.Json;
using Berth.Application.Retention;
using Berth.Core.Access;
using Berth.Core.Jobs;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// Retention through HTTP: <c>/api/v1/projects/{project}/retention</c> (policy, validation, who may), runs (dry and real,
/// through the registry's own delete path), history and audit, the per-project lock and the schedule.
/// </summary>
public sealed class RetentionTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static long Size(TestManifest manifest) => manifest.Body.LongLength + manifest.Blobs.Distinct(ByteArrays.Instance).Sum(b => (long)b.Length);

    private async Task SetupMembersAsync()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.CreateUserAsync("rob");
        await _app.CreateUserAsync("dev");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        await _app.AddMemberAsync("shop", "rob", "reader");
        await _app.AddMemberAsync("shop", "dev", "developer");
    }

    private async Task<JsonElement> RunAsync(HttpClient client, bool dryRun, string project = "shop")
    {
        using var response = await client.SendJsonAsync(HttpMethod.Post, $"/api/v1/projects/{project}/retention/runs", new { dryRun });
        await Expect.StatusAsync(response, HttpStatusCode.Created);
        return await response.ReadJsonAsync();
    }

    private async Task SetLabAsync(HttpClient client, string project = "shop")
    {
        using var response = await client.SendJsonAsync(HttpMethod.Put, $"/api/v1/projects/{project}/retention", new { preset = "lab" });
        await Expect.StatusAsync(response, HttpStatusCode.OK);
    }

    /// <summary>
    /// shop/app: an untagged image pushed first; t01..t12 one minute apart, t01 also tagged latest; a signature of t02
    /// (a referrer by subject) and of t05; then two hours pass (beyond the one-hour grace for untagged artifacts).
    /// </summary>
    private async Task<Dictionary<string, TestManifest>> PushLabRepositoryAsync()
    {
        var images = new Dictionary<string, TestManifest>(StringComparer.Ordinal);
        images["untagged"] = OciImage(100);
        await _app.Admin.PushManifestAsync("shop/app", images["untagged"]);
        for (var i = 1; i <= 12; i++)
        {
            _app.App.Clock.Advance(TimeSpan.FromMinutes(1));
            var tag = $"t{i:00}";
            images[tag] = OciImage(i);
            await _app.Admin.PushManifestAsync("shop/app", images[tag], tag);
            if (i == 1)
            {
                await _app.Admin.PushManifestAsync("shop/app", images[tag], "latest"); // the same minute: a push refreshes the push time
            }
        }

        images["sig02"] = Artifact("application/vnd.test.signature", Bytes(40, 202), images["t02"].Descriptor());
        images["sig05"] = Artifact("application/vnd.test.signature", Bytes(40, 205), images["t05"].Descriptor());
        await _app.Admin.PushManifestAsync("shop/app", images["sig02"]);
        await _app.Admin.PushManifestAsync("shop/app", images["sig05"]);
        _app.App.Clock.Advance(TimeSpan.FromHours(2));
        return images;
    }

    [Fact]
    public async Task Policy_SetShowDelete_MaintainersSetMembersViewAndItIsAudited()
    {
        await SetupMembersAsync();

        using (var none = await _app.As("rob").GetAsync("/api/v1/projects/shop/retention"))
        {
            await Expect.ProblemAsync(none, HttpStatusCode.NotFound);
        }

        foreach (var who in new[] { "rob", "dev" })
        {
            using var refused = await _app.As(who).SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", new { preset = "lab" });
            await Expect.ProblemAsync(refused, HttpStatusCode.Forbidden);
            using var run = await _app.As(who).SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/retention/runs", new { dryRun = true });
            await Expect.ProblemAsync(run, HttpStatusCode.Forbidden);
        }

        using (var outsider = await _app.As("mia").GetAsync("/api/v1/projects/other/retention"))
        {
            Assert.True(outsider.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden, outsider.StatusCode.ToString());
        }

        await SetLabAsync(_app.As("mia"));
        var shown = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/retention");
        Assert.Equal("lab", shown.GetProperty("preset").GetString());
        Assert.Equal("0 3 * * *", shown.GetProperty("schedule").GetString());
        Assert.True(shown.GetProperty("enabled").GetBoolean());
        Assert.Equal("2026-01-01T03:00:00.000Z", shown.GetProperty("nextRunAt").GetString());
        Assert.Equal(
        [
            "tags all: keep the 10 most recently pushed and pulled within 30 days",
            "tags latest: keep always",
            "untagged artifacts: keep pushed within 1 hour",
        ], shown.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("description").GetString()));

        using (var replaced = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", new
        {
            rules = new object[]
            {
                new { repositories = new { matching = new[] { "api/**" } }, tags = new { matching = new[] { "v*" }, excluding = new[] { "latest" } }, latestPushed = 5, pulledWithin = "14d" },
                new { untagged = true, pushedWithin = "12h" },
                new { tags = new { matching = new[] { "stable" } }, always = true },
            },
            schedule = "*/15 * * * *",
            enabled = false,
        }))
        {
            await Expect.StatusAsync(replaced, HttpStatusCode.OK);
            var policy = await replaced.ReadJsonAsync();
            Assert.Equal(JsonValueKind.Null, policy.GetProperty("preset").ValueKind);
            Assert.Equal(JsonValueKind.Null, policy.GetProperty("nextRunAt").ValueKind);
            var rule = policy.GetProperty("rules")[0];
            Assert.Equal(5, rule.GetProperty("latestPushed").GetInt32());
            Assert.Equal("14d", rule.GetProperty("pulledWithin").GetString());
            Assert.Equal("tags v* excluding latest in repositories api/**: keep the 5 most recently pushed and pulled within 14 days", rule.GetProperty("description").GetString());
            Assert.Equal("12h", policy.GetProperty("rules")[1].GetProperty("pushedWithin").GetString());
        }

        using (var deleted = await _app.As("mia").DeleteAsync("/api/v1/projects/shop/retention"))
        {
            await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        }

        using (var again = await _app.As("mia").DeleteAsync("/api/v1/projects/shop/retention"))
        {
            await Expect.ProblemAsync(again, HttpStatusCode.NotFound);
        }

        Assert.Equal(2, (await _app.AuditAsync(AuditActions.RetentionSet)).Count);
        var removal = Assert.Single(await _app.AuditAsync(AuditActions.RetentionDelete));
        Assert.Equal("mia", removal.ActorName);
        Assert.Equal("shop", removal.Project?.Value);
    }

    public static TheoryData<string, string> HostileBodies => new()
    {
        { """{"preset":"lab","extra":1}""", "extra" },
        { """{"preset":"lab","rules":[{"always":true}]}""", "preset" },
        { """{"preset":"weekly"}""", "preset" },
        { """{}""", "rules" },
        { """{"rules":[]}""", "rules" },
        { """{"rules":[{"latestPushed":0}]}""", "rules[0].latestPushed" },
        { """{"rules":[{"latestPushed":-3}]}""", "rules[0].latestPushed" },
        { """{"rules":[{"latestPushed":1000001}]}""", "rules[0].latestPushed" },
        { """{"rules":[{"latestPushed":"ten"}]}""", "rules[0].latestPushed" },
        { """{"rules":[{"pulledWithin":"0d"}]}""", "rules[0].pulledWithin" },
        { """{"rules":[{"pulledWithin":"99999d"}]}""", "rules[0].pulledWithin" },
        { """{"rules":[{"pushedWithin":"30 days"}]}""", "rules[0].pushedWithin" },
        { """{"rules":[{"pushedWithin":"-1d"}]}""", "rules[0].pushedWithin" },
        { """{"rules":[{"tags":{"matching":["v[0-9]"]},"always":true}]}""", "rules[0].tags.matching" },
        { """{"rules":[{"repositories":{"excluding":["{a,b"]},"always":true}]}""", "rules[0].repositories.excluding" },
        { """{"rules":[{"tags":{"matching":["v*"]}}]}""", "rules[0]" },
        { """{"rules":[{"always":true,"latestPushed":3}]}""", "rules[0].always" },
        { """{"rules":[{"untagged":true,"tags":{"matching":["v*"]},"pushedWithin":"1d"}]}""", "rules[0].tags" },
        { """{"rules":[{"always":true,"bogus":true}]}""", "bogus" },
        { """{"rules":[null]}""", "rules[0]" },
        { """{"preset":"lab","schedule":"every day"}""", "schedule" },
        { """{"preset":"lab","schedule":"0 0 3 * * *"}""", "schedule" },
        { """{"preset":"lab","schedule":"61 * * * *"}""", "schedule" },
        { "{\"rules\":[" + string.Join(',', Enumerable.Repeat("{\"always\":true}", 21)) + "]}", "rules" },
        { "{\"rules\":[{\"tags\":{\"matching\":[" + string.Join(',', Enumerable.Range(0, 21).Select(i => $"\"t{i}\"")) + "]},\"always\":true}]}", "rules[0].tags.matching" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task Put_HostileBody_Is400NamingTheMemberAndChangesNothing(string body, string field)
    {
        await SetupMembersAsync();

        using var response = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", body);

        var problem = await Expect.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").EnumerateObject().Any(e => e.Name.Equals(field, StringComparison.OrdinalIgnoreCase)),
            $"no error for '{field}' in {problem}");
        using var after = await _app.As("mia").GetAsync("/api/v1/projects/shop/retention");
        await Expect.ProblemAsync(after, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Put_NotJsonOrTooLarge_IsRefusedWithAProblem()
    {
        await SetupMembersAsync();

        using var notJson = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", "preset=lab");
        await Expect.ProblemAsync(notJson, HttpStatusCode.BadRequest);
        var huge = "{\"preset\":\"lab\",\"schedule\":\"" + new string(' ', 2 * 1024 * 1024) + "\"}";
        using var tooLarge = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", huge);
        await Expect.ProblemAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge);
        using var noDryRun = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/retention/runs", "{}");
        await Expect.ValidationAsync(noDryRun, "dryRun");
    }

    [Fact]
    public async Task Run_WithoutAPolicy_Is404()
    {
        await SetupMembersAsync();

        using var response = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/retention/runs", new { dryRun = true });

        await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task LabPreset_DryRunListsExactlyWhatGoes_ThenTheRunDeletesItAndKeepsTheRest()
    {
        await SetupMembersAsync();
        var images = await PushLabRepositoryAsync();
        await _app.Admin.PushManifestAsync("shop/other", OciImage(500), "only"); // a repository with nothing to delete
        await SetLabAsync(_app.As("mia"));
        var expected = new Dictionary<string, string>
        {
            [images["untagged"].Digest] = "untagged",
            [images["t02"].Digest] = "t02",
            [images["sig02"].Digest] = "sig02",
        };
        // Every blob of the three is theirs alone, except the signature's empty config "{}", which sig05 (kept) shares.
        var expectedBytes = Size(images["untagged"]) + Size(images["t02"]) + Size(images["sig02"]) - EmptyJson.Length;

        var dry = await RunAsync(_app.As("mia"), dryRun: true);

        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal("succeeded", dry.GetProperty("status").GetString());
        Assert.Equal("manual", dry.GetProperty("trigger").GetString());
        Assert.Equal("mia", dry.GetProperty("actor").GetString());
        Assert.Equal(3, dry.GetProperty("artifactsDeleted").GetInt64());
        Assert.Equal(expectedBytes, dry.GetProperty("bytesFreed").GetInt64());
        var items = dry.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(expected.Keys.Order(), items.Select(i => i.GetProperty("digest").GetString()!).Order());
        Assert.All(items, i => Assert.Equal("would_delete", i.GetProperty("outcome").GetString()));
        Assert.All(items, i => Assert.Equal("shop/app", i.GetProperty("repository").GetString()));
        var byName = items.ToDictionary(i => expected[i.GetProperty("digest").GetString()!]);
        Assert.Equal(["t02"], byName["t02"].GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(images["t02"].Body.Length, byName["t02"].GetProperty("size").GetInt64());
        Assert.Contains("not among the 10 most recently pushed", byName["t02"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("pushed more than 1 hour ago", byName["untagged"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal($"refers to {images["t02"].Digest}, which is deleted", byName["sig02"].GetProperty("reason").GetString());

        // Nothing went.
        Assert.Equal(13, (await _app.Admin.GetTagsAsync("shop/app"))!.Count); // t01..t12 and latest
        using (var stillThere = await _app.Admin.GetAsync($"/v2/shop/app/manifests/{images["untagged"].Digest}"))
        {
            Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        }

        var real = await RunAsync(_app.As("mia"), dryRun: false);

        Assert.False(real.GetProperty("dryRun").GetBoolean());
        Assert.Equal(3, real.GetProperty("artifactsDeleted").GetInt64());
        Assert.Equal(0, real.GetProperty("skipped").GetInt64());
        Assert.Equal(expectedBytes, real.GetProperty("bytesFreed").GetInt64());
        Assert.All(real.GetProperty("items").EnumerateArray(), i => Assert.Equal("deleted", i.GetProperty("outcome").GetString()));
        var tags = await _app.Admin.GetTagsAsync("shop/app");
        Assert.Equal(["latest", "t01", "t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10", "t11", "t12"], tags!.Order(StringComparer.Ordinal));
        foreach (var (name, gone) in new[] { ("untagged", true), ("t02", true), ("sig02", true), ("sig05", false), ("t01", false), ("t03", false) })
        {
            using var response = await _app.Admin.GetAsync($"/v2/shop/app/manifests/{images[name].Digest}");
            Assert.True((response.StatusCode == HttpStatusCode.NotFound) == gone, $"{name}: {response.StatusCode}");
        }

        Assert.Equal(["only"], await _app.Admin.GetTagsAsync("shop/other"));

        // A second dry run finds nothing more.
        var after = await RunAsync(_app.As("mia"), dryRun: true);
        Assert.Equal(0, after.GetProperty("artifactsDeleted").GetInt64());
        Assert.Empty(after.GetProperty("items").EnumerateArray());

        // History, newest first, readable by readers; one run with its items.
        var history = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/retention/runs?limit=2");
        Assert.Equal([after.GetProperty("id").GetInt64(), real.GetProperty("id").GetInt64()],
            history.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
        Assert.Equal(JsonValueKind.Null, history.GetProperty("items")[0].GetProperty("items").ValueKind);
        var next = history.GetProperty("next").GetString();
        var older = await _app.As("rob").GetJsonAsync($"/api/v1/projects/shop/retention/runs?after={next}");
        Assert.Equal([dry.GetProperty("id").GetInt64()], older.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
        var one = await _app.As("rob").GetJsonAsync($"/api/v1/projects/shop/retention/runs/{real.GetProperty("id").GetInt64()}?limit=2");
        Assert.Equal(2, one.GetProperty("items").GetArrayLength());
        var rest = await _app.As("rob").GetJsonAsync($"/api/v1/projects/shop/retention/runs/{real.GetProperty("id").GetInt64()}?after={one.GetProperty("itemsNext").GetString()}");
        Assert.Single(rest.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("itemsNext").ValueKind);
        using (var unknown = await _app.As("rob").GetAsync("/api/v1/projects/shop/retention/runs/99999"))
        {
            await Expect.ProblemAsync(unknown, HttpStatusCode.NotFound);
        }

        // One audit entry per run; the deletes themselves are audited as deletes by the caller.
        var runs = await _app.AuditAsync(AuditActions.RetentionRun);
        Assert.Equal(3, runs.Count);
        Assert.All(runs, e => Assert.Equal("mia", e.ActorName));
        Assert.Contains(runs, e => e.Detail!.Contains("\"dryRun\":false", StringComparison.Ordinal) && e.Detail.Contains("\"artifactsDeleted\":3", StringComparison.Ordinal));
        var deletes = (await _app.AuditAsync(AuditActions.Delete)).Where(e => e.Repository?.Value == "shop/app").ToList();
        Assert.Equal(3, deletes.Count);
        Assert.All(deletes, e => Assert.Equal("mia", e.ActorName));
    }

    [Fact]
    public async Task Run_ImmutableTag_IsKeptEvenWhenNoRuleKeepsIt()
    {
        await SetupMembersAsync();
        var images = await PushLabRepositoryAsync();
        using (var rule = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/immutability", new { tags = new { matching = new[] { "t02" } } }))
        {
            await Expect.StatusAsync(rule, HttpStatusCode.Created);
        }

        await SetLabAsync(_app.As("mia"));

        var run = await RunAsync(_app.As("mia"), dryRun: false);

        Assert.Equal([images["untagged"].Digest], run.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("digest").GetString()));
        Assert.Contains("t02", (await _app.Admin.GetTagsAsync("shop/app"))!);
        using var signature = await _app.Admin.GetAsync($"/v2/shop/app/manifests/{images["sig02"].Digest}");
        Assert.Equal(HttpStatusCode.OK, signature.StatusCode);
    }

    [Fact]
    public async Task Run_WhileAnotherHoldsTheProjectLease_Is409AndRecordsNothing()
    {
        await SetupMembersAsync();
        await SetLabAsync(_app.As("mia"));
        var leases = _app.Service<ILeaseStore>();
        Assert.True(await leases.TryAcquireAsync("retention:shop", "another-node", TimeSpan.FromMinutes(5), CancellationToken.None));

        using (var busy = await _app.As("mia").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/retention/runs", new { dryRun = true }))
        {
            await Expect.ProblemAsync(busy, HttpStatusCode.Conflict);
        }

        Assert.Empty((await _app.As("mia").GetJsonAsync("/api/v1/projects/shop/retention/runs")).GetProperty("items").EnumerateArray());
        await leases.ReleaseAsync("retention:shop", "another-node", CancellationToken.None);
        Assert.Equal("succeeded", (await RunAsync(_app.As("mia"), dryRun: true)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Schedule_WhenDue_RunsOnceAsTheSystemAndNotAgainUntilTheNextOccurrence()
    {
        await SetupMembersAsync();
        var images = await PushLabRepositoryAsync();
        using (var set = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", new { preset = "lab", schedule = "0 * * * *" }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
        }

        // The job host runs the scheduler on the same fake clock, so this test and it race for the occurrence: whoever
        // claims it runs it, once.
        var scheduler = _app.Service<RetentionScheduler>();
        Assert.Equal(0, await scheduler.RunDueAsync(CancellationToken.None)); // set at 02:12, next occurrence 03:00

        _app.App.Clock.Advance(TimeSpan.FromHours(1));
        await scheduler.RunDueAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement runs;
        while (true)
        {
            runs = (await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/retention/runs")).GetProperty("items");
            if ((runs.GetArrayLength() > 0 && runs[0].GetProperty("status").GetString() != "running") || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(0, await scheduler.RunDueAsync(CancellationToken.None));
        var run = Assert.Single((await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/retention/runs")).GetProperty("items").EnumerateArray());
        Assert.Equal("schedule", run.GetProperty("trigger").GetString());
        Assert.Equal("retention", run.GetProperty("actor").GetString());
        Assert.False(run.GetProperty("dryRun").GetBoolean());
        Assert.Equal(3, run.GetProperty("artifactsDeleted").GetInt64());
        var entry = Assert.Single(await _app.AuditAsync(AuditActions.RetentionRun));
        Assert.Equal(AuditActorKind.System, entry.ActorKind);
        Assert.Equal("retention", entry.ActorName);
        using (var gone = await _app.Admin.GetAsync($"/v2/shop/app/manifests/{images["t02"].Digest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        // Disabled: no scheduled runs.
        using (var disable = await _app.As("mia").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/retention", new { preset = "lab", schedule = "0 * * * *", enabled = false }))
        {
            await Expect.StatusAsync(disable, HttpStatusCode.OK);
        }

        _app.App.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(0, await scheduler.RunDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ProjectDeletedAndRecreated_StartsWithoutPolicyOrHistory()
    {
        await SetupMembersAsync();
        await SetLabAsync(_app.As("mia"));
        await RunAsync(_app.As("mia"), dryRun: true);

        using (var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/shop"))
        {
            Assert.True(deleted.IsSuccessStatusCode, deleted.StatusCode.ToString());
        }

        await _app.CreateProjectAsync("shop");
        using (var policy = await _app.Admin.GetAsync("/api/v1/projects/shop/retention"))
        {
            await Expect.ProblemAsync(policy, HttpStatusCode.NotFound);
        }

        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/retention/runs")).GetProperty("items").EnumerateArray());
    }

    private sealed class ByteArrays : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrays Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }
}
