using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Berth.Bench;

/// <summary>Settings shared by every scenario of one run.</summary>
internal sealed class BenchSettings
{
    public string Label { get; set; } = "registry";
    public bool Verify { get; set; } = true;
    public bool MonolithicPost { get; set; }
    public long ChunkSize { get; set; } = 5_000_000;
    public int Repos { get; set; } = 10_000;
    public int Tags { get; set; } = 10;
    public int PageSize { get; set; } = 100;
    public long? MixedSize { get; set; }
    public bool Static { get; set; }
    public int? ServerPid { get; set; }
    public int? Concurrency { get; set; }
    public TimeSpan? Duration { get; set; }
    public long? Count { get; set; }
    public TimeSpan? Warmup { get; set; }
}

/// <summary>The scenarios: each prepares what it needs (untimed), then hands the runner one operation.</summary>
internal sealed class Scenarios(RegistryClient client, BenchSettings settings)
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string ManifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

    // Fixed trailer ids: blobs that must be the same in every registry and every run (pull, head, mixed pools).
    private const ulong PullId = 0x50554C4C_424C4F42UL;
    private const ulong HeadId = 0x48454144_424C4F42UL;
    private const ulong MixedId = 0x4D495845_44424C42UL;
    private const ulong ImageId = 0x494D4147_454C4159UL;

    /// <summary>Makes the blobs pushed by this run unique (registries already holding a blob may skip the work).</summary>
    private readonly ulong _nonce = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private string Nonce => _nonce.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<ScenarioResult?> RunAsync(ScenarioSpec spec, CancellationToken cancellationToken)
    {
        var concurrency = settings.Concurrency ?? spec.Concurrency;
        var duration = settings.Duration ?? spec.Duration;
        var count = settings.Count ?? spec.Count;
        var warmup = settings.Warmup ?? spec.Warmup;
        if (spec.Kind == Kind.Populate)
        {
            count = settings.Repos;
            duration = spec.Duration;
            warmup = TimeSpan.Zero;
        }

        if (settings.Static && spec.Kind != Kind.Pull)
        {
            throw new ArgumentException($"--static serves files only: scenario {spec.Name} needs a registry");
        }

        var runner = new LoadRunner();
        var prepared = await PrepareAsync(spec, runner, cancellationToken).ConfigureAwait(false);
        if (prepared is null)
        {
            return null;
        }

        var before = settings.ServerPid is { } pid ? ProcessMemory.Read(pid) : null;
        var cpuBefore = CpuUse.Read(settings.ServerPid);
        var (latencies, bytes, seconds) = await runner.RunAsync(concurrency, warmup, duration, count, prepared.Value.Op, cancellationToken).ConfigureAwait(false);
        var cpuAfter = CpuUse.Read(settings.ServerPid);
        var after = settings.ServerPid is { } pid2 ? ProcessMemory.Read(pid2) : null;
        var result = LoadRunner.Summarize(spec.Name, settings.Label, concurrency, spec.Kind == Kind.Mixed ? MixedSize : spec.Size, prepared.Value.Bytes, latencies, bytes, seconds, runner.Errors);
        if (before is { } b && after is { } a)
        {
            result.Extra["rss_before_kb"] = b.Rss;
            result.Extra["hwm_before_kb"] = b.Hwm;
            result.Extra["rss_after_kb"] = a.Rss;
            result.Extra["hwm_after_kb"] = a.Hwm;
        }

        // Where the CPU went during the measured part (warm-up included): the server's, the load generator's and the
        // machine's busy time, in CPU seconds per second of wall time, and the server's CPU milliseconds per MB moved.
        // On a shared machine a server that spends less per byte leaves more to the storage server beside it.
        var cpu = cpuAfter - cpuBefore;
        if (cpu.Wall > 0)
        {
            result.Extra["cpu_machine_busy"] = Math.Round(cpu.MachineBusy / cpu.Wall, 2);
            result.Extra["cpu_loadgen"] = Math.Round(cpu.Self / cpu.Wall, 2);
            if (settings.ServerPid is not null)
            {
                result.Extra["cpu_server"] = Math.Round(cpu.Server / cpu.Wall, 2);
                if (bytes > 0)
                {
                    result.Extra["cpu_server_ms_per_mb"] = Math.Round(cpu.Server * 1000 / (bytes / 1e6), 3);
                }
            }
        }

        if (!settings.Verify && spec.Kind is Kind.Pull or Kind.Mixed)
        {
            result.Extra["verified"] = false;
        }

        return result;
    }

    private long MixedSize => settings.MixedSize ?? 1 << 20;

    private async Task<(Func<OpContext, CancellationToken, Task> Op, bool Bytes)?> PrepareAsync(ScenarioSpec spec, LoadRunner runner, CancellationToken ct)
    {
        var size = spec.Size;
        switch (spec.Kind)
        {
            case Kind.Push:
            {
                const string repo = "bench/push";
                return (async (op, c) =>
                {
                    var blob = new BlobSpec(size, _nonce, (ulong)op.Index);
                    var digest = Digests.Of(blob);
                    var started = Stopwatch.GetTimestamp();
                    await PushMonolithicAsync(repo, blob, digest, c).ConfigureAwait(false);
                    op.Record(started, size);
                }, size >= 1 << 20);
            }

            case Kind.Chunked:
            {
                const string repo = "bench/chunked";
                return (async (op, c) =>
                {
                    var blob = new BlobSpec(size, _nonce, (ulong)op.Index);
                    var started = Stopwatch.GetTimestamp();
                    await PushChunkedAsync(repo, blob, settings.ChunkSize, c).ConfigureAwait(false);
                    op.Record(started, size);
                }, true);
            }

            case Kind.Stream:
            {
                const string repo = "bench/stream";
                return (async (op, c) =>
                {
                    var blob = new BlobSpec(size, _nonce, (ulong)op.Index);
                    var started = Stopwatch.GetTimestamp();
                    await PushChunkedAsync(repo, blob, chunkSize: null, c).ConfigureAwait(false);
                    op.Record(started, size);
                }, true);
            }

            case Kind.Pull:
            {
                var blob = new BlobSpec(size, PullId, (ulong)size);
                var digest = Digests.Of(blob);
                string path;
                if (settings.Static)
                {
                    path = StaticFileName(size);
                }
                else
                {
                    const string repo = "bench/pull";
                    await EnsureBlobAsync(repo, blob, digest, ct).ConfigureAwait(false);
                    path = $"/v2/{repo}/blobs/{digest}";
                }

                // One verified read before timing, whatever --no-verify says: the bytes must be right.
                await PullAsync(path, size, digest, verify: true, ct).ConfigureAwait(false);
                return (async (op, c) =>
                {
                    var started = Stopwatch.GetTimestamp();
                    await PullAsync(path, size, digest, settings.Verify, c).ConfigureAwait(false);
                    op.Record(started, size);
                }, size >= 1 << 20);
            }

            case Kind.BlobHead:
            {
                const string repo = "bench/head";
                var blob = new BlobSpec(size, HeadId, (ulong)size);
                var digest = Digests.Of(blob);
                await EnsureBlobAsync(repo, blob, digest, ct).ConfigureAwait(false);
                var path = $"/v2/{repo}/blobs/{digest}";
                return (async (op, c) =>
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Head, path), HttpStatusCode.OK, cancellationToken: c).ConfigureAwait(false);
                    CheckDigestHeader(response, digest);
                    if (response.Content.Headers.ContentLength != size)
                    {
                        throw new BenchException($"HEAD {path}: Content-Length {response.Content.Headers.ContentLength}, expected {size}");
                    }

                    op.Record(started, 0);
                }, false);
            }

            case Kind.ManifestPut:
            {
                const string repo = "bench/manifest";
                var image = await EnsureImageBlobsAsync(repo, ct).ConfigureAwait(false);
                return (async (op, c) =>
                {
                    var body = image.Manifest($"put-{Nonce}-{op.Index}");
                    var started = Stopwatch.GetTimestamp();
                    await PutManifestAsync(repo, $"p{Nonce}-{op.Index}", body, c).ConfigureAwait(false);
                    op.Record(started, body.Length);
                }, false);
            }

            case Kind.ManifestGet or Kind.ManifestHead:
            {
                const string repo = "bench/manifest";
                var image = await EnsureImageBlobsAsync(repo, ct).ConfigureAwait(false);
                var body = image.Manifest("latest");
                var digest = Digests.Of(body);
                await PutManifestAsync(repo, "latest", body, ct).ConfigureAwait(false);
                var path = $"/v2/{repo}/manifests/latest";
                var method = spec.Kind == Kind.ManifestGet ? HttpMethod.Get : HttpMethod.Head;
                return (async (op, c) =>
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.ExpectAsync(() =>
                    {
                        var request = new HttpRequestMessage(method, path);
                        request.Headers.TryAddWithoutValidation("Accept", ManifestAccept);
                        return request;
                    }, HttpStatusCode.OK, cancellationToken: c).ConfigureAwait(false);
                    CheckDigestHeader(response, digest);
                    long length = 0;
                    if (method == HttpMethod.Get)
                    {
                        var received = await response.Content.ReadAsByteArrayAsync(c).ConfigureAwait(false);
                        if (Digests.Of(received) != digest)
                        {
                            throw new BenchException($"GET {path}: body digest {Digests.Of(received)}, expected {digest}");
                        }

                        length = received.Length;
                    }
                    else if (response.Content.Headers.ContentLength != body.Length)
                    {
                        throw new BenchException($"HEAD {path}: Content-Length {response.Content.Headers.ContentLength}, expected {body.Length}");
                    }

                    op.Record(started, length);
                }, false);
            }

            case Kind.Populate:
                return await PreparePopulateAsync(ct).ConfigureAwait(false);

            case Kind.TagsList:
            {
                await RequirePopulatedAsync(ct).ConfigureAwait(false);
                return (async (op, c) =>
                {
                    var repo = PopulatedRepo((int)((op.Index * 7919) % settings.Repos));
                    var tags = new List<string>();
                    string? next = $"/v2/{repo}/tags/list";
                    while (next is not null)
                    {
                        var started = Stopwatch.GetTimestamp();
                        using var response = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Get, next), HttpStatusCode.OK, cancellationToken: c).ConfigureAwait(false);
                        var json = await response.Content.ReadAsByteArrayAsync(c).ConfigureAwait(false);
                        op.Record(started, json.Length);
                        tags.AddRange(ReadNames(json, "tags"));
                        next = NextLink(response);
                    }

                    if (tags.Count != settings.Tags || tags.Distinct(StringComparer.Ordinal).Count() != settings.Tags)
                    {
                        throw new BenchException($"tags list of {repo}: {tags.Count} tags ({string.Join(',', tags.Take(20))}), expected {settings.Tags} distinct");
                    }
                }, false);
            }

            case Kind.Catalog:
            {
                await RequirePopulatedAsync(ct).ConfigureAwait(false);
                return (async (op, c) => await WalkCatalogAsync(op, c).ConfigureAwait(false), false);
            }

            case Kind.CatalogFirst or Kind.CatalogLast:
            {
                await RequirePopulatedAsync(ct).ConfigureAwait(false);
                var path = $"/v2/_catalog?n={settings.PageSize}";
                if (spec.Kind == Kind.CatalogLast)
                {
                    path = await WalkCatalogAsync(null, ct).ConfigureAwait(false);
                }

                return (async (op, c) =>
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Get, path), HttpStatusCode.OK, cancellationToken: c).ConfigureAwait(false);
                    var json = await response.Content.ReadAsByteArrayAsync(c).ConfigureAwait(false);
                    op.Record(started, json.Length);
                    var names = ReadNames(json, "repositories");
                    if (names.Count == 0 || names.Count > settings.PageSize)
                    {
                        throw new BenchException($"GET {path}: {names.Count} repositories, expected 1..{settings.PageSize}");
                    }
                }, false);
            }

            case Kind.Mixed:
            {
                const string repo = "bench/mixed";
                var mixedSize = MixedSize;
                var pool = new (BlobSpec Blob, string Digest)[16];
                for (var i = 0; i < pool.Length; i++)
                {
                    var blob = new BlobSpec(mixedSize, MixedId, (ulong)i);
                    pool[i] = (blob, Digests.Of(blob));
                    await EnsureBlobAsync(repo, blob, pool[i].Digest, ct).ConfigureAwait(false);
                }

                return (async (op, c) =>
                {
                    if (op.Index % 4 == 3)
                    {
                        var blob = new BlobSpec(mixedSize, _nonce, (ulong)op.Index);
                        var digest = Digests.Of(blob);
                        var started = Stopwatch.GetTimestamp();
                        await PushMonolithicAsync(repo, blob, digest, c).ConfigureAwait(false);
                        op.Record(started, mixedSize);
                    }
                    else
                    {
                        var (_, digest) = pool[(op.Index * 31) % pool.Length];
                        var started = Stopwatch.GetTimestamp();
                        await PullAsync($"/v2/{repo}/blobs/{digest}", mixedSize, digest, settings.Verify, c).ConfigureAwait(false);
                        op.Record(started, mixedSize);
                    }
                }, true);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(spec));
        }
    }

    public static string StaticFileName(long size) => $"/blob-{size}";

    // ---- blobs ----

    private static string WithDigest(Uri location, string digest) =>
        location + (string.IsNullOrEmpty(location.Query) ? "?" : "&") + "digest=" + Uri.EscapeDataString(digest);

    private async Task<Uri> StartUploadAsync(string repo, CancellationToken ct)
    {
        using var response = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/"), HttpStatusCode.Accepted, cancellationToken: ct).ConfigureAwait(false);
        return UploadLocation(response);
    }

    private Uri UploadLocation(HttpResponseMessage response)
    {
        var location = response.Headers.Location
            ?? throw new BenchException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} -> {(int)response.StatusCode} without a Location header");
        return location.IsAbsoluteUri ? location : client.Resolve(location.OriginalString);
    }

    private static void CheckDigestHeader(HttpResponseMessage response, string digest)
    {
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } header && header != digest)
        {
            throw new BenchException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: Docker-Content-Digest {header}, expected {digest}");
        }
    }

    private async Task PushMonolithicAsync(string repo, BlobSpec blob, string digest, CancellationToken ct)
    {
        if (settings.MonolithicPost)
        {
            var path = $"/v2/{repo}/blobs/uploads/?digest={Uri.EscapeDataString(digest)}";
            using var response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, path) { Content = GeneratedContent.Whole(blob) }, cancellationToken: ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                // The registry opened a session and ignored the body: single-request monolithic upload unsupported.
                using var cancel = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, UploadLocation(response)), cancellationToken: ct).ConfigureAwait(false);
                throw new BenchException($"POST {path} with a {blob.Size}-byte body -> 202: the registry does not do single-POST monolithic uploads; use --monolithic put");
            }

            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw await BenchException.FromResponseAsync(response, "201").ConfigureAwait(false);
            }

            CheckDigestHeader(response, digest);
            return;
        }

        var location = await StartUploadAsync(repo, ct).ConfigureAwait(false);
        var target = WithDigest(location, digest);
        using var put = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Put, target) { Content = GeneratedContent.Whole(blob) }, HttpStatusCode.Created, cancellationToken: ct).ConfigureAwait(false);
        CheckDigestHeader(put, digest);
    }

    /// <summary>POST, then PATCH chunks (or one chunked-encoded PATCH when <paramref name="chunkSize"/> is null), hashing while sending, then PUT ?digest=.</summary>
    private async Task PushChunkedAsync(string repo, BlobSpec blob, long? chunkSize, CancellationToken ct)
    {
        using var hasher = new StreamingHasher();
        var location = await StartUploadAsync(repo, ct).ConfigureAwait(false);
        if (chunkSize is null)
        {
            using var patch = await client.ExpectAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = GeneratedContent.Whole(blob, hasher, chunked: true) };
                request.Headers.TransferEncodingChunked = true;
                return request;
            }, HttpStatusCode.Accepted, cancellationToken: ct).ConfigureAwait(false);
            location = UploadLocation(patch);
        }
        else
        {
            for (long offset = 0; offset < blob.Size; offset += chunkSize.Value)
            {
                var from = offset;
                var to = Math.Min(blob.Size, offset + chunkSize.Value);
                var target = location;
                using var patch = await client.ExpectAsync(() =>
                {
                    var content = new GeneratedContent(blob, from, to, hasher);
                    content.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{to - 1}");
                    return new HttpRequestMessage(HttpMethod.Patch, target) { Content = content };
                }, HttpStatusCode.Accepted, cancellationToken: ct).ConfigureAwait(false);
                location = UploadLocation(patch);
            }
        }

        if (hasher.HashedUpTo != blob.Size)
        {
            throw new BenchException($"sent {hasher.HashedUpTo} of {blob.Size} bytes");
        }

        var digest = hasher.Finish();
        var final = WithDigest(location, digest);
        using var put = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Put, final) { Content = new ByteArrayContent([]) }, HttpStatusCode.Created, cancellationToken: ct).ConfigureAwait(false);
        CheckDigestHeader(put, digest);
    }

    private async Task<bool> BlobExistsAsync(string repo, string digest, CancellationToken ct)
    {
        using var response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}"), cancellationToken: ct).ConfigureAwait(false);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await BenchException.FromResponseAsync(response, "200 or 404").ConfigureAwait(false),
        };
    }

    private async Task EnsureBlobAsync(string repo, BlobSpec blob, string digest, CancellationToken ct)
    {
        if (!await BlobExistsAsync(repo, digest, ct).ConfigureAwait(false))
        {
            await PushMonolithicAsync(repo, blob, digest, ct).ConfigureAwait(false);
        }
    }

    private async Task PushBytesAsync(string repo, byte[] data, string digest, CancellationToken ct)
    {
        if (await BlobExistsAsync(repo, digest, ct).ConfigureAwait(false))
        {
            return;
        }

        var location = await StartUploadAsync(repo, ct).ConfigureAwait(false);
        var target = WithDigest(location, digest);
        using var put = await client.ExpectAsync(() =>
        {
            var content = new ByteArrayContent(data);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new HttpRequestMessage(HttpMethod.Put, target) { Content = content };
        }, HttpStatusCode.Created, cancellationToken: ct).ConfigureAwait(false);
    }

    /// <summary>GETs a blob, checks its length and (when <paramref name="verify"/>) its sha256 while reading.</summary>
    private async Task PullAsync(string path, long size, string digest, bool verify, CancellationToken ct)
    {
        using var response = await client.GetFollowingAsync(path, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await BenchException.FromResponseAsync(response, "200").ConfigureAwait(false);
        }

        using var hash = verify ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        long total = 0;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    hash?.AppendData(buffer, 0, read);
                    total += read;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (total != size)
        {
            throw new BenchException($"GET {path}: received {total} bytes, expected {size}");
        }

        if (hash is not null)
        {
            var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != digest)
            {
                throw new BenchException($"GET {path}: content digest {actual}, expected {digest} (wrong data)");
            }
        }
    }

    // ---- manifests ----

    private sealed record Image(string ConfigDigest, long ConfigSize, string LayerDigest, long LayerSize)
    {
        public byte[] Manifest(string annotation)
        {
            var json = "{\"schemaVersion\":2,\"mediaType\":\"" + OciManifest + "\"," +
                "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + ConfigDigest + "\",\"size\":" + ConfigSize + "}," +
                "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" + LayerDigest + "\",\"size\":" + LayerSize + "}]," +
                "\"annotations\":{\"org.example.bench\":\"" + annotation + "\"}}";
            return Encoding.UTF8.GetBytes(json);
        }
    }

    private static readonly byte[] ConfigBytes = Encoding.UTF8.GetBytes(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"]}}");

    private static readonly BlobSpec LayerBlob = new(4096, ImageId, 4096);

    private static Image ImageBlobs() => new(Digests.Of(ConfigBytes), ConfigBytes.Length, Digests.Of(LayerBlob), LayerBlob.Size);

    private async Task<Image> EnsureImageBlobsAsync(string repo, CancellationToken ct)
    {
        var image = ImageBlobs();
        await PushBytesAsync(repo, ConfigBytes, image.ConfigDigest, ct).ConfigureAwait(false);
        await EnsureBlobAsync(repo, LayerBlob, image.LayerDigest, ct).ConfigureAwait(false);
        return image;
    }

    private async Task PutManifestAsync(string repo, string reference, byte[] body, CancellationToken ct)
    {
        using var response = await client.ExpectAsync(() =>
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
            return new HttpRequestMessage(HttpMethod.Put, $"/v2/{repo}/manifests/{reference}") { Content = content };
        }, HttpStatusCode.Created, cancellationToken: ct).ConfigureAwait(false);
        CheckDigestHeader(response, Digests.Of(body));
    }

    // ---- many repositories ----

    private string PopulatedRepo(int index) => $"pop/r{index.ToString(new string('0', Math.Max(5, (settings.Repos - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length)), System.Globalization.CultureInfo.InvariantCulture)}";

    private async Task<bool> IsPopulatedAsync(CancellationToken ct)
    {
        using var response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"/v2/{PopulatedRepo(settings.Repos - 1)}/tags/list"), cancellationToken: ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await BenchException.FromResponseAsync(response, "200 or 404").ConfigureAwait(false);
        }

        return ReadNames(await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false), "tags").Count >= settings.Tags;
    }

    private async Task RequirePopulatedAsync(CancellationToken ct)
    {
        if (!await IsPopulatedAsync(ct).ConfigureAwait(false))
        {
            throw new BenchException($"{PopulatedRepo(settings.Repos - 1)} does not have {settings.Tags} tags: run the 'populate' scenario first with the same --repos/--tags");
        }
    }

    private async Task<(Func<OpContext, CancellationToken, Task> Op, bool Bytes)?> PreparePopulateAsync(CancellationToken ct)
    {
        if (await IsPopulatedAsync(ct).ConfigureAwait(false))
        {
            Console.WriteLine($"[{settings.Label}] populate: {settings.Repos} repositories x {settings.Tags} tags already there, skipped");
            return null;
        }

        const string source = "pop/base";
        var image = await EnsureImageBlobsAsync(source, ct).ConfigureAwait(false);
        return (async (op, c) =>
        {
            var repo = PopulatedRepo((int)op.Index);
            foreach (var (digest, data) in new[] { (image.ConfigDigest, (object)ConfigBytes), (image.LayerDigest, LayerBlob) })
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(source)}"), cancellationToken: c).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    // No mount: the registry opened an upload instead; finish it with the bytes.
                    var target = WithDigest(UploadLocation(response), digest);
                    using var put = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Put, target)
                    {
                        Content = data is byte[] bytes ? new ByteArrayContent(bytes) : GeneratedContent.Whole((BlobSpec)data),
                    }, HttpStatusCode.Created, cancellationToken: c).ConfigureAwait(false);
                }
                else if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw await BenchException.FromResponseAsync(response, "201 (mounted)").ConfigureAwait(false);
                }

                op.Record(started, 0);
            }

            for (var t = 0; t < settings.Tags; t++)
            {
                var body = image.Manifest($"{repo}:v{t}");
                var started = Stopwatch.GetTimestamp();
                await PutManifestAsync(repo, $"v{t}", body, c).ConfigureAwait(false);
                op.Record(started, body.Length);
            }
        }, false);
    }

    /// <summary>
    /// Walks the whole catalog (recording each page when <paramref name="op"/> is given), checks that names ascend and
    /// that every populated repository is there, and returns the path of the last non-empty page.
    /// </summary>
    private async Task<string> WalkCatalogAsync(OpContext? op, CancellationToken ct)
    {
        string? next = $"/v2/_catalog?n={settings.PageSize}";
        var lastPage = next;
        string? previous = null;
        var populated = 0;
        var pages = 0;
        while (next is not null)
        {
            var path = next;
            var started = Stopwatch.GetTimestamp();
            using var response = await client.ExpectAsync(() => new HttpRequestMessage(HttpMethod.Get, path), HttpStatusCode.OK, cancellationToken: ct).ConfigureAwait(false);
            var json = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            op?.Record(started, json.Length);
            var names = ReadNames(json, "repositories");
            if (names.Count > settings.PageSize)
            {
                throw new BenchException($"GET {path}: {names.Count} repositories in a page of n={settings.PageSize}");
            }

            foreach (var name in names)
            {
                if (previous is not null && string.CompareOrdinal(previous, name) >= 0)
                {
                    throw new BenchException($"GET {path}: catalog not in ascending order or repeated ('{previous}' then '{name}')");
                }

                previous = name;
                if (name.StartsWith("pop/r", StringComparison.Ordinal))
                {
                    populated++;
                }
            }

            if (names.Count > 0)
            {
                lastPage = path;
            }

            next = NextLink(response);
            if (++pages > 1_000_000)
            {
                throw new BenchException("catalog pagination does not end");
            }
        }

        if (populated != settings.Repos)
        {
            throw new BenchException($"catalog walk found {populated} populated repositories, expected {settings.Repos}");
        }

        return lastPage;
    }

    private static List<string> ReadNames(byte[] json, string property)
    {
        using var document = JsonDocument.Parse(json);
        var names = new List<string>();
        if (document.RootElement.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in array.EnumerateArray())
            {
                names.Add(item.GetString() ?? string.Empty);
            }
        }

        return names;
    }

    /// <summary>The target of <c>Link: &lt;...&gt;; rel="next"</c>, made relative to the registry.</summary>
    private string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            var open = value.IndexOf('<', StringComparison.Ordinal);
            var close = value.IndexOf('>', StringComparison.Ordinal);
            if (open >= 0 && close > open && value.Contains("rel=\"next\"", StringComparison.Ordinal))
            {
                var target = value[(open + 1)..close];
                // Relative (distribution, Berth) or absolute; note "/v2/..." would parse as an absolute file: URI on Unix.
                return target.StartsWith("http", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(target, UriKind.Absolute, out var absolute)
                    ? absolute.PathAndQuery
                    : target;
            }
        }

        return null;
    }
}
