using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.S3;
using Berth.Storage.S3;

namespace Berth.Storage.S3.Tests;

/// <summary>
/// The S3 client's HTTP clients read an XML answer to its end before handing it on (the SDK parses it synchronously),
/// and never hold back an object's bytes. A loopback server sends the headers at once and the body only when the test
/// lets it, as radosgw answers a CopyObject. No S3 server needed.
/// </summary>
public sealed class XmlBufferingHttpClientFactoryTests
{
    private const string CopyResult = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyObjectResult><ETag>\"x\"</ETag></CopyObjectResult>";

    [Fact]
    public async Task SendAsync_XmlBodyLate_ReturnsOnlyWhenTheBodyIsInMemory()
    {
        await using var server = new LateBodyServer("application/xml", CopyResult);
        using var client = new XmlBufferingHttpClientFactory().CreateHttpClient(new AmazonS3Config());

        var send = client.SendAsync(new HttpRequestMessage(HttpMethod.Put, server.Url), HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
        await server.HeadersSent.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        await Task.Delay(200, CancellationToken.None);
        Assert.False(send.IsCompleted, "an XML answer was handed on before its body arrived");

        server.SendBody();
        using var response = await send.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        // A synchronous read now finds everything in memory: it cannot wait for the network.
        using var reader = new StreamReader(response.Content.ReadAsStream(CancellationToken.None));
        Assert.Equal(CopyResult, reader.ReadToEnd());
    }

    [Fact]
    public async Task SendAsync_ObjectBytes_ReturnsAtTheHeadersUnbuffered()
    {
        await using var server = new LateBodyServer("application/octet-stream", "blob bytes");
        using var client = new XmlBufferingHttpClientFactory().CreateHttpClient(new AmazonS3Config());

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url), HttpCompletionOption.ResponseHeadersRead, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        server.SendBody();
        Assert.Equal("blob bytes", await response.Content.ReadAsStringAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("application/xml", true)]
    [InlineData("text/xml", true)]
    [InlineData("application/problem+xml", true)]
    [InlineData("APPLICATION/XML", true)]
    [InlineData("application/octet-stream", false)]
    [InlineData("binary/octet-stream", false)]
    [InlineData("application/vnd.oci.image.manifest.v1+json", false)]
    [InlineData(null, false)]
    public void IsXml_ContentType_OnlyXmlIsBuffered(string? contentType, bool buffered) =>
        Assert.Equal(buffered, XmlBufferingHttpClientFactory.IsXml(contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType)));

    /// <summary>Answers one request: the headers (chunked) at once, the body when <see cref="SendBody"/> is called.</summary>
    private sealed class LateBodyServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _body = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _headersSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _serving;

        public LateBodyServer(string contentType, string body)
        {
            _listener.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/bucket/key");
            _serving = ServeAsync(contentType, body);
        }

        public Uri Url { get; }

        public Task HeadersSent => _headersSent.Task;

        public void SendBody() => _body.TrySetResult();

        private async Task ServeAsync(string contentType, string body)
        {
            using var socket = await _listener.AcceptSocketAsync();
            await using var stream = new NetworkStream(socket);
            var buffer = new byte[8192];
            var request = new StringBuilder();
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    return;
                }

                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n"));
            await stream.FlushAsync();
            _headersSent.TrySetResult();
            await _body.Task;
            var bytes = Encoding.UTF8.GetBytes(body);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{bytes.Length:x}\r\n"));
            await stream.WriteAsync(bytes);
            await stream.WriteAsync(Encoding.ASCII.GetBytes("\r\n0\r\n\r\n"));
            await stream.FlushAsync();
        }

        public async ValueTask DisposeAsync()
        {
            _body.TrySetResult();
            _listener.Stop();
            try
            {
                await _serving.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or TimeoutException)
            {
            }
        }
    }
}
