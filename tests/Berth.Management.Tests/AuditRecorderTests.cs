using Berth.Application.Access;
using Berth.Application.Audit;
using Berth.Core.Access;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Management.Tests;

/// <summary>How the recorder writes what was queued: together, and one by one when the store refuses the lot.</summary>
public sealed class AuditRecorderTests
{
    [Fact]
    public async Task Queued_EntriesAreWrittenTogetherInOneCall()
    {
        var log = new RecordingLog();
        await using var recorder = await StartAsync(log);

        for (var i = 0; i < 5; i++)
        {
            await recorder.Recorder.RecordAsync(new Caller(null, AuditActorKind.User, "alice", null), AuditActions.Push);
        }

        await recorder.Recorder.FlushAsync(CancellationToken.None);
        Assert.Equal(5, log.Written.Count);
        Assert.All(log.Written, e => Assert.Equal("alice", e.ActorName));
        Assert.True(log.ManyCalls >= 1);
        Assert.Equal(0, log.SingleCalls);
    }

    [Fact]
    public async Task ABadEntry_TheOthersAreStillWrittenOnceEach()
    {
        var log = new RecordingLog { Refuse = "bob" };
        await using var recorder = await StartAsync(log);

        await recorder.Recorder.RecordAsync(new Caller(null, AuditActorKind.User, "alice", null), AuditActions.Push);
        await recorder.Recorder.RecordAsync(new Caller(null, AuditActorKind.User, "bob", null), AuditActions.Push);
        await recorder.Recorder.RecordAsync(new Caller(null, AuditActorKind.User, "carol", null), AuditActions.Push);
        await recorder.Recorder.FlushAsync(CancellationToken.None);

        Assert.Equal(["alice", "carol"], log.Written.Select(e => e.ActorName).Order());
    }

    private static async Task<Running> StartAsync(RecordingLog log)
    {
        var recorder = new AuditRecorder(log, TimeProvider.System, NullLogger<AuditRecorder>.Instance);
        await recorder.StartAsync(CancellationToken.None);
        return new Running(recorder);
    }

    private sealed record Running(AuditRecorder Recorder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Recorder.StopAsync(CancellationToken.None);
            Recorder.Dispose();
        }
    }

    /// <summary>A store that writes all or none, as the real ones do, and refuses entries of one actor.</summary>
    private sealed class RecordingLog : IAuditLog
    {
        private long _id;

        public string? Refuse { get; init; }

        public List<AuditEntry> Written { get; } = [];

        public int ManyCalls { get; private set; }

        public int SingleCalls { get; private set; }

        public Task<long> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
        {
            lock (Written)
            {
                SingleCalls++;
                if (entry.ActorName == Refuse)
                {
                    throw new ArgumentException("refused", nameof(entry));
                }

                Written.Add(entry);
                return Task.FromResult(++_id);
            }
        }

        public Task AppendManyAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
        {
            lock (Written)
            {
                ManyCalls++;
                if (entries.Any(e => e.ActorName == Refuse))
                {
                    throw new ArgumentException("refused", nameof(entries));
                }

                Written.AddRange(entries);
                return Task.CompletedTask;
            }
        }

        public Task<Page<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<int> DeleteBeforeAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
