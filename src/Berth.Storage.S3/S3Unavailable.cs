using System.Net;
using Amazon.Runtime;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// The S3 server out of reach: no connection (refused, reset, a name that does not resolve) or an answer that it
/// cannot serve now (503 Slow Down / Service Unavailable, 502, 504). Answered 503, not 500.
/// </summary>
public sealed class S3Unavailable : IStoreUnavailableDetector
{
    public bool IsUnavailable(Exception exception) => exception switch
    {
        AmazonServiceException service => service.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout
            || (service.StatusCode == 0 && service.InnerException is HttpRequestException or System.Net.Sockets.SocketException),
        HttpRequestException http => http.StatusCode is null or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout,
        _ => false,
    };
}
