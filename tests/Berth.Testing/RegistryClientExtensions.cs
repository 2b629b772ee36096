using System.Net;
using System.Text.Json;

namespace Berth.Testing;

/// <summary>One entry of an OCI error body <c>{"errors":[{"code","message","detail"}]}</c>.</summary>
public sealed record OciError(string Code, string Message, JsonElement Detail);

/// <summary>
/// Registry operations over an <see cref="HttpClient"/> for tests: push helpers throw when the registry does not answer
/// as the spec requires, so a test fails at the step that broke.
/// </summary>
public static class RegistryClientExtensions
{
    /// <summary>Pushes <paramref name="content"/> with a monolithic <c>POST ?digest=</c>; returns its sha256 digest.</summary>
    public static async Task<string> PushBlobAsync(this HttpClient client, string repository, byte[] content)
    {
        var digest = TestImages.Sha256(content);
        using var response = await client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(content));
        await EnsureStatusAsync(response, HttpStatusCode.Created, $"push blob {digest} to {repository}");
        return digest;
    }

    /// <summary>Starts an upload session; returns its Location (a path).</summary>
    public static async Task<string> StartUploadAsync(this HttpClient client, string repository)
    {
        using var response = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        await EnsureStatusAsync(response, HttpStatusCode.Accepted, $"start upload in {repository}");
        return response.Headers.Location?.OriginalString ?? throw new InvalidOperationException("202 without Location");
    }

    /// <summary>PUTs a manifest (the raw response: the caller checks it).</summary>
    public static Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string repository, string reference, byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return client.PutAsync($"/v2/{repository}/manifests/{reference}", content);
    }

    /// <summary>Pushes the manifest's blobs (and child manifests, by digest) then the manifest under <paramref name="reference"/>; returns its digest.</summary>
    public static async Task<string> PushManifestAsync(this HttpClient client, string repository, TestManifest manifest, string? reference = null)
    {
        foreach (var blob in manifest.Blobs)
        {
            await client.PushBlobAsync(repository, blob);
        }

        foreach (var child in manifest.Children)
        {
            await client.PushManifestAsync(repository, child);
        }

        using var response = await client.PutManifestAsync(repository, reference ?? manifest.Digest, manifest.Body, manifest.MediaType);
        await EnsureStatusAsync(response, HttpStatusCode.Created, $"push manifest {manifest.Digest} to {repository}:{reference}");
        return manifest.Digest;
    }

    /// <summary>The repository's tags, or null when the tags list answers 404.</summary>
    public static async Task<IReadOnlyList<string>?> GetTagsAsync(this HttpClient client, string repository)
    {
        using var response = await client.GetAsync($"/v2/{repository}/tags/list");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureStatusAsync(response, HttpStatusCode.OK, $"list tags of {repository}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToList();
    }

    /// <summary>Every repository in the catalog (one page of up to 1000).</summary>
    public static async Task<IReadOnlyList<string>> GetCatalogAsync(this HttpClient client)
    {
        using var response = await client.GetAsync("/v2/_catalog");
        await EnsureStatusAsync(response, HttpStatusCode.OK, "list the catalog");
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return json.RootElement.GetProperty("repositories").EnumerateArray().Select(t => t.GetString()!).ToList();
    }

    /// <summary>True when HEAD on the blob answers 200, false on 404.</summary>
    public static async Task<bool> BlobExistsAsync(this HttpClient client, string repository, string digest)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
        using var response = await client.SendAsync(request);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw new InvalidOperationException($"HEAD blob {digest} in {repository} answered {(int)response.StatusCode}"),
        };
    }

    /// <summary>True when HEAD on the manifest answers 200, false on 404.</summary>
    public static async Task<bool> ManifestExistsAsync(this HttpClient client, string repository, string reference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{reference}");
        using var response = await client.SendAsync(request);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw new InvalidOperationException($"HEAD manifest {reference} in {repository} answered {(int)response.StatusCode}"),
        };
    }

    /// <summary>Sends a request with an optional body and extra headers (content headers go on the body).</summary>
    public static Task<HttpResponseMessage> SendAsync(this HttpClient client, HttpMethod method, string path, byte[]? body = null,
        params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }

        foreach (var (name, value) in headers)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return client.SendAsync(request);
    }

    /// <summary>The single value of a response header, looking in both the response and content headers; null when absent.</summary>
    public static string? Header(this HttpResponseMessage response, string name)
    {
        if (response.Headers.NonValidated.TryGetValues(name, out var values) ||
            response.Content.Headers.NonValidated.TryGetValues(name, out values))
        {
            return string.Join(", ", values);
        }

        return null;
    }

    /// <summary>Reads the first error of an OCI error body; throws when the body is not one.</summary>
    public static async Task<OciError> ReadErrorAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        try
        {
            using var json = JsonDocument.Parse(body);
            var error = json.RootElement.GetProperty("errors")[0];
            return new OciError(
                error.GetProperty("code").GetString()!,
                error.GetProperty("message").GetString()!,
                error.GetProperty("detail").Clone());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new InvalidOperationException($"not an OCI error body ({(int)response.StatusCode}): {System.Text.Encoding.UTF8.GetString(body)}", ex);
        }
    }

    private static async Task EnsureStatusAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            var body = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException($"{what}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        }
    }
}
