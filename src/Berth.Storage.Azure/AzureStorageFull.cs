using Azure;
using Berth.Core.Storage;

namespace Berth.Storage.Azure;

/// <summary>
/// Azure Blob Storage refusing a write for lack of room. Blob containers have no quota of their own (an account's
/// capacity limit is the only one), so this recognises the answer a full store gives, status 507 Insufficient
/// Storage, whatever its error code. Answered as the registry's storage being full (507).
/// </summary>
public sealed class AzureStorageFull : IStorageFullDetector
{
    public bool IsStorageFull(Exception exception) => exception is RequestFailedException { Status: 507 };
}
