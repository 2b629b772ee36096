using System.Text.Json;
using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary><c>berth immutability add|list|remove</c> and <c>--force-immutable</c> against the real server in memory.</summary>
public sealed class ClientImmutabilityTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-immutability-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private Task<RunResult> Run(params string[] args) => InProcessCli.RunAsync(_app, _config, args);

    private static void Ok(RunResult result) => InProcessCli.Ok(result);

    private async Task<HttpClient> LoggedInAsync()
    {
        Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));
        return _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
    }

    [Fact]
    public async Task AddListRemove_ExactForms_TableAndJson()
    {
        using var client = await LoggedInAsync();

        var added = await Run("immutability", "add", "shop", "--tags", "v*,release-{a,b}", "--exclude-tags", "latest,dev,stable",
            "--repositories", "api/**", "--exclude-repositories", "api/tmp", "--output", "json");
        Ok(added);
        var id = JsonDocument.Parse(added.Out).RootElement.GetProperty("id").GetInt64();
        Ok(await Run("immutability", "add", "shop", "--tags", "1.*"));

        var table = await Run("immutability", "list", "shop");
        var json = await Run("immutability", "list", "shop", "--output", "json");

        Ok(table);
        Assert.Contains("tags v*,release-{a,b} excluding latest,dev,stable in repositories api/** excluding api/tmp", table.Out, StringComparison.Ordinal);
        Assert.Contains("tags 1.*", table.Out, StringComparison.Ordinal);
        Ok(json);
        var rules = JsonDocument.Parse(json.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, rules.Count);
        Assert.Equal(["v*", "release-{a,b}"], rules[0].GetProperty("tags").GetProperty("matching").EnumerateArray().Select(e => e.GetString()));

        Ok(await Run("immutability", "remove", "shop", id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var after = await Run("immutability", "list", "shop", "--output", "json");
        Assert.Single(JsonDocument.Parse(after.Out).RootElement.EnumerateArray());
    }

    [Fact]
    public async Task Add_WithoutTagsOrWithABadGlob_FailsWithTheReason()
    {
        using var client = await LoggedInAsync();

        var noTags = await Run("immutability", "add", "shop", "--repositories", "api");
        var badGlob = await Run("immutability", "add", "shop", "--tags", "v[0-9]");
        var badId = await Run("immutability", "remove", "shop", "one");

        Assert.Equal(2, noTags.Exit);
        Assert.Contains("--tags", noTags.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, badGlob.Exit);
        Assert.Contains("v[0-9]", badGlob.Error, StringComparison.Ordinal);
        Assert.Equal(2, badId.Exit);
    }

    [Fact]
    public async Task TagAndRepoDelete_OfImmutable_AreRefused_ForceImmutableDeletes()
    {
        using var client = await LoggedInAsync();
        Ok(await Run("immutability", "add", "shop", "--tags", "v*", "--exclude-tags", "latest"));
        await client.PushManifestAsync("shop/app", TestImages.OciImage(1, layerCount: 1), "v1");

        var tag = await Run("tag", "delete", "shop/app:v1");
        var repository = await Run("repo", "delete", "shop/app", "--yes");

        Assert.NotEqual(0, tag.Exit);
        Assert.Contains("tag v1 is immutable", tag.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, repository.Exit);
        Assert.Contains("--force-immutable", repository.Error, StringComparison.Ordinal);
        Assert.Equal(["v1"], await client.GetTagsAsync("shop/app"));

        Ok(await Run("repo", "delete", "shop/app", "--yes", "--force-immutable"));
        Assert.Null(await client.GetTagsAsync("shop/app"));
    }

    [Theory]
    [InlineData("v*", new[] { "v*" })]
    [InlineData("v*,latest", new[] { "v*", "latest" })]
    [InlineData("{dev,stable},v*", new[] { "{dev,stable}", "v*" })]
    [InlineData(" a , ,b ", new[] { "a", "b" })]
    [InlineData("x{a,{b,c}}y,z", new[] { "x{a,{b,c}}y", "z" })]
    public void SplitGlobs_CommasInsideBracesStay(string text, string[] expected)
    {
        Assert.Equal(expected, ImmutabilityCommands.SplitGlobs(text));
    }
}
