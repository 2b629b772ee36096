using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace Berth.Bench;

/// <summary>
/// Creates and removes the buckets of <c>compare.sh --scale-out</c> on an S3-compatible server (radosgw), with only the
/// base library: AWS Signature Version 4 over <see cref="HttpClient"/>, path-style addressing. Removing a bucket first
/// deletes every object (1,000 a request) and aborts every pending multipart upload, since S3 refuses to delete a
/// bucket that is not empty: the reference registry's tree at 10,000 repositories is about 700,000 objects.
/// Keys come from <c>AWS_ACCESS_KEY_ID</c> / <c>AWS_SECRET_ACCESS_KEY</c>.
/// </summary>
internal sealed class S3Buckets : IDisposable
{
    private static readonly XNamespace Ns = "http://s3.amazonaws.com/doc/2006-03-01/";
    // Every request is small (at most 1,000 keys): a dead server fails the run within a minute.
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly Uri _endpoint;
    private readonly string _region;
    private readonly string _accessKey;
    private readonly string _secretKey;

    public S3Buckets(Uri endpoint, string region, string accessKey, string secretKey)
    {
        _endpoint = endpoint;
        _region = region;
        _accessKey = accessKey;
        _secretKey = secretKey;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Creates the bucket; one that already exists and is ours is fine.</summary>
    public async Task CreateAsync(string bucket, CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Put, bucket, string.Empty, [], null, cancel);
        if (response.StatusCode != HttpStatusCode.OK && !await IsCodeAsync(response, "BucketAlreadyOwnedByYou"))
        {
            throw await FailureAsync("create bucket " + bucket, response);
        }
    }

    /// <summary>Deletes every object and pending upload, then the bucket; returns the objects deleted. A missing bucket is 0.</summary>
    public async Task<long> DeleteAsync(string bucket, CancellationToken cancel)
    {
        long deleted = 0;
        while (true)
        {
            // Always the first page: the previous page's keys are gone, so no continuation token is needed.
            using var list = await SendAsync(HttpMethod.Get, bucket, string.Empty, [("list-type", "2"), ("max-keys", "1000")], null, cancel);
            if (list.StatusCode == HttpStatusCode.NotFound)
            {
                return deleted;
            }

            if (list.StatusCode != HttpStatusCode.OK)
            {
                throw await FailureAsync("list " + bucket, list);
            }

            var doc = XDocument.Parse(await list.Content.ReadAsStringAsync(cancel));
            var keys = doc.Descendants(Ns + "Contents").Select(c => (string)c.Element(Ns + "Key")!).ToList();
            if (keys.Count == 0)
            {
                break;
            }

            var body = new XElement(Ns + "Delete", new XElement(Ns + "Quiet", "true"),
                keys.Select(k => new XElement(Ns + "Object", new XElement(Ns + "Key", k))));
            var bytes = Encoding.UTF8.GetBytes(body.ToString(SaveOptions.DisableFormatting));
            using var delete = await SendAsync(HttpMethod.Post, bucket, string.Empty, [("delete", string.Empty)], bytes, cancel);
            if (delete.StatusCode != HttpStatusCode.OK)
            {
                throw await FailureAsync("delete objects in " + bucket, delete);
            }

            var errors = XDocument.Parse(await delete.Content.ReadAsStringAsync(cancel)).Descendants(Ns + "Error").ToList();
            if (errors.Count > 0)
            {
                throw new IOException($"delete objects in {bucket}: {errors.Count} failed, first: {errors[0]}");
            }

            deleted += keys.Count;
        }

        while (true)
        {
            using var uploads = await SendAsync(HttpMethod.Get, bucket, string.Empty, [("uploads", string.Empty)], null, cancel);
            if (uploads.StatusCode != HttpStatusCode.OK)
            {
                throw await FailureAsync("list uploads in " + bucket, uploads);
            }

            var pending = XDocument.Parse(await uploads.Content.ReadAsStringAsync(cancel)).Descendants(Ns + "Upload")
                .Select(u => ((string)u.Element(Ns + "Key")!, (string)u.Element(Ns + "UploadId")!)).ToList();
            if (pending.Count == 0)
            {
                break;
            }

            foreach (var (key, id) in pending)
            {
                using var abort = await SendAsync(HttpMethod.Delete, bucket, key, [("uploadId", id)], null, cancel);
                if (abort.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.OK or HttpStatusCode.NotFound))
                {
                    throw await FailureAsync($"abort upload {key} in {bucket}", abort);
                }
            }
        }

        using var drop = await SendAsync(HttpMethod.Delete, bucket, string.Empty, [], null, cancel);
        if (drop.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.OK or HttpStatusCode.NotFound))
        {
            throw await FailureAsync("delete bucket " + bucket, drop);
        }

        return deleted;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string bucket, string key, (string Name, string Value)[] query, byte[]? body, CancellationToken cancel)
    {
        var path = "/" + Escape(bucket) + (key.Length > 0 ? "/" + string.Join('/', key.Split('/').Select(Escape)) : string.Empty);
        var canonicalQuery = string.Join('&', query.Select(q => (Name: Escape(q.Name), Value: Escape(q.Value)))
            .OrderBy(q => q.Name, StringComparer.Ordinal).Select(q => q.Name + "=" + q.Value));
        var payload = body ?? [];
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(payload));
        var now = DateTime.UtcNow;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var day = amzDate[..8];
        var host = _endpoint.IsDefaultPort ? _endpoint.Host : _endpoint.Host + ":" + _endpoint.Port.ToString(CultureInfo.InvariantCulture);

        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = host,
            ["x-amz-content-sha256"] = payloadHash,
            ["x-amz-date"] = amzDate,
        };
        if (body is not null)
        {
            // DeleteObjects requires an integrity header; Content-MD5 is the one every S3 server knows.
            headers["content-md5"] = Convert.ToBase64String(MD5.HashData(payload));
        }

        var signedHeaders = string.Join(';', headers.Keys);
        var canonical = $"{method.Method}\n{path}\n{canonicalQuery}\n{string.Concat(headers.Select(h => h.Key + ":" + h.Value + "\n"))}\n{signedHeaders}\n{payloadHash}";
        var scope = $"{day}/{_region}/s3/aws4_request";
        var toSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var signingKey = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + _secretKey), day), _region), "s3"), "aws4_request");
        var signature = Convert.ToHexStringLower(Hmac(signingKey, toSign));

        var request = new HttpRequestMessage(method, new Uri(_endpoint, path + (canonicalQuery.Length > 0 ? "?" + canonicalQuery : string.Empty)));
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={_accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        if (body is not null)
        {
            request.Content = new ByteArrayContent(payload);
            request.Content.Headers.TryAddWithoutValidation("Content-MD5", headers["content-md5"]);
        }

        using (request)
        {
            return await _http.SendAsync(request, cancel);
        }
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    /// <summary>RFC 3986 escaping as SigV4 wants it: everything but unreserved characters, upper-case hex.</summary>
    private static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static async Task<bool> IsCodeAsync(HttpResponseMessage response, string code) =>
        (await response.Content.ReadAsStringAsync()).Contains("<Code>" + code + "</Code>", StringComparison.Ordinal);

    private static async Task<IOException> FailureAsync(string what, HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return new IOException($"{what}: {(int)response.StatusCode} {response.ReasonPhrase}: {(text.Length > 300 ? text[..300] : text)}");
    }
}
