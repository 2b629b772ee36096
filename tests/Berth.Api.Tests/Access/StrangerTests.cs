using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// Someone with no access to a private project gets exactly the answer they would get for a project that does not
/// exist, so refusals do not reveal which private projects there are, nor whether one limits its addresses.
/// </summary>
public sealed class StrangerTests : AccessTest
{
    public static TheoryData<string, string, bool, bool> Cases()
    {
        var data = new TheoryData<string, string, bool, bool>();
        foreach (var (method, path) in new[] { ("GET", "app/manifests/v1"), ("HEAD", "app/manifests/v1"), ("PUT", "app/manifests/v1"), ("DELETE", "app/manifests/v1"), ("POST", "app/blobs/uploads/"), ("GET", "app/tags/list") })
        {
            foreach (var style in new[] { "basic", "bearer", "anonymous" })
            {
                data.Add(method, path, style == "bearer", style == "anonymous");
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PrivateAndMissingProjects_AnswerAlike(string method, string path, bool bearer, bool anonymous)
    {
        await Setup.ProjectAsync("secret");
        await Setup.ProjectAsync("fenced");
        await Setup.AllowAsync("10.0.0.0/8", "fenced");
        await Admin.PushManifestAsync("secret/app", TestImages.OciImage(1), "v1");
        using (var inside = AccessClient.Basic(App, new Credentials(BerthApplication.AdminUser, BerthApplication.AdminPassword), "10.1.2.3"))
        {
            await inside.PushManifestAsync("fenced/app", TestImages.OciImage(1), "v1");
        }

        var (_, stranger) = await UserAsync("stranger");
        var credentials = anonymous ? null : stranger;

        async Task<string> AnswerAsync(string project)
        {
            var scope = $"repository:{project}/app:" + (method is "GET" or "HEAD" ? "pull" : method == "DELETE" ? "delete" : "pull,push");
            using var client = bearer
                ? AccessClient.Bearer(App, await AccessClient.GetTokenAsync(App, credentials, scope))
                : AccessClient.Basic(App, credentials);
            using var response = await client.SendAsync(new HttpMethod(method), $"/v2/{project}/{path}", method is "PUT" or "POST" ? TestImages.OciImage(3).Body : null,
                method == "PUT" ? [("Content-Type", TestImages.OciManifest)] : []);
            var body = await response.Content.ReadAsStringAsync();
            return $"{(int)response.StatusCode}\n{response.Header("WWW-Authenticate")}\n{body}".Replace(project, "NAME", StringComparison.Ordinal);
        }

        var missing = await AnswerAsync("ghost");
        Assert.StartsWith(anonymous || bearer ? "401" : "403", missing);
        Assert.Equal(missing, await AnswerAsync("secret"));
        Assert.Equal(missing, await AnswerAsync("fenced"));
    }
}
