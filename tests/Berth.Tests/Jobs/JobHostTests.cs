using Berth.Core.Jobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Tests.Jobs;

public sealed class JobHostTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TimerCountingClock _waits;

    public JobHostTests() => _waits = new TimerCountingClock(_clock);

    [Fact]
    public async Task ExecuteAsync_OnSchedule_RunsAfterInitialDelayThenEveryInterval()
    {
        var job = new CountingJob("count", new JobSchedule(Interval, TimeSpan.FromSeconds(30)));
        using var host = Host(new InProcessLeaseStore(_clock), job);
        await host.StartAsync(CancellationToken.None);

        await Settle();
        Assert.Equal(0, job.Runs);
        _clock.Advance(TimeSpan.FromSeconds(30));
        await WaitFor(() => job.Runs == 1 && _waits.Timers == 2); // moved on only once the host waits again
        _clock.Advance(Interval - TimeSpan.FromSeconds(1));
        await Settle();
        Assert.Equal(1, job.Runs);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await WaitFor(() => job.Runs == 2);

        await host.StopAsync(CancellationToken.None);
        Assert.Equal(2, host.Status.Single().Runs);
        Assert.Equal(0, host.Status.Single().Failures);
    }

    [Fact]
    public async Task ExecuteAsync_JobThrows_CountsAndLogsFailureAndRunsAgainNextTime()
    {
        var job = new CountingJob("flaky", JobSchedule.Every(Interval)) { FailFirst = 1 };
        var logger = new ListLogger();
        using var host = new JobHost([job], new InProcessLeaseStore(_clock), _waits, logger);
        await host.StartAsync(CancellationToken.None);

        await WaitFor(() => host.Status.Single().Failures == 1 && _waits.Timers == 1);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.EventId == 1402 && e.Exception is InvalidOperationException && e.Message.Contains("flaky", StringComparison.Ordinal));
        Assert.Equal(0, host.Status.Single().Runs);

        _clock.Advance(Interval);
        await WaitFor(() => host.Status.Single().Runs == 1);
        Assert.Equal(1, host.Status.Single().Failures);
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ExecuteAsync_LeaseHeldByAnotherNode_DoesNotRunUntilItIsFree()
    {
        var leases = new InProcessLeaseStore(_clock);
        Assert.True(await leases.TryAcquireAsync("guarded", "other-node", Interval * 2, CancellationToken.None));
        var job = new CountingJob("guarded", JobSchedule.Every(Interval));
        var clock = new TimerCountingClock(_clock);
        using var host = new JobHost([job], leases, clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<JobHost>.Instance);
        await host.StartAsync(CancellationToken.None);

        // Advance only once the host waits on the clock: a refusal is counted before the wait starts, and time moved
        // before it would not end that wait.
        await WaitFor(() => host.Status.Single().LeaseRefusals == 1 && clock.Timers == 1);
        _clock.Advance(Interval);
        await WaitFor(() => host.Status.Single().LeaseRefusals == 2 && clock.Timers == 2);
        Assert.Equal(0, job.Runs);

        _clock.Advance(Interval); // the other node's lease has expired
        await WaitFor(() => job.Runs == 1);
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ExecuteAsync_EveryNodeJob_RunsWithoutTheLease()
    {
        var leases = new InProcessLeaseStore(_clock);
        Assert.True(await leases.TryAcquireAsync("local", "other-node", Interval * 10, CancellationToken.None));
        var job = new CountingJob("local", JobSchedule.Every(Interval)) { RunsOnEveryNode = true };
        using var host = Host(leases, job);
        await host.StartAsync(CancellationToken.None);

        await WaitFor(() => job.Runs == 1);
        Assert.Equal(0, host.Status.Single().LeaseRefusals);
        Assert.False(await leases.TryAcquireAsync("local", "third-node", Interval, CancellationToken.None)); // untouched
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ExecuteAsync_AfterARun_ReleasesTheLeaseForOtherNodes()
    {
        var leases = new InProcessLeaseStore(_clock);
        var job = new CountingJob("shared", JobSchedule.Every(Interval));
        using var host = Host(leases, job);
        await host.StartAsync(CancellationToken.None);

        await WaitFor(() => job.Runs == 1);
        await WaitFor(() => leases.TryAcquireAsync("shared", "other-node", Interval, CancellationToken.None).AsTask().GetAwaiter().GetResult());
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task StopAsync_JobRunning_CancelsIt()
    {
        var job = new BlockingJob();
        using var host = Host(new InProcessLeaseStore(_clock), job);
        await host.StartAsync(CancellationToken.None);
        await job.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(job.Cancelled);
        Assert.Equal(0, host.Status.Single().Failures);
    }

    [Fact]
    public void Constructor_TwoJobsWithOneName_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Host(new InProcessLeaseStore(_clock), new CountingJob("same", JobSchedule.Every(Interval)), new CountingJob("same", JobSchedule.Every(Interval))));
        Assert.Contains("same", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InProcessLeaseStore_HeldLease_RefusedToOthersUntilReleasedOrExpired()
    {
        var leases = new InProcessLeaseStore(_clock);
        Assert.True(await leases.TryAcquireAsync("job", "a", Interval, CancellationToken.None));
        Assert.False(await leases.TryAcquireAsync("job", "b", Interval, CancellationToken.None));
        Assert.True(await leases.TryAcquireAsync("job", "a", Interval, CancellationToken.None));
        await leases.ReleaseAsync("job", "b", CancellationToken.None); // not b's: nothing happens
        Assert.False(await leases.TryAcquireAsync("job", "b", Interval, CancellationToken.None));
        await leases.ReleaseAsync("job", "a", CancellationToken.None);
        Assert.True(await leases.TryAcquireAsync("job", "b", Interval, CancellationToken.None));
        _clock.Advance(Interval);
        Assert.True(await leases.TryAcquireAsync("job", "a", Interval, CancellationToken.None));
    }

    private JobHost Host(ILeaseStore leases, params IPeriodicJob[] jobs) =>
        new(jobs, leases, _waits, Microsoft.Extensions.Logging.Abstractions.NullLogger<JobHost>.Instance);

    private static async Task Settle() => await Task.Delay(100);

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true within 10 s");
            await Task.Delay(10);
        }
    }

    private sealed class CountingJob(string name, JobSchedule schedule) : IPeriodicJob
    {
        private int _calls;
        private int _runs;

        public int FailFirst { get; init; }

        public bool RunsOnEveryNode { get; init; }

        public bool EveryNode => RunsOnEveryNode;

        public int Runs => Volatile.Read(ref _runs);

        public string Name => name;

        public JobSchedule Schedule => schedule;

        public Task RunAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= FailFirst)
            {
                throw new InvalidOperationException("broken on purpose");
            }

            Interlocked.Increment(ref _runs);
            return Task.CompletedTask;
        }
    }

    private sealed class BlockingJob : IPeriodicJob
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public string Name => "blocking";

        public JobSchedule Schedule => JobSchedule.Every(TimeSpan.FromMinutes(1));

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
        }
    }

    private sealed class ListLogger : ILogger<JobHost>
    {
        public System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, int EventId, Exception? Exception, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, eventId.Id, exception, formatter(state, exception)));
    }

    /// <summary>The fake clock, counting the timers created on it (each wait of the host is one).</summary>
    private sealed class TimerCountingClock(FakeTimeProvider inner) : TimeProvider
    {
        private int _timers;

        public int Timers => Volatile.Read(ref _timers);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _timers);
            return inner.CreateTimer(callback, state, dueTime, period);
        }
    }
}
