using Berth.Auth.Jwt;
using Berth.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Access;

/// <summary>
/// Re-reads the registry-token key folder every minute, so a rotation (<c>berth admin rotate-token-key</c>, or
/// another node sharing the folder) takes effect without a restart: the newest key signs, retired keys stop verifying.
/// </summary>
public sealed partial class SigningKeyReloader(SigningKeyRing ring, ILogger<SigningKeyReloader> logger) : IPeriodicJob
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    public string Name => "signing-key-reloader";

    public JobSchedule Schedule { get; } = new(Interval, Interval);

    /// <summary>Each node's key ring is its own: every node re-reads the folder.</summary>
    public bool EveryNode => true;

    /// <summary>
    /// Re-reads the folder (nothing when the keys are in memory only); a folder that cannot be read keeps the keys in use.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        if (ring.Folder is null)
        {
            return Task.CompletedTask;
        }

        var before = ring.Current.Id;
        try
        {
            ring.Reload();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            LogReloadFailed(logger, ex, ring.Folder);
            return Task.CompletedTask;
        }

        if (ring.Current.Id != before)
        {
            LogRotated(logger, ring.Current.Id);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Registry tokens are now signed with key {KeyId}")]
    private static partial void LogRotated(ILogger logger, string keyId);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Could not re-read the token signing keys in {Folder}; the keys in use are kept")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string folder);
}
