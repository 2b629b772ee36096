using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Berth.Management.Tests;

/// <summary>
/// <c>GET /api/v1/projects</c>: its <c>next</c> cursor names nothing (it is sealed for the caller), and it lists
/// only projects whose IP allow list admits the caller's address, as the catalog does.
/// </summary>
public sealed class ProjectListingTests : IDisposable
{
    private const int Hidden = 1_100; // more than one page request scans (1,000 for small pages)
    private readonly ManagementApp _app = new();

    public ProjectListingTests()
    {
        _app.CreateProjectAsync("aaa", isPublic: true).GetAwaiter().GetResult();
        _app.CreateProjectAsync("zzz", isPublic: true).GetAwaiter().GetResult();
        _app.CreateUserAsync("stranger").GetAwaiter().GetResult();
        _app.CreateUserAsync("other").GetAwaiter().GetResult();

        // Many private projects, straight into the database.
        _app.App.ExecuteManyAsync("INSERT INTO projects (name, description, visibility, created_at) VALUES (@name, '', 'private', 0)",
            Enumerable.Range(0, Hidden).Select(i => new (string, object?)[] { ("@name", $"hidden-{i:D4}") })).GetAwaiter().GetResult();
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task List_ScanEndingOnAHiddenProject_NextNamesNothingAndLeadsOn()
    {
        var stranger = _app.As("stranger");

        var first = await stranger.GetJsonAsync("/api/v1/projects?limit=1");
        Assert.Equal(["aaa"], Names(first));
        var second = await stranger.GetJsonAsync($"/api/v1/projects?limit=1&after={Next(first)}");
        Assert.Empty(Names(second)); // the scan stopped among the hidden projects
        var cursor = Next(second)!;
        Assert.DoesNotContain("hidden", Encoding.Latin1.GetString(Base64Url.DecodeFromChars(cursor)), StringComparison.Ordinal);
        Assert.DoesNotContain("hidden", cursor, StringComparison.Ordinal);

        var third = await stranger.GetJsonAsync($"/api/v1/projects?limit=1&after={cursor}");
        Assert.Equal(["zzz"], Names(third));
        Assert.Null(Next(third));
    }

    [Fact]
    public async Task List_CursorOfAnotherCaller_IsRefused()
    {
        var first = await _app.As("stranger").GetJsonAsync("/api/v1/projects?limit=1");

        using var other = await _app.As("other").GetAsync($"/api/v1/projects?limit=1&after={Next(first)}");
        using var anonymous = await _app.Anonymous.GetAsync($"/api/v1/projects?limit=1&after={Next(first)}");
        using var admin = await _app.Admin.GetAsync($"/api/v1/projects?limit=1&after={Next(first)}");

        await Expect.ValidationAsync(other, "after");
        await Expect.ValidationAsync(anonymous, "after");
        await Expect.ValidationAsync(admin, "after");
    }

    [Fact]
    public async Task List_AnonymousCallers_PageWithTheirOwnCursors()
    {
        var first = await _app.Anonymous.GetJsonAsync("/api/v1/projects?limit=1");
        var names = Names(first);
        for (var cursor = Next(first); cursor is not null;)
        {
            var page = await _app.Anonymous.GetJsonAsync($"/api/v1/projects?limit=1&after={cursor}");
            names.AddRange(Names(page));
            cursor = Next(page);
        }

        Assert.Equal(["aaa", "zzz"], names);
    }

    [Theory]
    [InlineData("YzE6aGlkZGVuLTA5OTk")] // the old plain form, base64url of "c1:hidden-0999": no longer accepted
    [InlineData("AQ")]
    [InlineData("not a cursor")]
    [InlineData("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task List_ForgedCursor_Returns400(string after)
    {
        using var response = await _app.As("stranger").GetAsync($"/api/v1/projects?after={Uri.EscapeDataString(after)}");

        await Expect.ValidationAsync(response, "after");
    }

    [Fact]
    public async Task List_MangledOrExpiredCursor_Returns400()
    {
        var stranger = _app.As("stranger");
        var cursor = Next(await stranger.GetJsonAsync("/api/v1/projects?limit=1"))!;

        for (var i = 0; i < cursor.Length - 1; i++) // the last character may hold only unused bits
        {
            var mangled = cursor[..i] + (cursor[i] == 'A' ? 'B' : 'A') + cursor[(i + 1)..];
            using var response = await stranger.GetAsync($"/api/v1/projects?limit=1&after={mangled}");
            await Expect.ValidationAsync(response, "after");
        }

        _app.App.Clock.Advance(TimeSpan.FromDays(2));
        using var expired = await stranger.GetAsync($"/api/v1/projects?limit=1&after={cursor}");
        await Expect.ValidationAsync(expired, "after");
    }

    [Fact]
    public async Task List_CursorOfADeletedProject_StillLeadsOn()
    {
        await _app.CreateProjectAsync("bbb", isPublic: true);
        var stranger = _app.As("stranger");
        var first = await stranger.GetJsonAsync("/api/v1/projects?limit=2");
        Assert.Equal(["aaa", "bbb"], Names(first));

        using (var deleted = await _app.Admin.DeleteAsync("/api/v1/projects/bbb"))
        {
            await Expect.StatusAsync(deleted, HttpStatusCode.NoContent);
        }

        var names = new List<string>();
        for (var cursor = Next(first); cursor is not null;)
        {
            var page = await stranger.GetJsonAsync($"/api/v1/projects?limit=2&after={cursor}");
            names.AddRange(Names(page));
            cursor = Next(page);
        }

        Assert.Equal(["zzz"], names);
    }

    [Fact]
    public async Task List_ProjectWhoseAllowListRefusesTheCaller_IsNotListed()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("alice");
        await _app.AddMemberAsync("shop", "alice", "owner");
        var inside = _app.NewClient(_app.As("alice").DefaultRequestHeaders.Authorization, peer: "192.0.2.9");
        using (var rule = await inside.SendJsonAsync(HttpMethod.Post, "/api/v1/projects/shop/ip-allow", new { network = "192.0.2.0/24" }))
        {
            await Expect.StatusAsync(rule, HttpStatusCode.Created);
        }

        Assert.Contains("shop", await AllNamesAsync(inside));
        Assert.DoesNotContain("shop", await AllNamesAsync(_app.As("alice"))); // from 127.0.0.1
        Assert.DoesNotContain("shop", await AllNamesAsync(_app.Admin)); // administrators too, as in the catalog
        Assert.Contains("shop", await AllNamesAsync(_app.NewClient(_app.Admin.DefaultRequestHeaders.Authorization, peer: "192.0.2.10")));
    }

    private static async Task<List<string>> AllNamesAsync(HttpClient client)
    {
        var names = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetJsonAsync("/api/v1/projects?limit=1000" + (cursor is null ? string.Empty : "&after=" + cursor));
            names.AddRange(Names(page));
            cursor = Next(page);
        }
        while (cursor is not null);
        return names;
    }

    private static List<string> Names(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()!).ToList();

    private static string? Next(JsonElement page) =>
        page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
}
