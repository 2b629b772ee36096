using System.Net;
using System.Text;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>
/// Large request bodies against the real server (Kestrel's own limits, real sockets, the real process's memory):
/// issue 10, item 2. A 1 GB form to POST /token from a refused address once took the server from 107 MB to 2.4 GB.
/// </summary>
public sealed class RequestBodyLimitTests
{
    /// <summary>What each request offers to send: ~400 MB, as the reproduction.</summary>
    private const long BodyLength = 400L * 1024 * 1024;

    /// <summary>
    /// What a client may get into the connection before an early answer stops it: the socket buffers on both sides
    /// (a few MiB on loopback). Anything near <see cref="BodyLength"/> means the server read the body.
    /// </summary>
    private const long EarlyAnswer = 64L * 1024 * 1024;

    /// <summary>How much the server's resident memory (now, and at its peak) may grow over all the requests.</summary>
    private const long MemoryGrowthBound = 128L * 1024 * 1024;

    private static readonly IPAddress Allowed = IPAddress.Loopback;
    private static readonly IPAddress Refused = IPAddress.Parse("127.0.0.2");

    private static string Basic(string user, string password) =>
        "Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    [Fact]
    public async Task LargeBodiesToTokenAndManagementApi_AreRefusedEarly_AndServerMemoryStaysFlat()
    {
        await using var server = await BerthProcess.StartAsync(ServerSetup.CacheArgument);
        await using (var setup = ServerSetup.Open(server))
        {
            await setup.Access.AllowAsync("127.0.0.1/32");
        }

        await ServerSetup.WaitForServerCachesAsync();
        var host = $"Host: {server.Host}";
        var admin = Basic(BerthProcess.AdminUser, BerthProcess.AdminPassword);
        // As the reproduction: scope fields of about 1 MiB each, each under the framework's 4 MiB value limit.
        var form = "grant_type=password&username=admin"u8.ToArray();
        var scopes = Encoding.ASCII.GetBytes("&scope=" + new string('a', 1024 * 1024));
        var json = """{"name":"p","description":" """u8.ToArray();
        (string What, IPAddress From, string Head, bool Chunked, byte[] Prefix, int Status)[] cases =
        [
            ("POST /token from a refused address", Refused, $"POST /token HTTP/1.1\r\n{host}\r\nContent-Type: application/x-www-form-urlencoded", false, form, 403),
            ("POST /token from a refused address, chunked", Refused, $"POST /token HTTP/1.1\r\n{host}\r\nContent-Type: application/x-www-form-urlencoded", true, form, 403),
            ("POST /api/v1/projects from a refused address", Refused, $"POST /api/v1/projects HTTP/1.1\r\n{host}\r\n{admin}\r\nContent-Type: application/json", true, json, 403),
            ("POST /token without credentials", Allowed, $"POST /token HTTP/1.1\r\n{host}\r\nContent-Type: application/x-www-form-urlencoded", false, form, 413),
            ("POST /token without credentials, chunked", Allowed, $"POST /token HTTP/1.1\r\n{host}\r\nContent-Type: application/x-www-form-urlencoded", true, form, 413),
            ("POST /api/v1/projects without credentials", Allowed, $"POST /api/v1/projects HTTP/1.1\r\n{host}\r\nContent-Type: application/json", true, json, 401),
            ("POST /api/v1/projects as the administrator", Allowed, $"POST /api/v1/projects HTTP/1.1\r\n{host}\r\n{admin}\r\nContent-Type: application/json", false, json, 413),
            ("POST /api/v1/projects as the administrator, chunked", Allowed, $"POST /api/v1/projects HTTP/1.1\r\n{host}\r\n{admin}\r\nContent-Type: application/json", true, json, 413),
            ("PUT of a manifest from a refused address", Refused, $"PUT /v2/p/app/manifests/v1 HTTP/1.1\r\n{host}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json", true, json, 403),
            ("PATCH of an upload without credentials", Allowed, $"PATCH /v2/p/app/blobs/uploads/0123456789abcdef0123456789abcdef HTTP/1.1\r\n{host}", true, [], 401),
        ];

        // Warm up (the first requests of a process allocate what every later one reuses), then measure.
        foreach (var warmUp in cases.Take(2))
        {
            await RawHttp.SendAsync(server.Port, warmUp.From, warmUp.Head, 1024 * 1024, warmUp.Chunked, warmUp.Prefix, scopes);
        }

        var before = server.Memory();
        var answers = new List<string>();
        foreach (var (what, from, head, chunked, prefix, status) in cases)
        {
            var response = await RawHttp.SendAsync(server.Port, from, head, BodyLength, chunked, prefix, prefix == form ? scopes : null);
            answers.Add($"{what}: {response}");
            Assert.True(response.Status == status, $"{what}: expected {status}, got {response}\n{server.LogTail()}");
            Assert.True(response.BodyBytesSent < EarlyAnswer, $"{what}: the server let {response.BodyBytesSent} bytes in before answering");
        }

        var after = server.Memory();
        var report = $"resident {before.Resident >> 20} -> {after.Resident >> 20} MiB, peak {before.Peak >> 20} -> {after.Peak >> 20} MiB\n{string.Join('\n', answers)}";
        Assert.True(after.Peak - before.Peak < MemoryGrowthBound, report);
        Assert.True(after.Resident - before.Resident < MemoryGrowthBound, report);
        Assert.DoesNotContain("Unhandled error", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelOfAnUploadWhileItsPatchStreams_PatchGetsBlobUploadUnknown_NoServerError()
    {
        await using var server = await BerthProcess.StartAsync();
        using var registry = new RegistryHttp(server.BaseAddress);
        var upload = await registry.StartUploadAsync("cancel/app");
        var auth = Basic(BerthProcess.AdminUser, BerthProcess.AdminPassword);

        // A PATCH that sends 4 MiB of its chunk, then nothing more (a stalled client), on its own connection.
        using var patch = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await patch.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        var head = $"PATCH {upload.PathAndQuery} HTTP/1.1\r\nHost: {server.Host}\r\n{auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: {64 * 1024 * 1024}\r\n\r\n";
        await patch.SendAsync(Encoding.ASCII.GetBytes(head), System.Net.Sockets.SocketFlags.None);
        await patch.SendAsync(new byte[4 * 1024 * 1024], System.Net.Sockets.SocketFlags.None);
        // Until the server stored part of it: the PATCH is inside its copy. (Upload status answers the acknowledged
        // offset, which a chunk moves only when it is whole, so the file is what shows the copy going on.)
        var uploads = Path.Combine(server.DataPath, "uploads");
        long Stored() => Directory.EnumerateFiles(uploads).Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max();
        for (var attempt = 0; attempt < 1000 && Stored() < 1024 * 1024; attempt++)
        {
            await Task.Delay(10);
        }

        Assert.True(Stored() >= 1024 * 1024, "the PATCH stored nothing");
        Assert.Equal(0, await UploadedAsync(registry, upload)); // nothing acknowledged while the chunk streams

        using var cancel = await registry.Client.DeleteAsync(upload);
        var answer = await ReadAnswerAsync(patch);

        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        Assert.StartsWith("HTTP/1.1 404", answer, StringComparison.Ordinal);
        Assert.Contains("BLOB_UPLOAD_UNKNOWN", answer, StringComparison.Ordinal);
        using var status = await registry.Client.GetAsync(upload);
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.DataPath, "uploads")));
        Assert.DoesNotContain("Unhandled error", server.Log, StringComparison.Ordinal);
    }

    private static async Task<long> UploadedAsync(RegistryHttp registry, Uri upload)
    {
        using var status = await registry.Client.GetAsync(upload);
        var range = status.Headers.TryGetValues("Range", out var values) ? values.Single() : "0-0";
        return long.Parse(range[(range.IndexOf('-', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The head and start of the answer on a connection whose request body was never finished.</summary>
    private static async Task<string> ReadAnswerAsync(System.Net.Sockets.Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!received.ToString().Contains("}]}", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return received.ToString();
    }
}
