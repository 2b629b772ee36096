using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Api.Access;
using Berth.Core.Access;
using Berth.Testing;

namespace Berth.Api.Tests.Access;

/// <summary>
/// The refusal of a Bearer request carries its message in the challenge (<c>error_description</c>), because that is
/// what docker and podman print (<c>denied: …</c>); HEAD has no body to carry it. The message says what to do and
/// reads the same for a private project as for a missing one.
/// </summary>
public sealed class RefusalChallengeTests : AccessTest
{
    private const string PushScope = "repository:shop/api:pull,push";
    private const string Blob = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    public RefusalChallengeTests()
    {
        Setup.ProjectAsync("shop").GetAwaiter().GetResult();
    }

    [Fact]
    public async Task Push_PullOnlyAccessToken_ChallengeDescriptionIsTheBodyMessageAndNamesTheTokenScope()
    {
        var (dev, _) = await UserAsync("dev", "shop");
        var (_, secret) = await Setup.TokenAsync(dev, AccessTokenScope.Pull);
        var token = await AccessClient.GetTokenAsync(App, new Credentials("dev", secret), PushScope);
        using var client = AccessClient.Bearer(App, token);

        using var response = await client.PostAsync("/v2/shop/api/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Parse(response.Header("WWW-Authenticate"));
        Assert.Equal("insufficient_scope", challenge["error"]);
        Assert.Equal(PushScope, challenge["scope"]);
        var description = challenge["error_description"];
        Assert.Equal(await MessageAsync(response), description);
        Assert.StartsWith("requested access to the resource is denied: pull,push on shop/api", description, StringComparison.Ordinal);
        Assert.Contains("project 'shop' does not exist or you may not pull,push in it", description, StringComparison.Ordinal);
        Assert.Contains("access token whose scope", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_PrivateAndMissingProject_SameDescriptionButForTheName()
    {
        var (_, stranger) = await UserAsync("stranger");
        var privateToken = await AccessClient.GetTokenAsync(App, stranger, PushScope);
        var missingToken = await AccessClient.GetTokenAsync(App, stranger, "repository:ghost/api:pull,push");

        var toPrivate = await RefusalAsync(privateToken, HttpMethod.Post, "/v2/shop/api/blobs/uploads/");
        var toMissing = await RefusalAsync(missingToken, HttpMethod.Post, "/v2/ghost/api/blobs/uploads/");

        Assert.Equal(toPrivate.Replace("shop", "ghost", StringComparison.Ordinal), toMissing);
        Assert.Contains("ask an owner of the project", toMissing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Head_StrangerOnPrivateProject_DescriptionCarriesTheMessageWithoutABody()
    {
        var (_, stranger) = await UserAsync("stranger");
        var token = await AccessClient.GetTokenAsync(App, stranger, "repository:shop/api:pull");

        var description = await RefusalAsync(token, HttpMethod.Head, $"/v2/shop/api/blobs/{Blob}");

        Assert.StartsWith("requested access to the resource is denied: pull on shop/api (project 'shop' does not exist", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PushAndPull_AnonymousToken_DescriptionSaysToLogInAndReadsTheSameForAMissingProject()
    {
        var pushToken = await AccessClient.GetTokenAsync(App, null, PushScope);
        var pullPrivate = await AccessClient.GetTokenAsync(App, null, "repository:shop/api:pull");
        var pullMissing = await AccessClient.GetTokenAsync(App, null, "repository:ghost/api:pull");

        var push = await RefusalAsync(pushToken, HttpMethod.Post, "/v2/shop/api/blobs/uploads/");
        var fromPrivate = await RefusalAsync(pullPrivate, HttpMethod.Get, "/v2/shop/api/manifests/v1");
        var fromMissing = await RefusalAsync(pullMissing, HttpMethod.Get, "/v2/ghost/api/manifests/v1");

        Assert.Equal("authentication required for pull,push on shop/api: log in first (docker login) with an account that may pull,push in project 'shop'", push);
        Assert.Equal(fromPrivate.Replace("shop", "ghost", StringComparison.Ordinal), fromMissing);
        Assert.StartsWith("authentication required for pull on shop/api: log in first", fromPrivate, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Challenge_ExpiredOrForgedToken_NoDescriptionOnInvalidToken()
    {
        using var client = AccessClient.Bearer(App, "not.a.token");

        using var response = await client.GetAsync("/v2/shop/api/manifests/v1");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Parse(response.Header("WWW-Authenticate"));
        Assert.Equal("invalid_token", challenge["error"]);
        Assert.False(challenge.ContainsKey("error_description"));
    }

    [Theory]
    [InlineData("plain text", "\"plain text\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("a\\b", "\"a\\\\b\"")]
    [InlineData("line\r\nbreak é\u0000", "\"line??break ??\"")]
    [InlineData("", "\"\"")]
    public void QuotedString_QuotesBackslashesAndControlCharacters_EscapedOrReplaced(string text, string expected)
    {
        var quoted = RegistryAuthorizer.QuotedString(text);

        Assert.Equal(expected, quoted);
        Assert.All(quoted, c => Assert.InRange(c, ' ', '~'));
        var printable = text.All(c => c is >= ' ' and <= '~');
        Assert.Equal(printable ? text : expected[1..^1], Parse("Bearer x=" + quoted)["x"]);
    }

    /// <summary>Sends the request with the registry token; asserts 401 insufficient_scope and returns the description.</summary>
    private async Task<string> RefusalAsync(string token, HttpMethod method, string path)
    {
        using var client = AccessClient.Bearer(App, token);
        using var request = new HttpRequestMessage(method, path);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Parse(response.Header("WWW-Authenticate"));
        Assert.Equal("insufficient_scope", challenge["error"]);
        var description = challenge["error_description"];
        if (method != HttpMethod.Head)
        {
            Assert.Equal(await MessageAsync(response), description);
        }

        return description;
    }

    private static async Task<string> MessageAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("errors")[0].GetProperty("message").GetString()!;
    }

    /// <summary>
    /// A Bearer challenge's parameters, read as distribution's challenge parser reads them (registry/client/auth/
    /// challenge/authchallenge.go): tokens, and quoted strings in which a backslash escapes the next character.
    /// </summary>
    private static Dictionary<string, string> Parse(string? header)
    {
        Assert.NotNull(header);
        Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = "Bearer ".Length;
        while (i < header.Length)
        {
            var equals = header.IndexOf('=', i);
            Assert.True(equals > i, $"no parameter at {i} in {header}");
            var name = header[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < header.Length && header[i] == '"')
            {
                for (i++; ; i++)
                {
                    Assert.True(i < header.Length, $"unterminated quoted string in {header}");
                    if (header[i] == '\\')
                    {
                        value.Append(header[++i]);
                    }
                    else if (header[i] == '"')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        value.Append(header[i]);
                    }
                }
            }
            else
            {
                for (; i < header.Length && header[i] != ','; i++)
                {
                    value.Append(header[i]);
                }
            }

            Assert.True(parameters.TryAdd(name, value.ToString()), $"parameter {name} twice in {header}");
            Assert.True(i == header.Length || header[i] == ',', $"expected ',' at {i} in {header}");
            i++;
        }

        return parameters;
    }
}
