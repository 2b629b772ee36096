using Berth.Auth.Jwt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Access;

/// <summary>
/// Re-reads the registry-token key folder every minute, so a rotation (<c>berth admin rotate-token-key</c>, or
/// another node sharing the folder) takes effect without a restart: the newest key signs, retired keys stop verifying.
/// </summary>
public sealed partial class SigningKeyReloader(SigningKeyRing ring, TimeProvider clock, ILogger<SigningKeyReloader> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (ring.Folder is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var before = ring.Current.Id;
                try
                {
                    ring.Reload();
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    LogReloadFailed(logger, ex, ring.Folder);
                    continue;
                }

                if (ring.Current.Id != before)
                {
                    LogRotated(logger, ring.Current.Id);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Registry tokens are now signed with key {KeyId}")]
    private static partial void LogRotated(ILogger logger, string keyId);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Could not re-read the token signing keys in {Folder}; the keys in use are kept")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string folder);
}
