using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Testing;

namespace Berth.Migration.Tests;

/// <summary>A credential made on the source, as a client would send it after the migration.</summary>
/// <param name="Label">What it is, for messages (<c>robot ci (pull,push)</c>).</param>
public sealed record MadeCredential(string Label, string User, string Secret);

/// <summary>
/// What clients see of a server, taken the same way on the source (before the migration) and on the migrated server,
/// so the two can be compared line by line: the catalog and every tags list (bodies as sent), and for every credential
/// and repository the answers of a pull, a push and the catalog with Basic auth, of <c>/token</c> (status and the
/// access it grants) and of a pull with that registry token; then pulls from addresses the IP allow rules treat
/// differently. Each line is "request: answer"; a push probe uploads one small blob that is the same on both. Each
/// credential's requests come from its own loopback address, in the same order on both servers.
/// </summary>
public static class ServerObservation
{
    /// <summary>Repositories of the installation whose access is probed (one per project).</summary>
    public static readonly string[] ProbedRepositories = ["shop/api", "web/site", "ops/tool"];

    /// <summary>A tag of each probed repository.</summary>
    private static readonly Dictionary<string, string> Tags = new(StringComparer.Ordinal)
    {
        ["shop/api"] = "v1",
        ["web/site"] = "latest",
        ["ops/tool"] = "1.0",
    };

    /// <summary>The blob a push probe uploads (monolithic POST with its digest).</summary>
    public static readonly byte[] ProbeBlob = Encoding.UTF8.GetBytes("pushed by an access probe");

    /// <summary>Addresses whose pulls (as the administrator) the IP allow rules answer differently.</summary>
    public static readonly string[] ProbedAddresses = ["127.0.0.1", "192.168.7.7", "10.1.2.3", "172.16.0.9"];

    /// <summary>The catalog and every tags list, as the administrator gets them.</summary>
    public static async Task<List<string>> ListingsAsync(BerthApplication app)
    {
        using var client = app.CreateClient();
        var lines = new List<string> { "catalog: " + await BodyAsync(client, "/v2/_catalog") };
        foreach (var repository in await client.GetCatalogAsync())
        {
            lines.Add($"tags of {repository}: " + await BodyAsync(client, $"/v2/{repository}/tags/list"));
        }

        return lines;
    }

    /// <summary>Every credential against every probed repository, then the IP rules.</summary>
    public static async Task<List<string>> AccessAsync(BerthApplication app, IEnumerable<MadeCredential> credentials)
    {
        var lines = new List<string>();
        var digest = TestImages.Sha256(ProbeBlob);
        var number = 10;
        foreach (var credential in credentials)
        {
            // Each credential from its own loopback address: the failed sign-ins of the refused ones are throttled per
            // address, and must not turn the others' answers (or the later tests') into 429s.
            var address = $"127.0.0.{number++}";
            using var basic = app.CreateClient(credential.User, credential.Secret);
            basic.DefaultRequestHeaders.Add(BerthApplication.ClientAddressHeader, address);
            using (var catalog = await basic.GetAsync("/v2/_catalog"))
            {
                lines.Add($"{credential.Label}: basic catalog: {(int)catalog.StatusCode} {await catalog.Content.ReadAsStringAsync()}");
            }

            foreach (var repository in ProbedRepositories)
            {
                var manifest = $"/v2/{repository}/manifests/{Tags[repository]}";
                using (var pull = await basic.GetAsync(manifest))
                {
                    lines.Add($"{credential.Label}: basic pull {repository}: {(int)pull.StatusCode}");
                }

                using (var push = await basic.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", ProbeBlob))
                {
                    lines.Add($"{credential.Label}: basic push {repository}: {(int)push.StatusCode}");
                }

                using var token = await basic.GetAsync($"/token?service=berth&scope={Uri.EscapeDataString($"repository:{repository}:pull,push")}");
                var body = await token.Content.ReadAsStringAsync();
                if (!token.IsSuccessStatusCode)
                {
                    lines.Add($"{credential.Label}: token {repository}: {(int)token.StatusCode}");
                    continue;
                }

                var registryToken = JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
                lines.Add($"{credential.Label}: token {repository}: {(int)token.StatusCode} grants [{string.Join(' ', AccessOf(registryToken))}]");
                using var bearer = app.CreateAnonymousClient();
                bearer.DefaultRequestHeaders.Add(BerthApplication.ClientAddressHeader, address);
                bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", registryToken);
                using (var pull = await bearer.GetAsync(manifest))
                {
                    lines.Add($"{credential.Label}: bearer pull {repository}: {(int)pull.StatusCode}");
                }

                using (var push = await bearer.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", ProbeBlob))
                {
                    lines.Add($"{credential.Label}: bearer push {repository}: {(int)push.StatusCode}");
                }
            }
        }

        foreach (var address in ProbedAddresses)
        {
            using var client = app.CreateClientFrom(address);
            foreach (var repository in ProbedRepositories)
            {
                using var pull = await client.GetAsync($"/v2/{repository}/manifests/{Tags[repository]}");
                lines.Add($"admin from {address}: pull {repository}: {(int)pull.StatusCode}");
            }
        }

        return lines;
    }

    /// <summary>The <c>access</c> claim of a registry token (its payload, not verified) as "type:name:actions".</summary>
    private static IEnumerable<string> AccessOf(string token)
    {
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
        if (!json.RootElement.TryGetProperty("access", out var access))
        {
            return [];
        }

        return access.EnumerateArray()
            .Select(a => $"{a.GetProperty("type").GetString()}:{a.GetProperty("name").GetString()}:{string.Join(',', a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()).Order(StringComparer.Ordinal))}")
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static async Task<string> BodyAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }
}
