using System.Net;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>Content discovery: GET /v2/&lt;name&gt;/tags/list and GET /v2/_catalog, with n/last pagination.</summary>
public sealed class ListingTests : RegistryTest
{
    private const string Repository = "project/app";

    // Ordinal (byte) order: digits, then upper case, then '_', then lower case.
    private static readonly string[] TagsInLexicalOrder = ["1.0", "1.0.1", "Latest", "_tmp", "a", "b", "latest", "v2"];

    // ---------------------------------------------------------------- tags

    [Fact]
    public async Task TagsList_ReturnsNameAndEveryTagInLexicalOrder()
    {
        await PushTagsAsync("v2", "latest", "b", "a", "_tmp", "Latest", "1.0.1", "1.0");

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(response.Header("Link"));
        var (name, tags) = await ReadTagsAsync(response);
        Assert.Equal(Repository, name);
        Assert.Equal(TagsInLexicalOrder, tags);
    }

    [Fact]
    public async Task TagsList_WithN_ReturnsFirstNTagsAndLinkToTheRest()
    {
        await PushTagsAsync(TagsInLexicalOrder);

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n=3");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TagsInLexicalOrder[..3], (await ReadTagsAsync(response)).Tags);
        Assert.Equal($"</v2/{Repository}/tags/list?n=3&last=Latest>; rel=\"next\"", response.Header("Link"));
    }

    [Fact]
    public async Task TagsList_FollowingLinkHeaders_VisitsEveryTagOnceInOrder()
    {
        await PushTagsAsync(TagsInLexicalOrder);
        var seen = new List<string>();
        var next = $"/v2/{Repository}/tags/list?n=3";
        var pages = 0;

        while (next is not null)
        {
            using var response = await Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            seen.AddRange((await ReadTagsAsync(response)).Tags);
            next = ParseNextLink(response.Header("Link"));
            pages++;
        }

        Assert.Equal(TagsInLexicalOrder, seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task TagsList_WithLast_ReturnsTagsAfterLast()
    {
        await PushTagsAsync(TagsInLexicalOrder);

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?last=a");

        Assert.Equal(["b", "latest", "v2"], (await ReadTagsAsync(response)).Tags);
        Assert.Null(response.Header("Link"));
    }

    [Fact]
    public async Task TagsList_WithNAndLast_ReturnsNTagsAfterLast()
    {
        await PushTagsAsync(TagsInLexicalOrder);

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n=2&last=_tmp");

        Assert.Equal(["a", "b"], (await ReadTagsAsync(response)).Tags);
        Assert.Equal($"</v2/{Repository}/tags/list?n=2&last=b>; rel=\"next\"", response.Header("Link"));
    }

    [Fact]
    public async Task TagsList_WithLastNotATag_StartsAfterItLexically()
    {
        await PushTagsAsync(TagsInLexicalOrder);

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?last=c");

        Assert.Equal(["latest", "v2"], (await ReadTagsAsync(response)).Tags);
    }

    [Fact]
    public async Task TagsList_NEqualToCount_HasNoLink()
    {
        await PushTagsAsync("a", "b");

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n=2");

        Assert.Equal(["a", "b"], (await ReadTagsAsync(response)).Tags);
        Assert.Null(response.Header("Link"));
    }

    [Fact]
    public async Task TagsList_NZero_ReturnsEmptyListWithoutLink()
    {
        await PushTagsAsync("a", "b");

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n=0");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await ReadTagsAsync(response)).Tags);
        Assert.Null(response.Header("Link"));
    }

    [Fact]
    public async Task TagsList_NZeroForUnknownRepository_Returns404NameUnknown()
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n=0");

        await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("+3")]
    [InlineData(" 3")]
    [InlineData("99999999999")]
    public async Task TagsList_InvalidN_Returns400PaginationNumberInvalid(string n)
    {
        await PushTagsAsync("a");

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list?n={Uri.EscapeDataString(n)}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task TagsList_UnknownRepository_Returns404NameUnknown()
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list");

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
        Assert.Equal(Repository, error.Detail.GetProperty("name").GetString());
    }

    [Fact]
    public async Task TagsList_RepositoryWithBlobsButNoTags_ReturnsEmptyList()
    {
        await Client.PushBlobAsync(Repository, TestImages.Bytes(10, 1));

        using var response = await Client.GetAsync($"/v2/{Repository}/tags/list");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await ReadTagsAsync(response)).Tags);
    }

    [Fact]
    public async Task TagsList_DeletedTag_IsNotListed()
    {
        await PushTagsAsync("a", "b", "c");
        (await Client.DeleteAsync($"/v2/{Repository}/manifests/b")).Dispose();

        Assert.Equal(["a", "c"], await Client.GetTagsAsync(Repository));
    }

    [Fact]
    public async Task TagsList_Head_Returns200WithoutBody()
    {
        await PushTagsAsync("a");

        using var response = await Client.SendAsync(HttpMethod.Head, $"/v2/{Repository}/tags/list");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TagsList_NAboveMaxPageSize_IsCutToMaxPageSizeWithLink()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxPageSize"] = "2" });
        using var client = app.CreateClient();
        var image = TestImages.OciImage(1);
        await client.PushManifestAsync(Repository, image, "a");
        await client.PushManifestAsync(Repository, image, "b");
        await client.PushManifestAsync(Repository, image, "c");

        using var response = await client.GetAsync($"/v2/{Repository}/tags/list?n=100");

        Assert.Equal(["a", "b"], (await ReadTagsAsync(response)).Tags);
        Assert.Equal($"</v2/{Repository}/tags/list?n=2&last=b>; rel=\"next\"", response.Header("Link"));
    }

    // ---------------------------------------------------------------- catalog

    [Fact]
    public async Task Catalog_Empty_ReturnsEmptyList()
    {
        using var response = await Client.GetAsync("/v2/_catalog");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await ReadRepositoriesAsync(response));
    }

    [Fact]
    public async Task Catalog_ListsEveryRepositoryInLexicalOrder()
    {
        string[] names = ["b/app", "a-b/c", "a/b", "a", "a.b", "z0/y/x", "a/b/c"];
        foreach (var name in names)
        {
            await Client.PushBlobAsync(name, TestImages.Bytes(5, 1));
        }

        using var response = await Client.GetAsync("/v2/_catalog");

        Assert.Equal(names.Order(StringComparer.Ordinal).ToArray(), await ReadRepositoriesAsync(response));
        Assert.Null(response.Header("Link"));
    }

    [Fact]
    public async Task Catalog_WithN_ReturnsFirstNAndLinkThatLeadsThroughAll()
    {
        string[] names = ["e", "d", "c", "b", "a"];
        foreach (var name in names)
        {
            await Client.PushManifestAsync(name, TestImages.OciImage(2), "v1");
        }

        using (var first = await Client.GetAsync("/v2/_catalog?n=2"))
        {
            Assert.Equal(["a", "b"], await ReadRepositoriesAsync(first));
            Assert.Equal("</v2/_catalog?n=2&last=b>; rel=\"next\"", first.Header("Link"));
        }

        var seen = new List<string>();
        var next = "/v2/_catalog?n=2";
        while (next is not null)
        {
            using var response = await Client.GetAsync(next);
            seen.AddRange(await ReadRepositoriesAsync(response));
            next = ParseNextLink(response.Header("Link"));
        }

        Assert.Equal(["a", "b", "c", "d", "e"], seen);
    }

    [Fact]
    public async Task Catalog_LinkAfterNameWithSlashes_IsEscapedAndFollowable()
    {
        foreach (var name in new[] { "a/b/c", "a/b", "a/c", "b" })
        {
            await Client.PushBlobAsync(name, TestImages.Bytes(5, 1));
        }

        using var first = await Client.GetAsync("/v2/_catalog?n=2");
        Assert.Equal(["a/b", "a/b/c"], await ReadRepositoriesAsync(first));
        Assert.Equal("</v2/_catalog?n=2&last=a%2Fb%2Fc>; rel=\"next\"", first.Header("Link"));

        using var second = await Client.GetAsync(ParseNextLink(first.Header("Link")));
        Assert.Equal(["a/c", "b"], await ReadRepositoriesAsync(second));
        Assert.Null(second.Header("Link"));
    }

    [Fact]
    public async Task Catalog_WithLast_ReturnsRepositoriesAfterIt()
    {
        foreach (var name in new[] { "a", "b", "c/d", "c" })
        {
            await Client.PushBlobAsync(name, TestImages.Bytes(5, 1));
        }

        using var response = await Client.GetAsync("/v2/_catalog?last=b");

        Assert.Equal(["c", "c/d"], await ReadRepositoriesAsync(response));
    }

    [Fact]
    public async Task Catalog_NZero_ReturnsEmptyListWithoutLink()
    {
        await Client.PushBlobAsync("a", TestImages.Bytes(5, 1));

        using var response = await Client.GetAsync("/v2/_catalog?n=0");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await ReadRepositoriesAsync(response));
        Assert.Null(response.Header("Link"));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("2147483648")]
    public async Task Catalog_InvalidN_Returns400PaginationNumberInvalid(string n)
    {
        using var response = await Client.GetAsync($"/v2/_catalog?n={n}");

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task TagsListAndCatalog_Body_IsExactlyTheSpecifiedObjectWithItsLength()
    {
        await PushTagsAsync("v2", "1.0");

        using var tags = await Client.GetAsync($"/v2/{Repository}/tags/list");
        using var catalog = await Client.GetAsync("/v2/_catalog");

        var tagsBody = await tags.Content.ReadAsStringAsync();
        var catalogBody = await catalog.Content.ReadAsStringAsync();
        Assert.Equal("""{"name":"project/app","tags":["1.0","v2"]}""", tagsBody);
        Assert.Equal(tagsBody.Length, tags.Content.Headers.ContentLength);
        Assert.Equal("""{"repositories":["project/app"]}""", catalogBody);
        Assert.Equal(catalogBody.Length, catalog.Content.Headers.ContentLength);
    }

    // ---------------------------------------------------------------- helpers

    private async Task PushTagsAsync(params string[] tags)
    {
        var image = TestImages.OciImage(7);
        await Client.PushManifestAsync(Repository, image);
        foreach (var tag in tags)
        {
            using var response = await Client.PutManifestAsync(Repository, tag, image.Body, image.MediaType);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    private static async Task<(string Name, string[] Tags)> ReadTagsAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return (json.RootElement.GetProperty("name").GetString()!,
            json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray());
    }

    private static async Task<string[]> ReadRepositoriesAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return json.RootElement.GetProperty("repositories").EnumerateArray().Select(t => t.GetString()!).ToArray();
    }

    /// <summary>The URL of a <c>Link: &lt;url&gt;; rel="next"</c> header, or null.</summary>
    private static string? ParseNextLink(string? link)
    {
        if (link is null)
        {
            return null;
        }

        Assert.StartsWith("<", link, StringComparison.Ordinal);
        Assert.EndsWith(">; rel=\"next\"", link, StringComparison.Ordinal);
        return link[1..link.IndexOf('>', StringComparison.Ordinal)];
    }
}
