using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Berth.Core.Access;
using Berth.Testing;
using static Berth.Testing.TestImages;

namespace Berth.Management.Tests;

/// <summary>
/// Project quotas through HTTP: <c>/api/v1/projects/{project}/quota</c> (server administrators set, members read, hostile
/// bodies are 400 problems), the quota and usage on the project, the audit entry, and a push refused then let through.
/// </summary>
public sealed class QuotaTests : IDisposable
{
    private readonly ManagementApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<HttpResponseMessage> PutRawAsync(HttpClient client, string project, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await client.PutAsync($"/api/v1/projects/{project}/quota", content);
    }

    [Fact]
    public async Task SetQuota_AsAdministrator_VisibleToMembers_Audited()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("rob");
        await _app.AddMemberAsync("shop", "rob", "reader");

        using (var set = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = 10L << 30 }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
            var body = await set.ReadJsonAsync();
            Assert.Equal(10L << 30, body.GetProperty("quotaBytes").GetInt64());
            Assert.Equal(0, body.GetProperty("usedBytes").GetInt64());
        }

        var quota = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/quota");
        Assert.Equal(10L << 30, quota.GetProperty("quotaBytes").GetInt64());
        Assert.Equal(0.0, quota.GetProperty("usedPercent").GetDouble());
        var project = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop");
        Assert.Equal(10L << 30, project.GetProperty("quotaBytes").GetInt64());
        Assert.Equal(0, project.GetProperty("usedBytes").GetInt64());

        using (var removed = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = (long?)null }))
        {
            await Expect.StatusAsync(removed, HttpStatusCode.OK);
        }

        var after = await _app.As("rob").GetJsonAsync("/api/v1/projects/shop/quota");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, after.GetProperty("quotaBytes").ValueKind);
        var entries = await _app.AuditAsync(AuditActions.QuotaSet);
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal("admin", e.ActorName));
        Assert.Contains(entries, e => e.Detail!.Contains("10737418240", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SetQuota_ByOwnerOrOutsider_IsForbiddenOrHidden()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("olga");
        await _app.CreateUserAsync("eve");
        await _app.AddMemberAsync("shop", "olga", "owner");

        using (var byOwner = await _app.As("olga").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = 1 }))
        {
            await Expect.ProblemAsync(byOwner, HttpStatusCode.Forbidden);
        }

        using (var byOutsider = await _app.As("eve").SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = 1 }))
        {
            Assert.True(byOutsider.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden, byOutsider.StatusCode.ToString());
        }

        using (var anonymous = await _app.Anonymous.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = 1 }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        Assert.Empty(await _app.AuditAsync(AuditActions.QuotaSet));
        using var missing = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/nowhere/quota", new { bytes = 1 });
        await Expect.ProblemAsync(missing, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"bytes": -1}""")]
    [InlineData("""{"bytes": "10GiB"}""")]
    [InlineData("""{"bytes": 1.5}""")]
    [InlineData("""{"bytes": 1e40}""")]
    [InlineData("""{"bytes": 99999999999999999999999999}""")]
    [InlineData("""{"bytes": true}""")]
    [InlineData("""{"bytes": [1]}""")]
    [InlineData("""{}""")]
    [InlineData("""{"bytes": 1, "extra": 2}""")]
    [InlineData("""[1]""")]
    [InlineData("""not json""")]
    public async Task SetQuota_HostileBodies_Are400Problems(string json)
    {
        await _app.CreateProjectAsync("shop");

        using var response = await PutRawAsync(_app.Admin, "shop", json);

        await Expect.ProblemAsync(response, HttpStatusCode.BadRequest);
        var quota = await _app.Admin.GetJsonAsync("/api/v1/projects/shop/quota");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, quota.GetProperty("quotaBytes").ValueKind);
    }

    [Fact]
    public async Task SetQuota_LargestNumber_IsAccepted()
    {
        await _app.CreateProjectAsync("shop");

        using var response = await PutRawAsync(_app.Admin, "shop", $$"""{"bytes": {{long.MaxValue}}}""");

        await Expect.StatusAsync(response, HttpStatusCode.OK);
        Assert.Equal(long.MaxValue, (await response.ReadJsonAsync()).GetProperty("quotaBytes").GetInt64());
    }

    [Fact]
    public async Task Push_OverQuota_IsDenied_UsageShown_ThenAllowedAfterRaising()
    {
        await _app.CreateProjectAsync("shop");
        await _app.CreateUserAsync("dev");
        await _app.AddMemberAsync("shop", "dev", "developer");
        var client = _app.As("dev");
        await client.PushManifestAsync("shop/app", OciImage(1), "v1");
        var used = (await client.GetJsonAsync("/api/v1/projects/shop")).GetProperty("usedBytes").GetInt64();
        Assert.True(used > 0);
        using (var set = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = used }))
        {
            await Expect.StatusAsync(set, HttpStatusCode.OK);
        }

        var image = OciImage(2);
        using (var refused = await client.PostAsync($"/v2/shop/app/blobs/uploads/?digest={Sha256(image.Blobs[^1])}", new ByteArrayContent(image.Blobs[^1])))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("quota exceeded: ", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var listed = await client.GetJsonAsync("/api/v1/projects");
        var shop = Assert.Single(listed.GetProperty("items").EnumerateArray());
        Assert.Equal(used, shop.GetProperty("usedBytes").GetInt64());
        Assert.Equal(used, shop.GetProperty("quotaBytes").GetInt64());

        using (var raised = await _app.Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/projects/shop/quota", new { bytes = used * 10 }))
        {
            await Expect.StatusAsync(raised, HttpStatusCode.OK);
        }

        await client.PushManifestAsync("shop/app", image, "v2");
        Assert.True((await client.GetJsonAsync("/api/v1/projects/shop/quota")).GetProperty("usedBytes").GetInt64() > used);
    }
}

/// <summary>The server's default quota (<c>--default-quota</c>) applies to projects created through the API.</summary>
public sealed class DefaultQuotaTests : IDisposable
{
    private readonly ManagementApp _app = new(new Dictionary<string, string?> { ["Berth:DefaultQuotaBytes"] = (5L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task CreateProject_GetsTheDefaultQuota_Audited()
    {
        using var response = await _app.Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/projects", new { name = "shop" });

        await Expect.StatusAsync(response, HttpStatusCode.Created);
        Assert.Equal(5L << 30, (await response.ReadJsonAsync()).GetProperty("quotaBytes").GetInt64());
        Assert.Equal(5L << 30, (await _app.Admin.GetJsonAsync("/api/v1/projects/shop/quota")).GetProperty("quotaBytes").GetInt64());
        var created = Assert.Single(await _app.AuditAsync(AuditActions.ProjectCreate));
        Assert.Contains("5368709120", created.Detail, StringComparison.Ordinal);
    }
}
