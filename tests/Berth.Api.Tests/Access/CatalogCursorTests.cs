using System.Net;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Metadata.Sqlite;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// The catalog's <c>Link</c> names only what the caller may see: after its scan limit (10,000 names) a filtered page
/// ends on a repository the caller may not see, and the link then carries a sealed cursor for that caller alone.
/// </summary>
public sealed class CatalogCursorTests : AccessTest
{
    private const int Hidden = 10_500; // more than one request scans

    public CatalogCursorTests()
    {
        Setup.ProjectAsync("aaa-pub", isPublic: true).GetAwaiter().GetResult();
        Setup.ProjectAsync("hidden").GetAwaiter().GetResult();
        Setup.ProjectAsync("zzz-pub", isPublic: true).GetAwaiter().GetResult();
        Admin.PushBlobAsync("aaa-pub/app", TestImages.Bytes(20, 1)).GetAwaiter().GetResult();
        Admin.PushBlobAsync("zzz-pub/app", TestImages.Bytes(20, 2)).GetAwaiter().GetResult();

        // Many private repositories, straight into the database (pushing them one by one would take minutes).
        App.ExecuteManyAsync("INSERT INTO repositories (name, created_at) VALUES (@name, 0)",
            Enumerable.Range(0, Hidden).Select(i => new (string, object?)[] { ("@name", $"hidden/svc-{i:D5}") })).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task Catalog_PageEndingOnARepositoryTheCallerMayNotSee_LinksWithASealedCursor()
    {
        var (_, stranger) = await UserAsync("stranger");
        using var client = AccessClient.Basic(App, stranger);

        using var first = await client.GetAsync("/v2/_catalog?n=1&last=aaa-pub/app");

        Assert.Empty(await RepositoriesAsync(first));
        var link = NextLink(first)!;
        Assert.DoesNotContain("hidden", link, StringComparison.Ordinal);
        Assert.DoesNotContain("svc", link, StringComparison.Ordinal);
        Assert.StartsWith("/v2/_catalog?n=1&last=~", link, StringComparison.Ordinal);

        // Following the links leads to the next public repository, and every link is as opaque.
        var seen = new List<string>();
        for (var path = link; path is not null;)
        {
            using var page = await client.GetAsync(path);
            seen.AddRange(await RepositoriesAsync(page));
            path = NextLink(page);
            Assert.True(path is null || !path.Contains("hidden", StringComparison.Ordinal), path);
        }

        Assert.Equal(["zzz-pub/app"], seen);
    }

    [Fact]
    public async Task Catalog_SealedCursorOfAnotherCaller_IsRefused()
    {
        var (_, stranger) = await UserAsync("stranger");
        var (_, other) = await UserAsync("other", "hidden", ProjectRole.Reader);
        using var strangerClient = AccessClient.Basic(App, stranger);
        using var first = await strangerClient.GetAsync("/v2/_catalog?n=1&last=aaa-pub/app");
        var link = NextLink(first)!;

        using var otherClient = AccessClient.Basic(App, other);
        using var replayed = await otherClient.GetAsync(link);
        using var admin = await Admin.GetAsync(link);

        await OciAssert.ErrorAsync(replayed, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        await OciAssert.ErrorAsync(admin, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task Catalog_SealedCursorThroughABearerToken_IsBoundToItsSubject()
    {
        var (_, stranger) = await UserAsync("stranger");
        using var bearer = AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, stranger, "registry:catalog:*"));
        using var first = await bearer.GetAsync("/v2/_catalog?n=1&last=aaa-pub/app");
        var link = NextLink(first)!;

        using var basic = AccessClient.Basic(App, stranger);
        using var sameCallerOtherScheme = await basic.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, sameCallerOtherScheme.StatusCode);
    }

    [Theory]
    [InlineData("~")]
    [InlineData("~AAAA")]
    [InlineData("~not base64 at all!")]
    [InlineData("~AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Catalog_ForgedSealedCursor_Returns400(string last)
    {
        var (_, stranger) = await UserAsync("stranger");
        using var client = AccessClient.Basic(App, stranger);

        using var response = await client.GetAsync("/v2/_catalog?n=1&last=" + Uri.EscapeDataString(last));

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task Catalog_MangledOrExpiredSealedCursor_Returns400()
    {
        var (_, stranger) = await UserAsync("stranger");
        using var client = AccessClient.Basic(App, stranger);
        using var first = await client.GetAsync("/v2/_catalog?n=1&last=aaa-pub/app");
        var link = NextLink(first)!;
        var last = link[(link.IndexOf("last=", StringComparison.Ordinal) + 5)..];

        for (var i = 1; i < last.Length - 1; i++) // the last character may hold only unused bits
        {
            var mangled = last[..i] + (last[i] == 'A' ? 'B' : 'A') + last[(i + 1)..];
            using var response = await client.GetAsync("/v2/_catalog?n=1&last=" + mangled);
            await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        }

        App.Clock.Advance(TimeSpan.FromDays(2));
        using var expired = await client.GetAsync(link);
        await OciAssert.ErrorAsync(expired, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task Catalog_PlainLastNamingAPrivateRepository_IsStillAcceptedAndListsOnlyVisibleOnes()
    {
        var (_, stranger) = await UserAsync("stranger");
        using var client = AccessClient.Basic(App, stranger);

        using var response = await client.GetAsync("/v2/_catalog?n=5&last=hidden/svc-10499");

        Assert.Equal(["zzz-pub/app"], await RepositoriesAsync(response));
        Assert.Null(NextLink(response));
    }

    [Fact]
    public async Task Catalog_FullPages_LinkWithTheLastNameShown()
    {
        using var response = await Admin.GetAsync("/v2/_catalog?n=2");

        Assert.Equal(["aaa-pub/app", "hidden/svc-00000"], await RepositoriesAsync(response));
        Assert.Equal("/v2/_catalog?n=2&last=hidden%2Fsvc-00000", NextLink(response));
    }

    private static async Task<List<string>> RepositoriesAsync(HttpResponseMessage response)
    {
        await OciAssert.StatusAsync(response, HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()!).ToList();
    }

    private static string? NextLink(HttpResponseMessage response)
    {
        var link = response.Headers.TryGetValues("Link", out var links) ? links.Single() : null;
        return link is null ? null : link[1..link.IndexOf('>', StringComparison.Ordinal)];
    }
}
