using System.Text.Json;
using Berth.Client;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Tests.Client;

/// <summary><c>berth quota set|show</c> and the usage in <c>berth project list|show</c>, against the real server in memory.</summary>
public sealed class ClientQuotaTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-quota-").FullName;

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_config, recursive: true);
    }

    private Task<RunResult> Run(params string[] args) => InProcessCli.RunAsync(_app, _config, args);

    private static void Ok(RunResult result) => InProcessCli.Ok(result);

    [Fact]
    public async Task SetShowAndProjectListing_ExactForms()
    {
        Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));
        using var client = _app.CreateClient(BerthApplication.AdminUser, BerthApplication.AdminPassword);
        await client.PushManifestAsync("shop/app", OciImage(1), "v1");

        var set = await Run("quota", "set", "shop", "10GiB");
        Ok(set);
        Assert.Contains("10 GiB", set.Out, StringComparison.Ordinal);

        var show = await Run("quota", "show", "shop");
        Ok(show);
        Assert.Contains("PROJECT", show.Out, StringComparison.Ordinal);
        Assert.Matches(@"shop\s+\d+ B\s+10 GiB\s+0%", show.Out);
        var json = JsonDocument.Parse((await Run("quota", "show", "shop", "--output", "json")).Out).RootElement;
        Assert.Equal(10L << 30, json.GetProperty("quotaBytes").GetInt64());
        Assert.True(json.GetProperty("usedBytes").GetInt64() > 0);

        Ok(await Run("quota", "set", "shop", "500MiB"));
        var list = await Run("project", "list");
        Ok(list);
        Assert.Contains("USED", list.Out, StringComparison.Ordinal);
        Assert.Contains("500 MiB", list.Out, StringComparison.Ordinal);
        var shown = await Run("project", "show", "shop");
        Assert.Contains("500 MiB", shown.Out, StringComparison.Ordinal);

        Ok(await Run("quota", "set", "shop", "none"));
        var unlimited = JsonDocument.Parse((await Run("quota", "show", "shop", "--output", "json")).Out).RootElement;
        Assert.Equal(JsonValueKind.Null, unlimited.GetProperty("quotaBytes").ValueKind);
        Assert.Contains("none", (await Run("quota", "show", "shop")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_BadSize_FailsWithTheReason_WithoutCallingTheServer()
    {
        Ok(await Run("login", Url, "-u", BerthApplication.AdminUser, "--password-stdin"));
        Ok(await Run("project", "create", "shop"));

        var bad = await Run("quota", "set", "shop", "ten");
        var negative = await Run("quota", "set", "shop", "-1G");
        var missing = await Run("quota", "set", "nowhere", "1G");

        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("'ten' is not a size", bad.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, negative.Exit);
        Assert.NotEqual(0, missing.Exit);
        Assert.Contains("not found", missing.Error, StringComparison.Ordinal);
    }
}
