using Berth.Core.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Core.Registry;

/// <summary>Removes upload sessions idle for longer than <see cref="RegistryOptions.UploadExpiry"/>, with their data (a job of <see cref="JobHost"/>).</summary>
public sealed partial class UploadSweeper : IPeriodicJob
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

    public string Name => "upload-sweeper";

    /// <summary>At start, then every <see cref="RegistryOptions.UploadSweepInterval"/>.</summary>
    public JobSchedule Schedule => JobSchedule.Every(_options.Value.UploadSweepInterval);

    public Task RunAsync(CancellationToken cancellationToken) => SweepOnceAsync(cancellationToken);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Removed {Count} abandoned uploads (idle longer than {Expiry})")]
    private static partial void LogSwept(ILogger logger, int count, TimeSpan expiry);
}
