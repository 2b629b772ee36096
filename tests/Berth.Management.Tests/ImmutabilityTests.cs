using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// Tag immutability through HTTP: <c>/api/v1/projects/{project}/immutability</c> (rules, validation, cap, who may) and
/// its enforcement on <c>/v2</c> pushes and deletes and on the management API's tag, repository and project deletes.
/// </summary>
public sealed class ImmutabilityTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private static object Rule(string[] tags, string[]? excludeTags = null, string[]? repositories = null) => new
    {
        tags = new { matching = tags, excluding = excludeTags ?? [] },
        repositories = repositories is null ? null : new { matching = repositories },
    };

    private async Task<long> AddRuleAsync(HttpClient client, string project, object rule)
    {
        using var response = await client.SendJsonAsync(HttpMethod.Post, $"/api/v1/projects/{project}/immutability", rule);
        await Expect.StatusAsync(response, HttpStatusCode.Created);
        return (await response.ReadJsonAsync()).GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement> DeniedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("errors")[0].Clone();
        Assert.Equal("DENIED", error.GetProperty("code").GetString());
        return error;
    }

    [Fact]
    public async Task Rules_AddListRemove_AsMaintainer_AuditedAndReadableByReaders()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.CreateUserAsync("rob");
        await _app.AddMemberAsync("shop", "mia", "maintainer");
        await _app.AddMemberAsync("shop", "rob", "reader");

        var id = await AddRuleAsync(_app.As("mia"), "shop", Rule(["v*", "release-{a,b}"], ["latest", "dev", "stable"], ["api/**"]));

        var list = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/immutability");
        var rule = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal(id, rule.GetProperty("id").GetInt64());
        Assert.Equal("tags v*,release-{a,b} excluding latest,dev,stable in repositories api/**", rule.GetProperty("description").GetString());
        Assert.Equal(["v*", "release-{a,b}"], rule.GetProperty("tags").GetProperty("matching").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["api/**"], rule.GetProperty("repositories").GetProperty("matching").EnumerateArray().Select(e => e.GetString()));

        using (var byReader = await _app.As("rob").SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/immutability", Rule(["x"])))
        {
            await Expect.ProblemAsync(byReader, HttpStatusCode.Forbidden);
        }

        using (var byReader = await _app.As("rob").DeleteAsync($"/api/v1/projects/shop/immutability/{id}"))
        {
            await Expect.ProblemAsync(byReader, HttpStatusCode.Forbidden);
        }

        using (var removed = await _app.As("mia").DeleteAsync($"/api/v1/projects/shop/immutability/{id}"))
        {
            await Expect.StatusAsync(removed, HttpStatusCode.NoContent);
        }

        using (var again = await _app.As("mia").DeleteAsync($"/api/v1/projects/shop/immutability/{id}"))
        {
            await Expect.ProblemAsync(again, HttpStatusCode.NotFound);
        }

        Assert.Empty((await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/immutability")).GetProperty("items").EnumerateArray());
        var added = Assert.Single(await _app.AuditAsync(AuditActions.ImmutabilityRuleAdd));
        Assert.Equal("mia", added.ActorName);
        Assert.Equal("shop", added.Project?.Value);
        Assert.Single(await _app.AuditAsync(AuditActions.ImmutabilityRuleRemove));
    }

    [Fact]
    public async Task Rules_OfAnotherProject_CannotBeRemovedThroughThisOne()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateProjectAsync("other");
        var id = await AddRuleAsync(_app.Admin, "shop", Rule(["v*"]));

        using var response = await _app.Admin.DeleteAsync($"/api/v1/projects/other/immutability/{id}");

        await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Single((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/immutability")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("{\"tags\":{\"matching\":[\"v[0-9]\"]}}", "tags.matching")]
    [InlineData("{\"tags\":{\"matching\":[\"v1,v2\"]}}", "tags.matching")]
    [InlineData("{\"tags\":{\"matching\":[\"{a,b\"]}}", "tags.matching")]
    [InlineData("{\"tags\":{\"matching\":[\"\"]}}", "tags.matching")]
    [InlineData("{\"tags\":{\"excluding\":[\"^.*$\"]}}", "tags.excluding")]
    [InlineData("{\"tags\":{\"matching\":[\"v*\"]},\"repositories\":{\"matching\":[\"a b\"]}}", "repositories.matching")]
    [InlineData("{\"tags\":{}}", "tags")]
    [InlineData("{}", "tags")]
    public async Task Add_BadRule_IsValidationProblem(string body, string field)
    {
        await _app.CreateProjectAsync("shop");
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await _app.Admin.PostAsync("/api/v1/projects/shop/immutability", content);

        await Expect.ValidationAsync(response, field);
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/immutability")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Add_TooManyPatternsOrHugeBodyOrBeyondTheCap_IsRefused()
    {
        await _app.CreateProjectAsync("shop");
        using (var many = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/immutability",
            Rule(Enumerable.Range(0, 21).Select(i => "v" + i).ToArray())))
        {
            await Expect.ValidationAsync(many, "tags.matching");
        }

        using (var huge = new StringContent("{\"tags\":{\"matching\":[\"" + new string('a', 2_000_000) + "\"]}}", System.Text.Encoding.UTF8, "application/json"))
        using (var response = await _app.Admin.PostAsync("/api/v1/projects/shop/immutability", huge))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        for (var i = 0; i < Core.Immutability.ImmutabilityPolicy.MaxRulesPerProject; i++)
        {
            await AddRuleAsync(_app.Admin, "shop", Rule(["v" + i]));
        }

        using var beyond = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/immutability", Rule(["x"]));
        await Expect.ProblemAsync(beyond, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Push_MovingAnImmutableTag_IsDeniedNamingTagAndRule_SameDigestSucceeds()
    {
        await _app.CreateProjectAsync("shop");
        var id = await AddRuleAsync(_app.Admin, "shop", Rule(["v*"], ["latest"]));
        var one = OciImage(1);
        var two = OciImage(2);
        await _app.Admin.PushManifestAsync("shop/app", one, "v1.0");
        await _app.Admin.PushManifestAsync("shop/app", two); // by digest: its blobs are there

        using (var moved = await _app.Admin.PutManifestAsync("shop/app", "v1.0", two.Body, two.MediaType))
        {
            var error = await DeniedAsync(moved);
            Assert.Equal($"tag v1.0 is immutable (rule {id}: tags v* excluding latest)", error.GetProperty("message").GetString());
        }

        await _app.Admin.PushManifestAsync("shop/app", one, "v1.0"); // the re-run CI job
        await _app.Admin.PushManifestAsync("shop/app", one, "latest");
        await _app.Admin.PushManifestAsync("shop/app", two, "latest");
        using var pull = await _app.Admin.GetAsync("/v2/shop/app/manifests/v1.0");
        Assert.Equal(one.Digest, pull.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task RegistryDeletes_OfAnImmutableTagOrItsManifest_AreDenied()
    {
        await _app.CreateProjectAsync("shop");
        await AddRuleAsync(_app.Admin, "shop", Rule(["v*"]));
        var one = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", one, "v1");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(2), "dev");

        using (var tag = await _app.Admin.DeleteAsync("/v2/shop/app/manifests/v1"))
        {
            Assert.Contains("tag v1 is immutable", (await DeniedAsync(tag)).GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var digest = await _app.Admin.DeleteAsync($"/v2/shop/app/manifests/{one.Digest}"))
        {
            await DeniedAsync(digest);
        }

        using (var management = await _app.Admin.DeleteAsync("/api/v1/repositories/tags?repository=shop/app&tag=v1"))
        {
            var problem = await Expect.ProblemAsync(management, HttpStatusCode.Forbidden);
            Assert.Contains("tag v1 is immutable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var movable = await _app.Admin.DeleteAsync("/v2/shop/app/manifests/dev"))
        {
            Assert.Equal(HttpStatusCode.Accepted, movable.StatusCode);
        }

        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", "v1"));
        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", one.Digest));
    }

    [Fact]
    public async Task RepositoryDelete_WithAnImmutableTag_IsRefused_OnlyAnAdministratorOverrides_Audited()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("mia");
        await _app.AddMemberAsync("shop", "mia", "owner");
        await AddRuleAsync(_app.Admin, "shop", Rule(["v*"]));
        await _app.Admin.PushManifestAsync("shop/app", OciImage(1), "v1");

        using (var refused = await _app.As("mia").DeleteAsync("/api/v1/repositories?repository=shop/app"))
        {
            var problem = await Expect.ProblemAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains("tag v1 is immutable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var notAdministrator = await _app.As("mia").DeleteAsync("/api/v1/repositories?repository=shop/app&force-immutable=true"))
        {
            await Expect.ProblemAsync(notAdministrator, HttpStatusCode.Forbidden);
        }

        using (var malformed = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/app&force-immutable=maybe"))
        {
            await Expect.ValidationAsync(malformed, "force-immutable");
        }

        using (var refusedForAdmin = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/app"))
        {
            await Expect.ProblemAsync(refusedForAdmin, HttpStatusCode.Forbidden);
        }

        Assert.True(await _app.Admin.ManifestExistsAsync("shop/app", "v1"));
        Assert.Empty(await _app.AuditAsync(AuditActions.ImmutabilityOverride));

        using (var forced = await _app.Admin.DeleteAsync("/api/v1/repositories?repository=shop/app&force-immutable=true"))
        {
            await Expect.StatusAsync(forced, HttpStatusCode.NoContent);
        }

        Assert.False(await _app.Admin.ManifestExistsAsync("shop/app", "v1"));
        var entry = Assert.Single(await _app.AuditAsync(AuditActions.ImmutabilityOverride));
        Assert.Equal("shop/app", entry.Repository?.Value);
    }

    [Fact]
    public async Task ProjectDelete_WithAnImmutableTag_IsRefusedUnlessOverridden_AndTheSuccessorHasNoRules()
    {
        await _app.CreateProjectAsync("shop");
        await AddRuleAsync(_app.Admin, "shop", Rule(["v*"]));
        var one = OciImage(1);
        await _app.Admin.PushManifestAsync("shop/app", one, "v1");

        using (var refused = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true"))
        {
            var problem = await Expect.ProblemAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains("tag v1 is immutable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var forced = await _app.Admin.DeleteAsync("/api/v1/projects/shop?force=true&force-immutable=true"))
        {
            await Expect.StatusAsync(forced, HttpStatusCode.NoContent);
        }

        Assert.Single(await _app.AuditAsync(AuditActions.ImmutabilityOverride));
        await _app.CreateProjectAsync("shop");
        Assert.Empty((await _app.Admin.GetJsonAsync("/api/v1/projects/shop/immutability")).GetProperty("items").EnumerateArray());
        await _app.Admin.PushManifestAsync("shop/app", one, "v1");
        await _app.Admin.PushManifestAsync("shop/app", OciImage(2), "v1"); // movable again
    }

    [Fact]
    public async Task ConcurrentPushes_OfDifferentDigestsToANewImmutableTag_OneWins()
    {
        await _app.CreateProjectAsync("shop");
        await AddRuleAsync(_app.Admin, "shop", Rule(["v*"]));
        var images = Enumerable.Range(10, 6).Select(i => OciImage(i)).ToArray();
        foreach (var image in images)
        {
            await _app.Admin.PushManifestAsync("shop/app", image);
        }

        var responses = await Task.WhenAll(images.Select(image => _app.Admin.PutManifestAsync("shop/app", "v1", image.Body, image.MediaType)));
        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            Assert.Equal(images.Length - 1, responses.Count(r => r.StatusCode == HttpStatusCode.Forbidden));
            var winner = images[Array.FindIndex(responses, r => r.StatusCode == HttpStatusCode.Created)];
            using var pull = await _app.Admin.GetAsync("/v2/shop/app/manifests/v1");
            Assert.Equal(winner.Digest, pull.Headers.GetValues("Docker-Content-Digest").Single());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
