using Microsoft.Extensions.Logging;

namespace Berth.Storage.Azure;

/// <summary>Log messages of the Azure Blob store (event ids 1750–1799; 1700–1749 are S3's).</summary>
internal static partial class AzureLog
{
    [LoggerMessage(EventId = 1751, Level = LogLevel.Warning, Message = "Upload {UploadId} was committed as {Digest} but its data could not be removed ({Reason}); the upload sweeper removes it later")]
    public static partial void UploadCleanupFailed(ILogger logger, string uploadId, string digest, string reason);

    [LoggerMessage(EventId = 1752, Level = LogLevel.Information, Message = "The Azure Blob endpoint does not implement Put Block From URL ({Code}); upload segments are copied through this node into committed blobs")]
    public static partial void CopyFromUrlUnsupported(ILogger logger, string code);

    [LoggerMessage(EventId = 1753, Level = LogLevel.Debug, Message = "The lease on upload {UploadId} could not be renewed ({Code}); the session's compare-and-set still decides which chunk counts")]
    public static partial void LeaseRenewFailed(ILogger logger, string uploadId, string code);
}
