using Azure;
using Berth.Core.Storage;

namespace Berth.Storage.Azure;

/// <summary>
/// Azure Blob storage out of reach: no answer at all (the SDK reports status 0 after its retries: refused, reset, no
/// such host) or an answer that it cannot serve now (503 Server Busy, 502, 504). Answered 503, not 500.
/// </summary>
public sealed class AzureUnavailable : IStoreUnavailableDetector
{
    public bool IsUnavailable(Exception exception) => exception switch
    {
        RequestFailedException failed => failed.Status is 0 or 502 or 503 or 504,
        HttpRequestException http => http.StatusCode is null,
        _ => false,
    };
}
