using System.Text.Json;
using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary><c>berth repo list|delete</c> and <c>berth tag list|delete</c> against the real server in memory.</summary>
public sealed class ClientRepositoryTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-repo-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private async Task<RunResult> Run(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = _app.Server.CreateHandler(),
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = _config,
        };
        var exit = await ClientCli.RunAsync(args, context);
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    private static void Ok(RunResult result) => Assert.True(result.Exit == 0, $"exit {result.Exit}: {result.Error}{result.Out}");

    private async Task<HttpClient> LoggedInWithImageAsync()
    {
        Ok(await Run(BerthApplication.AdminPassword + "\n", "login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run(string.Empty, "project", "create", "shop"));
        var client = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
        await client.PushManifestAsync("shop/team/app", TestImages.OciImage(1, layerCount: 1), "v1");
        await client.PushManifestAsync("shop/team/app", TestImages.OciImage(1, layerCount: 1), "latest");
        return client;
    }

    [Fact]
    public async Task RepoAndTagList_TableAndJson_ShowSizes()
    {
        using var client = await LoggedInWithImageAsync();
        var image = TestImages.OciImage(1, layerCount: 1);
        var size = image.Body.Length + image.Blobs.Sum(b => (long)b.Length);

        var table = await Run(string.Empty, "repo", "list", "shop");
        var json = await Run(string.Empty, "repo", "list", "shop", "--output", "json");
        var tags = await Run(string.Empty, "tag", "list", "shop/team/app", "--output", "json");
        var tagTable = await Run(string.Empty, "tag", "list", "shop/team/app");

        Ok(table);
        Assert.Contains("shop/team/app", table.Out, StringComparison.Ordinal);
        Assert.Contains($"{size} B", table.Out, StringComparison.Ordinal);
        Ok(json);
        var repository = Assert.Single(JsonDocument.Parse(json.Out).RootElement.EnumerateArray());
        Assert.Equal(size, repository.GetProperty("size").GetInt64());
        Assert.Equal(2, repository.GetProperty("tagCount").GetInt64());
        Ok(tags);
        Assert.Equal(["latest", "v1"], JsonDocument.Parse(tags.Out).RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Ok(tagTable);
        Assert.Contains(image.Digest, tagTable.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TagDelete_RepositoryColonTag_DeletesOnlyThatTag()
    {
        using var client = await LoggedInWithImageAsync();

        Ok(await Run(string.Empty, "tag", "delete", "shop/team/app:v1"));

        Assert.Equal(["latest"], await client.GetTagsAsync("shop/team/app"));
        var missing = await Run(string.Empty, "tag", "delete", "shop/team/app:v1");
        Assert.Equal(1, missing.Exit);
    }

    [Theory]
    [InlineData("shop/app")]
    [InlineData("shop/app:")]
    [InlineData(":v1")]
    [InlineData("localhost:5000/shop/app")]
    public async Task TagDelete_NotRepositoryColonTag_IsUsageError(string argument)
    {
        var result = await Run(string.Empty, "tag", "delete", argument);

        Assert.Equal(2, result.Exit);
    }

    [Fact]
    public async Task RepoDelete_WithoutYesAndNoTerminal_RefusesAndKeepsIt()
    {
        using var client = await LoggedInWithImageAsync();

        var refused = await Run(string.Empty, "repo", "delete", "shop/team/app");
        var deleted = await Run(string.Empty, "repo", "delete", "shop/team/app", "--yes");

        Assert.Equal(2, refused.Exit);
        Ok(deleted);
        Assert.Null(await client.GetTagsAsync("shop/team/app"));
        var list = await Run(string.Empty, "repo", "list", "shop", "--output", "json");
        Assert.Empty(JsonDocument.Parse(list.Out).RootElement.EnumerateArray());
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1.0 KiB")]
    [InlineData(12_897_484, "12.3 MiB")]
    [InlineData(10L * 1024 * 1024 * 1024, "10.0 GiB")]
    public void HumanSize_Bytes_BinaryUnitsOneDecimal(long bytes, string expected) =>
        Assert.Equal(expected, RepositoryCommands.HumanSize(bytes));
}
