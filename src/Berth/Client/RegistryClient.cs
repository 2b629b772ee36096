using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Oci;

namespace Berth.Client;

/// <summary>
/// The little of the distribution API (<c>/v2</c>) that <c>berth sign</c> and <c>berth verify</c> need: manifests by tag
/// or digest, blobs, monolithic blob pushes, manifest pushes and the referrers API. Authenticates with Basic and the
/// stored login (the registry takes a user name with a password or an access token on <c>/v2</c>, as <c>docker
/// login</c> does). Every body read is bounded; failures are <see cref="ClientException"/>s with the registry's OCI
/// error code and message.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    /// <summary>The largest manifest read (the registry's own limit is 4 MiB).</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    /// <summary>The largest OCI error body read for its message.</summary>
    private const int MaxErrorBytes = 64 * 1024;

    /// <summary>Every manifest type asked for: a tag may name an image, an index, or their Docker forms.</summary>
    public static readonly IReadOnlyList<string> ManifestTypes =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    private readonly HttpClient _http;

    /// <param name="ownsHandler">Whether disposing the client disposes <paramref name="handler"/>.</param>
    public RegistryClient(HttpMessageHandler handler, string baseUrl, Login? login, bool ownsHandler = false)
    {
        BaseUrl = baseUrl;
        _http = new HttpClient(handler, disposeHandler: ownsHandler);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("berth-cli", "1"));
        if (login is not null)
        {
            _http.DefaultRequestHeaders.Authorization = ManagementClient.BasicAuthorization(login.User, login.Secret);
        }
    }

    /// <summary>The server, normalised (<c>https://host:port</c>).</summary>
    public string BaseUrl { get; }

    /// <summary>The registry's host and port as image names carry it (<c>registry.example.com:5000</c>).</summary>
    public string Host => new Uri(BaseUrl).Authority;

    public void Dispose() => _http.Dispose();

    /// <summary>HEAD of a manifest by tag or digest: its digest, media type and size; null when there is none (404).</summary>
    public async Task<RegistryManifest?> HeadManifestAsync(RepositoryName repository, string reference)
    {
        var (manifest, denied) = await TryHeadManifestAsync(repository, reference);
        return denied is null ? manifest : throw new ClientException(denied);
    }

    /// <summary>
    /// As <see cref="HeadManifestAsync"/>, but a refusal (403, such as a "signed images only" policy's <c>DENIED</c>)
    /// comes back as <c>Denied</c>, the registry's message, for the caller to try another way.
    /// </summary>
    public async Task<(RegistryManifest? Manifest, string? Denied)> TryHeadManifestAsync(RepositoryName repository, string reference)
    {
        using var response = await SendAsync(HttpMethod.Head, ManifestPath(repository, reference), ManifestAccept, null);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return (null, null);
        }

        var what = $"{repository}:{reference}";
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            // A HEAD has no body: ask with a GET for the registry's reason.
            using var get = await SendAsync(HttpMethod.Get, ManifestPath(repository, reference), ManifestAccept, null);
            return (null, get.StatusCode == HttpStatusCode.Forbidden ? await FailureAsync(get, what) : await FailureAsync(response, what));
        }

        await EnsureSuccessAsync(response, what);
        var type = response.Content.Headers.ContentType?.MediaType;
        var size = response.Content.Headers.ContentLength;
        if (type is null || size is null
            || !response.Headers.TryGetValues("Docker-Content-Digest", out var values)
            || !Digest.TryParse(values.FirstOrDefault(), out var digest))
        {
            // Not every registry says all of it on a HEAD: read the manifest instead.
            return (await GetManifestAsync(repository, reference), null);
        }

        return (new RegistryManifest(null, digest, type, size.Value), null);
    }

    /// <summary>
    /// GET of a manifest by tag or digest (at most <see cref="MaxManifestBytes"/>); null when there is none (404). The
    /// digest is computed here, and must be the one asked for when <paramref name="reference"/> is a digest.
    /// </summary>
    public async Task<RegistryManifest?> GetManifestAsync(RepositoryName repository, string reference)
    {
        using var response = await SendAsync(HttpMethod.Get, ManifestPath(repository, reference), ManifestAccept, null);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var what = $"{repository}:{reference}";
        await EnsureSuccessAsync(response, what);
        var body = await ReadBoundedAsync(response, MaxManifestBytes, $"the manifest {what}");
        var algorithm = Digest.TryParse(reference, out var asked) ? asked.Algorithm : DigestAlgorithm.Sha256;
        var digest = Digest.Compute(algorithm, body);
        if (asked != default && asked != digest)
        {
            throw new ClientException($"{BaseUrl} answered {repository}@{asked} with a manifest whose digest is {digest}");
        }

        var type = response.Content.Headers.ContentType?.MediaType
            ?? Manifest.TryParse(body, null, out _)?.MediaType
            ?? MediaTypes.OciManifest;
        return new RegistryManifest(body, digest, type, body.Length);
    }

    /// <summary>A blob of at most <paramref name="limit"/> bytes; null when the registry has none (404).</summary>
    public async Task<byte[]?> GetBlobAsync(RepositoryName repository, Digest digest, int limit)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}", null, null);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, $"blob {digest}");
        return await ReadBoundedAsync(response, limit, $"the blob {digest}");
    }

    /// <summary>Pushes a blob unless the repository has it already: HEAD, then a monolithic <c>POST ?digest=</c> (or POST then PUT).</summary>
    public async Task PushBlobAsync(RepositoryName repository, Digest digest, byte[] content)
    {
        using (var head = await SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}", null, null))
        {
            if (head.IsSuccessStatusCode)
            {
                return;
            }
        }

        var what = $"the push of blob {digest} to {repository}";
        using var post = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", null, Octets(content));
        if (post.StatusCode == HttpStatusCode.Created)
        {
            return;
        }

        await EnsureSuccessAsync(post, what);
        // 202: the registry opened a session instead of taking the blob at once; finish it with one PUT.
        var location = post.Headers.Location ?? throw new ClientException($"{BaseUrl} answered {what} with 202 and no Location");
        var target = location.IsAbsoluteUri ? location.ToString() : BaseUrl + location.OriginalString;
        target += (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString());
        using var put = await SendAbsoluteAsync(HttpMethod.Put, target, null, Octets(content));
        await EnsureSuccessAsync(put, what);
    }

    /// <summary>PUTs a manifest under a tag or its digest.</summary>
    public async Task PutManifestAsync(RepositoryName repository, string reference, byte[] body, string mediaType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await SendAsync(HttpMethod.Put, ManifestPath(repository, reference), null, content);
        await EnsureSuccessAsync(response, $"the push of the manifest {repository}:{reference}");
    }

    /// <summary>
    /// The referrers of <paramref name="subject"/> (<c>GET /v2/NAME/referrers/DIGEST</c>, first page); empty when the
    /// registry has no referrers API (404).
    /// </summary>
    public async Task<IReadOnlyList<Descriptor>> ReferrersAsync(RepositoryName repository, Digest subject)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/referrers/{subject}", [MediaTypes.OciIndex], null);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        await EnsureSuccessAsync(response, $"the referrers of {repository}@{subject}");
        var body = await ReadBoundedAsync(response, MaxManifestBytes, $"the referrers of {repository}@{subject}");
        var index = Manifest.TryParse(body, MediaTypes.OciIndex, out var error)
            ?? throw new ClientException($"{BaseUrl} answered the referrers of {repository}@{subject} with something that is not an index: {error}");
        return index.References;
    }

    private static string ManifestPath(RepositoryName repository, string reference) => $"/v2/{repository}/manifests/{reference}";

    private static IReadOnlyList<string> ManifestAccept => ManifestTypes;

    private static ByteArrayContent Octets(byte[] content)
    {
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return body;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, IReadOnlyList<string>? accept, HttpContent? content) =>
        SendAbsoluteAsync(method, BaseUrl + path, accept, content);

    private async Task<HttpResponseMessage> SendAbsoluteAsync(HttpMethod method, string url, IReadOnlyList<string>? accept, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Content = content;
        foreach (var type in accept ?? [])
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException ex)
        {
            throw new ClientException(ManagementClient.ConnectionFailure(ex, BaseUrl));
        }
        catch (TaskCanceledException)
        {
            throw new ClientException($"{BaseUrl} did not answer within {_http.Timeout.TotalSeconds:0} seconds");
        }
    }

    /// <summary>Reads a body of at most <paramref name="limit"/> bytes, refusing a longer one before or while reading it.</summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, int limit, string what)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new ClientException($"{what} is larger than {limit} bytes; not reading it");
        }

        await using var stream = await response.Content.ReadAsStreamAsync();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new ClientException($"{what} is larger than {limit} bytes; not reading it");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Throws for a non-success status: 401 says to log in, an OCI error body gives its code and message.</summary>
    private async Task EnsureSuccessAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new ClientException(await FailureAsync(response, what));
        }
    }

    /// <summary>The message for a failed response: 401 says to log in, an OCI error body gives its code and message.</summary>
    private async Task<string> FailureAsync(HttpResponseMessage response, string what)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return $"{what}: not logged in to {BaseUrl} or the credentials were refused (HTTP 401); run berth login {BaseUrl}";
        }

        string? reason = null;
        try
        {
            var body = await ReadBoundedAsync(response, MaxErrorBytes, "the error");
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                reason = string.Join("; ", errors.EnumerateArray()
                    .Where(e => e.ValueKind == JsonValueKind.Object)
                    .Select(e => $"{Text(e, "code")}: {Text(e, "message")}"));
            }
        }
        catch (Exception ex) when (ex is JsonException or ClientException or IOException or HttpRequestException)
        {
            // Not an OCI error body (a proxy's page, a HEAD): the status is all there is to say.
        }

        reason = string.IsNullOrWhiteSpace(reason) ? response.ReasonPhrase ?? "refused" : Output.Clean(reason);
        return $"{what}: {reason} (HTTP {status})";
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";
}
