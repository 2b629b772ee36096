using System.Text;
using System.Text.Json.Nodes;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests.Docker;

/// <summary>
/// The lab's registry flow, exactly as the lab (and README's quick start) has it (issue 16, item 2): a project, a
/// user and personal access tokens made with the <c>berth</c> CLI; <c>docker login</c> with the token;
/// <c>~/.docker/config.json</c> as docker writes it; tag, push both tags, <c>docker rmi</c>; on the second engine
/// log in, pull, run, look at the history, pull by digest; log out, and the private project refuses the pull.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class DockerRegistryFlowTests(DockerLabFixture lab)
{
    [Fact]
    public async Task Lab_CliProjectAndTokens_DockerLoginTagPushRmiThenPullRunByDigestAndLogoutOnTheOtherEngine()
    {
        await lab.BuildAsync();
        var host = lab.Host;
        var v1 = $"{host}/shop/api:v1.0";
        var latest = $"{host}/shop/api:latest";

        // berth CLI, as the administrator: the project, the user, the membership.
        using var admin = new BerthCli();
        Assert.Contains("Login Succeeded", await admin.LoginAsync(lab.Registry, BerthProcess.AdminUser, BerthProcess.AdminPassword), StringComparison.Ordinal);
        Assert.Contains("shop", await admin.RunAsync(null, "project", "create", "shop", "--description", "Shop services"), StringComparison.Ordinal);
        await admin.RunAsync("alices-password\n", "user", "create", "alice", "--password-stdin");
        Assert.Contains("developer", await admin.RunAsync(null, "member", "add", "shop", "alice", "--role", "developer"), StringComparison.Ordinal);

        // berth CLI, as alice: her tokens (the secret is shown once, in the JSON).
        using var alice = new BerthCli();
        await alice.LoginAsync(lab.Registry, "alice", "alices-password");
        var token = await alice.CreateTokenAsync("laptop", "pull,push", "shop");
        var pullToken = await alice.CreateTokenAsync("server", "pull", "shop");

        // The laptop: docker login with the token as the password.
        using var laptop = new DockerClient(lab.Laptop);
        var login = await laptop.LoginAsync(host, "alice", token);
        Assert.True(login.ExitCode == 0, login.Describe());
        Assert.Contains("Login Succeeded", login.StandardOutputText, StringComparison.Ordinal);
        AssertConfigAsDockerWritesIt(laptop, host, "alice", token);

        // Tag twice, push both: the second push uploads nothing ("Layer already exists"), same manifest.
        await laptop.CheckedAsync("tag", "api", v1);
        await laptop.CheckedAsync("tag", "api", latest);
        var layers = (await laptop.InspectAsync("api", "{{len .RootFS.Layers}}")).Trim();
        var first = await laptop.PushAsync(v1);
        var second = await laptop.PushAsync(latest);
        Assert.Equal(int.Parse(layers, System.Globalization.CultureInfo.InvariantCulture), first.Layers.Count);
        Assert.True(first.AlreadyExisted.Count == 0, first.Output); // uploaded, or mounted from another repository docker pushed them to
        Assert.Equal(first.Layers.Count, first.Pushed.Count + first.Mounted.Count);
        Assert.Equal("v1.0", first.Tag);
        Assert.True(second.Layers.Count == first.Layers.Count && second.AlreadyExisted.Count == first.Layers.Count, second.Output);
        Assert.Equal(("latest", first.Digest), (second.Tag, second.Digest));
        var imageId = await laptop.ImageIdAsync(v1);

        // docker rmi: the laptop forgets both tags (the image itself stays as api:latest).
        var rmi = await laptop.CheckedAsync("rmi", v1, latest);
        Assert.Contains($"Untagged: {v1}", rmi.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains($"Untagged: {latest}", rmi.StandardOutputText, StringComparison.Ordinal);
        Assert.Equal(string.Empty, (await laptop.CheckedAsync("images", "-q", $"{host}/shop/api")).StandardOutputText.Trim());

        // The other machine: log in with the pull-only token, pull, run.
        using var server = new DockerClient(lab.Server);
        Assert.Contains("Login Succeeded", (await server.LoginAsync(host, "alice", pullToken)).StandardOutputText, StringComparison.Ordinal);
        var pull = await server.CheckedAsync("pull", v1);
        Assert.Contains($"Digest: {first.Digest}", pull.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains($"Status: Downloaded newer image for {v1}", pull.StandardOutputText, StringComparison.Ordinal);
        Assert.Equal(imageId, await server.ImageIdAsync(v1));
        var run = await server.CheckedAsync("run", "--rm", "--network", "none", v1);
        Assert.StartsWith(LabImages.AppOutputAsApp, run.StandardOutputText, StringComparison.Ordinal);

        // docker history on the pulled image: the lab's run stage, as built on the laptop.
        var history = (await server.CheckedAsync("history", "--no-trunc", v1)).StandardOutputText;
        Assert.Contains("USER app", history, StringComparison.Ordinal);
        Assert.Contains("COPY file:", history, StringComparison.Ordinal);

        // By digest: what docker push printed.
        var byDigest = $"{host}/shop/api@{first.Digest}";
        var digestPull = await server.CheckedAsync("pull", byDigest);
        Assert.Contains($"Digest: {first.Digest}", digestPull.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains(first.Digest, (await server.CheckedAsync("images", "--digests", "--format", "{{.Digest}}", $"{host}/shop/api")).StandardOutputText, StringComparison.Ordinal);
        Assert.StartsWith(LabImages.AppOutputAsApp, (await server.CheckedAsync("run", "--rm", "--network", "none", byDigest)).StandardOutputText, StringComparison.Ordinal);

        // docker logout: the credentials leave config.json, and the private project refuses the pull, saying what to do,
        // in the same words as for a project that does not exist.
        var logout = await server.CheckedAsync("logout", host);
        Assert.Contains($"Removing login credentials for {host}", logout.StandardOutputText, StringComparison.Ordinal);
        Assert.Null(Auths(server)?[host]);
        var refused = DockerAssert.Denied(await server.RunAsync("pull", v1));
        Assert.Equal("authentication required for pull on shop/api: log in first (docker login) with an account that may pull in project 'shop'", refused);
        var missing = DockerAssert.Denied(await server.RunAsync("pull", $"{host}/nosuch/api:v1.0"));
        Assert.Equal(refused.Replace("shop", "nosuch", StringComparison.Ordinal), missing);
    }

    /// <summary>
    /// <c>auths.HOST</c> holds the user name with an empty password and an identity token (Berth's refresh token, which
    /// docker asked for when it signed in): the access token itself is not written to disk. The file is owner-only.
    /// </summary>
    private static void AssertConfigAsDockerWritesIt(DockerClient client, string host, string user, string token)
    {
        var text = File.ReadAllText(client.ConfigFile);
        var entry = Auths(client)?[host]?.AsObject();
        Assert.True(entry is not null, $"no auths entry for {host} in {client.ConfigFile}:\n{text}");
        Assert.Equal(user + ":", Encoding.UTF8.GetString(Convert.FromBase64String(entry["auth"]!.GetValue<string>())));
        var identity = entry["identitytoken"]?.GetValue<string>();
        Assert.True(identity is not null && identity.Split('.').Length == 3, $"no identity token (a JWT) in:\n{text}");
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the Docker lab runs on Linux");
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(client.ConfigFile));
    }

    private static JsonObject? Auths(DockerClient client) =>
        File.Exists(client.ConfigFile) ? JsonNode.Parse(File.ReadAllText(client.ConfigFile))?["auths"]?.AsObject() : null;
}
