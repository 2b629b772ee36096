using System.Text.Json;
using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary><c>berth retention set|show|run|history|delete</c> against the real server in memory.</summary>
public sealed class ClientRetentionTests : IDisposable
{
    private const string Url = "http://localhost";
    private readonly BerthApplication _app = new() { DefaultCredentials = null };
    private readonly string _config = Directory.CreateTempSubdirectory("berth-cli-retention-").FullName;

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

    /// <summary>v1..v4 one minute apart in shop/app.</summary>
    private async Task<List<string>> PushFourAsync(HttpClient client)
    {
        var digests = new List<string>();
        for (var i = 1; i <= 4; i++)
        {
            _app.Clock.Advance(TimeSpan.FromMinutes(1));
            digests.Add(await client.PushManifestAsync("shop/app", TestImages.OciImage(i, layerCount: 1), $"v{i}"));
        }

        return digests;
    }

    [Fact]
    public async Task SetPresetShowDelete_ExactForms()
    {
        using var client = await LoggedInAsync();

        var set = await Run("retention", "set", "shop", "--preset", "lab");
        var show = await Run("retention", "show", "shop");
        var json = await Run("retention", "show", "shop", "--output", "json");

        Ok(set);
        Ok(show);
        Assert.Contains("0 3 * * *", show.Out, StringComparison.Ordinal);
        Assert.Contains("tags all: keep the 10 most recently pushed and pulled within 30 days", show.Out, StringComparison.Ordinal);
        Assert.Contains("tags latest: keep always", show.Out, StringComparison.Ordinal);
        Assert.Contains("untagged artifacts: keep pushed within 1 hour", show.Out, StringComparison.Ordinal);
        Ok(json);
        Assert.Equal("lab", JsonDocument.Parse(json.Out).RootElement.GetProperty("preset").GetString());

        Ok(await Run("retention", "delete", "shop"));
        var gone = await Run("retention", "show", "shop");
        Assert.NotEqual(0, gone.Exit);
        Assert.Contains("no retention policy", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetFlags_BuildRulesAndBadValuesFailWithTheReason()
    {
        using var client = await LoggedInAsync();

        var set = await Run("retention", "set", "shop", "--keep-latest", "5", "--keep-within", "30d", "--tags", "v*", "--keep-tags", "latest,stable",
            "--untagged-after", "1d", "--repositories", "api/**", "--schedule", "*/30 * * * *", "--disabled", "--output", "json");

        Ok(set);
        var policy = JsonDocument.Parse(set.Out).RootElement;
        Assert.Equal("*/30 * * * *", policy.GetProperty("schedule").GetString());
        Assert.False(policy.GetProperty("enabled").GetBoolean());
        Assert.Equal(
        [
            "tags v* in repositories api/**: keep the 5 most recently pushed and pulled within 30 days",
            "tags latest,stable in repositories api/**: keep always",
            "untagged artifacts in repositories api/**: keep pushed within 1 day",
        ], policy.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("description").GetString()));

        var nothing = await Run("retention", "set", "shop");
        var both = await Run("retention", "set", "shop", "--preset", "lab", "--keep-latest", "3");
        var badCount = await Run("retention", "set", "shop", "--keep-latest", "0");
        var badDuration = await Run("retention", "set", "shop", "--untagged-after", "forever");
        var badCron = await Run("retention", "set", "shop", "--preset", "lab", "--schedule", "daily");
        var badPreset = await Run("retention", "set", "shop", "--preset", "weekly");

        Assert.Equal(2, nothing.Exit);
        Assert.Contains("--preset lab", nothing.Error, StringComparison.Ordinal);
        Assert.Equal(2, both.Exit);
        Assert.Equal(2, badCount.Exit);
        Assert.NotEqual(0, badDuration.Exit);
        Assert.Contains("forever", badDuration.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, badCron.Exit);
        Assert.Contains("cron", badCron.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, badPreset.Exit);
        Assert.Contains("weekly", badPreset.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunDryRunThenRunThenHistory_TableAndJson()
    {
        using var client = await LoggedInAsync();
        var digests = await PushFourAsync(client);
        Ok(await Run("retention", "set", "shop", "--keep-latest", "2"));

        var dry = await Run("retention", "run", "shop", "--dry-run");
        var dryJson = await Run("retention", "run", "shop", "--dry-run", "--output", "json");

        Ok(dry);
        Assert.Contains("REPOSITORY", dry.Out, StringComparison.Ordinal);
        Assert.Contains("REASON", dry.Out, StringComparison.Ordinal);
        Assert.Contains(digests[0], dry.Out, StringComparison.Ordinal);
        Assert.Contains(digests[1], dry.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(digests[2], dry.Out, StringComparison.Ordinal);
        Assert.Contains("not among the 2 most recently pushed", dry.Out, StringComparison.Ordinal);
        Assert.Contains("2 artifacts would be deleted, freeing", dry.Out, StringComparison.Ordinal);
        Ok(dryJson);
        var answer = JsonDocument.Parse(dryJson.Out).RootElement;
        Assert.True(answer.GetProperty("dryRun").GetBoolean());
        Assert.Equal([digests[0], digests[1]], answer.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("digest").GetString()).Order());
        Assert.Equal(4, (await client.GetTagsAsync("shop/app"))!.Count);

        var real = await Run("retention", "run", "shop");
        Ok(real);
        Assert.Contains("2 artifacts deleted (0 skipped)", real.Out, StringComparison.Ordinal);
        Assert.Equal(["v3", "v4"], (await client.GetTagsAsync("shop/app"))!.Order(StringComparer.Ordinal));

        var history = await Run("retention", "history", "shop");
        var historyJson = await Run("retention", "history", "shop", "--output", "json");
        Ok(history);
        Assert.Contains("manual", history.Out, StringComparison.Ordinal);
        Ok(historyJson);
        var runs = JsonDocument.Parse(historyJson.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(3, runs.Count);
        Assert.Equal([false, true, true], runs.Select(r => r.GetProperty("dryRun").GetBoolean()));
        var one = await Run("retention", "history", "shop", runs[0].GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Ok(one);
        Assert.Contains(digests[0], one.Out, StringComparison.Ordinal);
        Assert.Contains("deleted", one.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("retention", "history", "shop", "latest")).Exit);
    }

    [Fact]
    public async Task Run_WithoutPolicy_FailsSayingSo()
    {
        using var client = await LoggedInAsync();

        var run = await Run("retention", "run", "shop", "--dry-run");

        Assert.NotEqual(0, run.Exit);
        Assert.Contains("no retention policy", run.Error, StringComparison.Ordinal);
    }
}
