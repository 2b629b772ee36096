using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Core.Jobs;

/// <summary>What the host knows of one job: runs finished, runs that threw, times the lease went to another holder.</summary>
public sealed record JobStatus(string Name, long Runs, long Failures, long LeaseRefusals, DateTimeOffset? LastRunAt);

/// <summary>
/// The one hosted service that runs every registered <see cref="IPeriodicJob"/> on the injected <see cref="TimeProvider"/>:
/// each job in its own loop (first run after its initial delay, then its interval after each run ends), each run only
/// when this host gets the job's lease from <see cref="ILeaseStore"/> (taken for the interval, released after the run).
/// Stopping the host cancels the runs in progress and waits for them.
/// </summary>
public sealed partial class JobHost : BackgroundService
{
    private readonly IReadOnlyList<IPeriodicJob> _jobs;
    private readonly ILeaseStore _leases;
    private readonly TimeProvider _clock;
    private readonly ILogger<JobHost> _logger;
    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);

    public JobHost(IEnumerable<IPeriodicJob> jobs, ILeaseStore leases, TimeProvider clock, ILogger<JobHost> logger)
    {
        _jobs = jobs.ToList();
        _leases = leases;
        _clock = clock;
        _logger = logger;
        foreach (var job in _jobs)
        {
            if (!_counters.TryAdd(job.Name, new Counters()))
            {
                throw new InvalidOperationException($"two periodic jobs are named {job.Name}");
            }
        }
    }

    /// <summary>Who this host is when it takes leases: unique per process.</summary>
    public string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>A snapshot of every job's counters, in registration order.</summary>
    public IReadOnlyList<JobStatus> Status =>
        _jobs.Select(job =>
        {
            var c = _counters[job.Name];
            var last = Interlocked.Read(ref c.LastRunTicks);
            return new JobStatus(job.Name, Interlocked.Read(ref c.Runs), Interlocked.Read(ref c.Failures), Interlocked.Read(ref c.LeaseRefusals),
                last == 0 ? null : new DateTimeOffset(last, TimeSpan.Zero));
        }).ToList();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_jobs.Select(job => Task.Run(() => LoopAsync(job, stoppingToken), CancellationToken.None)));

    private async Task LoopAsync(IPeriodicJob job, CancellationToken stoppingToken)
    {
        var schedule = job.Schedule;
        var counters = _counters[job.Name];
        try
        {
            if (schedule.InitialDelay > TimeSpan.Zero)
            {
                await Task.Delay(schedule.InitialDelay, _clock, stoppingToken).ConfigureAwait(false);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                await RunOnceAsync(job, schedule, counters, stoppingToken).ConfigureAwait(false);
                await Task.Delay(schedule.Interval, _clock, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunOnceAsync(IPeriodicJob job, JobSchedule schedule, Counters counters, CancellationToken stoppingToken)
    {
        var exclusive = !job.EveryNode;
        bool leased = true;
        try
        {
            if (exclusive)
            {
                leased = await _leases.TryAcquireAsync(job.Name, Holder, schedule.Interval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException && stoppingToken.IsCancellationRequested)
        {
            LogStoppedMidRun(_logger, job.Name, ex.Message); // the server is stopping (its stores may be closed already)
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref counters.Failures);
            LogLeaseFailed(_logger, ex, job.Name);
            return;
        }

        if (!leased)
        {
            Interlocked.Increment(ref counters.LeaseRefusals);
            LogLeaseRefused(_logger, job.Name);
            return;
        }

        try
        {
            LogStarting(_logger, job.Name);
            await job.RunAsync(stoppingToken).ConfigureAwait(false);
            Interlocked.Increment(ref counters.Runs);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (stoppingToken.IsCancellationRequested)
        {
            // A run cut short by the server stopping (a store closed under it, say): one debug line, not an error with a
            // stack trace on the console of a server that is only shutting down (or failed to start).
            LogStoppedMidRun(_logger, job.Name, ex.Message);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref counters.Failures);
            LogFailed(_logger, ex, job.Name);
        }
        finally
        {
            Interlocked.Exchange(ref counters.LastRunTicks, _clock.GetUtcNow().UtcTicks);
            try
            {
                if (exclusive)
                {
                    await _leases.ReleaseAsync(job.Name, Holder, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (stoppingToken.IsCancellationRequested)
            {
                LogStoppedMidRun(_logger, job.Name, ex.Message); // the lease ends by itself after the interval
            }
            catch (Exception ex)
            {
                // The lease ends by itself after the interval.
                LogLeaseFailed(_logger, ex, job.Name);
            }
        }
    }

    private sealed class Counters
    {
        public long Runs;
        public long Failures;
        public long LeaseRefusals;
        public long LastRunTicks;
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Debug, Message = "Running job {Job}")]
    private static partial void LogStarting(ILogger logger, string job);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "Job {Job} failed; it runs again at its next time")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "Job {Job} skipped: another node holds its lease")]
    private static partial void LogLeaseRefused(ILogger logger, string job);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Debug, Message = "Job {Job} stopped with the server: {Reason}")]
    private static partial void LogStoppedMidRun(ILogger logger, string job, string reason);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Could not take or give up the lease of job {Job}")]
    private static partial void LogLeaseFailed(ILogger logger, Exception exception, string job);
}

public static class JobServiceCollectionExtensions
{
    /// <summary>Registers <typeparamref name="T"/> (a singleton) as a job of the one <see cref="JobHost"/>, adding the host and the in-process lease store unless present.</summary>
    public static IServiceCollection AddPeriodicJob<T>(this IServiceCollection services)
        where T : class, IPeriodicJob
    {
        services.TryAddSingleton<T>();
        services.AddSingleton<IPeriodicJob>(sp => sp.GetRequiredService<T>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILeaseStore, InProcessLeaseStore>();
        if (!services.Any(d => d.ServiceType == typeof(JobHost)))
        {
            services.AddSingleton<JobHost>();
            services.AddHostedService(sp => sp.GetRequiredService<JobHost>());
        }

        return services;
    }
}
