using System.Net.Http.Headers;
using Amazon.Runtime;

namespace Berth.Storage.S3;

/// <summary>
/// The S3 client's HTTP clients, with one change from the SDK's own: an XML response (every answer but an object's bytes:
/// CopyObject, UploadPartCopy, CompleteMultipartUpload, listings, errors) is read to its end asynchronously before the
/// SDK sees it.
/// </summary>
/// <remarks>
/// The SDK parses XML answers with a synchronous <c>XmlReader</c> over the network stream, inside its async pipeline,
/// and so on whatever thread completed the socket read of the headers: the socket engine's event-processing work item.
/// radosgw (and S3) send the headers of a copy or a multipart completion at once and the XML body only when the copy
/// is done, so the synchronous read waits for a socket event that the blocked thread itself would have to dispatch. On
/// a machine with few cores there is one socket engine, and the whole process stops: measured with
/// <c>bench/compare.sh --scale-out</c> on 2 cores, the first 4 KiB push hung for good (the CopyObject answer sat unread
/// in the socket buffer, and PostgreSQL reads on the same engine timed out). Buffering bounds nothing new: XML answers
/// are small (a listing page of 1,000 keys is a few hundred KB); object bodies are never buffered.
/// </remarks>
internal sealed class XmlBufferingHttpClientFactory : HttpClientFactory
{
    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        var sockets = new SocketsHttpHandler
        {
            // The SDK follows redirects and decompresses nothing itself for S3; keep the handler's behaviour plain.
            AllowAutoRedirect = false,
            UseCookies = false,
        };
        if (clientConfig.MaxConnectionsPerServer is { } max)
        {
            sockets.MaxConnectionsPerServer = max;
        }

        var client = new HttpClient(new BufferXmlHandler(sockets), disposeHandler: true);
        if (clientConfig.Timeout is { } timeout)
        {
            client.Timeout = timeout;
        }

        return client;
    }

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    /// <summary>Null: cached per SDK client, disposed with it.</summary>
    public override string? GetConfigUniqueString(IClientConfig clientConfig) => null;

    internal static bool IsXml(MediaTypeHeaderValue? contentType) =>
        contentType?.MediaType is { } type && (type.EndsWith("/xml", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+xml", StringComparison.OrdinalIgnoreCase));

    private sealed class BufferXmlHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (IsXml(response.Content.Headers.ContentType))
            {
                try
                {
                    await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    response.Dispose();
                    throw;
                }
            }

            return response;
        }
    }
}
