using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Core.Registry;

/// <summary>Removes upload sessions idle for longer than <see cref="RegistryOptions.UploadExpiry"/>, with their data.</summary>
public sealed partial class UploadSweeper : BackgroundService
{
    private readonly UploadService _uploads;
    private readonly TimeProvider _clock;
    private readonly IOptions<RegistryOptions> _options;
    private readonly ILogger<UploadSweeper> _logger;

    public UploadSweeper(UploadService uploads, TimeProvider clock, IOptions<RegistryOptions> options, ILogger<UploadSweeper> logger)
    {
        _uploads = uploads;
        _clock = clock;
        _options = options;
        _logger = logger;
    }

    /// <summary>One sweep; returns how many uploads were removed.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var removed = await _uploads.SweepAsync(_clock.GetUtcNow() - _options.Value.UploadExpiry, cancellationToken).ConfigureAwait(false);
        if (removed > 0)
        {
            LogSwept(_logger, removed, _options.Value.UploadExpiry);
        }

        return removed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Value.UploadSweepInterval, _clock);
        try
        {
            do
            {
                try
                {
                    await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(_logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Removed {Count} abandoned uploads (idle longer than {Expiry})")]
    private static partial void LogSwept(ILogger logger, int count, TimeSpan expiry);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Sweeping abandoned uploads failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
