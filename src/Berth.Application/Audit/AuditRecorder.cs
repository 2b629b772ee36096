using System.Text.Json;
using System.Threading.Channels;
using Berth.Application.Access;
using Berth.Core.Access;
using Berth.Oci;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Audit;

/// <summary>
/// Appends audit entries without holding up the request that caused them: entries go into a bounded queue that a
/// background writer drains into <see cref="IAuditLog"/>, several at a time so the metadata store can commit them
/// together. Stopping the server writes what is queued. When the queue is full (the store is far behind), the
/// request waits for room rather than the entry being dropped.
/// </summary>
public sealed partial class AuditRecorder : BackgroundService
{
    private const int Capacity = 10_000;
    private const int Batch = 64;

    private readonly IAuditLog _log;
    private readonly TimeProvider _clock;
    private readonly ILogger<AuditRecorder> _logger;
    private readonly Channel<AuditEntry> _queue = Channel.CreateBounded<AuditEntry>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private int _pending;

    public AuditRecorder(IAuditLog log, TimeProvider clock, ILogger<AuditRecorder> logger)
    {
        _log = log;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Queues an entry for <paramref name="caller"/>; <paramref name="detail"/> is serialized as JSON (null: none).</summary>
    public ValueTask RecordAsync(Caller caller, string action, ProjectName? project = null, RepositoryName? repository = null, object? detail = null)
    {
        var entry = new AuditEntry
        {
            At = _clock.GetUtcNow(),
            ActorKind = caller.Kind,
            ActorName = caller.Name,
            Action = action,
            Project = project ?? (repository is { } r ? ProjectName.Of(r) : null),
            Repository = repository,
            Detail = detail is null ? null : JsonSerializer.Serialize(detail, detail.GetType(), AuditJson.Options),
            ClientAddress = caller.Address,
        };
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(entry))
        {
            return ValueTask.CompletedTask;
        }

        return _queue.Writer.WriteAsync(entry);
    }

    /// <summary>
    /// Records a successful sign-in, at most once per <see cref="LoginQuietPeriod"/> for the same account, address and
    /// way of signing in: clients fetch a registry token for every repository they touch, and each fetch signs in
    /// again, which would bury the log under identical entries. Failures: <see cref="RecordLoginFailureAsync"/>.
    /// </summary>
    public ValueTask RecordLoginAsync(Caller caller, string via, string endpoint)
    {
        var key = $"{(int)caller.Kind}|{caller.Name}|{caller.Address}|{via}|{endpoint}";
        var now = _clock.GetTimestamp();
        if (_recentLogins.TryGetValue(key, out var last) && _clock.GetElapsedTime(last, now) < LoginQuietPeriod)
        {
            return ValueTask.CompletedTask;
        }

        if (_recentLogins.Count >= 10_000)
        {
            _recentLogins.Clear();
        }

        _recentLogins[key] = now;
        return RecordAsync(caller, AuditActions.LoginSuccess, detail: new { via, endpoint });
    }

    /// <summary>How long repeated successful sign-ins of the same account from the same address go unrecorded.</summary>
    public static readonly TimeSpan LoginQuietPeriod = TimeSpan.FromMinutes(10);

    /// <summary>The longest claimed user name a failure entry keeps; longer ones are cut (with "…").</summary>
    public const int MaxClaimedUserLength = 128;

    /// <summary>
    /// Records a failed sign-in (<see cref="AuditActions.LoginFailure"/>, by an anonymous actor, with the claimed user
    /// name, cut to <see cref="MaxClaimedUserLength"/>, and the endpoint) at most once per <see cref="LoginQuietPeriod"/>
    /// for the same claimed user (compared case-insensitively) and address, whichever endpoint and way of signing in:
    /// an attacker repeating guesses cannot flood the log, and the throttle bounds how many names one address tries.
    /// Returns whether an entry was queued.
    /// </summary>
    /// <param name="user">The claimed user name; null or empty for a bare access token.</param>
    /// <param name="endpoint"><c>registry</c> (/v2), <c>token</c> (/token) or <c>api</c> (/api/v1).</param>
    /// <param name="via"><c>password</c>, <c>token</c> (an access token) or <c>refresh_token</c>.</param>
    public async ValueTask<bool> RecordLoginFailureAsync(System.Net.IPAddress? address, string? user, string endpoint, string via)
    {
        user ??= string.Empty;
        var claimed = user.Length > MaxClaimedUserLength ? user[..MaxClaimedUserLength] + "…" : user;
        var key = $"{claimed.Trim().ToLowerInvariant()}|{address}";
        var now = _clock.GetTimestamp();
        if (_recentFailures.TryGetValue(key, out var last) && _clock.GetElapsedTime(last, now) < LoginQuietPeriod)
        {
            return false;
        }

        if (_recentFailures.Count >= 10_000)
        {
            _recentFailures.Clear();
        }

        _recentFailures[key] = now;
        await RecordAsync(Caller.Anonymous(address), AuditActions.LoginFailure, detail: new { user = claimed, endpoint, via });
        return true;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _recentFailures = new(StringComparer.Ordinal);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _recentLogins = new(StringComparer.Ordinal);

    /// <summary>Waits until everything queued so far is written (tests, shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _pending) > 0)
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var batch = new List<AuditEntry>(Batch);
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(reader, batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await DrainAsync(reader, batch); // whatever arrived before the stop
    }

    private async Task DrainAsync(ChannelReader<AuditEntry> reader, List<AuditEntry> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < Batch && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            if (batch.Count == 0)
            {
                return;
            }

            await WriteAsync(batch);
            Interlocked.Add(ref _pending, -batch.Count);
        }
    }

    /// <summary>
    /// Writes what was queued together in one call (one round trip on PostgreSQL); when that fails, one by one, so one
    /// bad entry (or a failure that hit all of them) is logged for what it is and the others are still written.
    /// </summary>
    private async Task WriteAsync(List<AuditEntry> batch)
    {
        try
        {
            await _log.AppendManyAsync(batch, CancellationToken.None);
            return;
        }
#pragma warning disable CA1031 // whatever the store threw, the entries are tried one by one and failures logged
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        foreach (var entry in batch)
        {
            try
            {
                await _log.AppendAsync(entry, CancellationToken.None);
            }
#pragma warning disable CA1031
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogWriteFailed(_logger, ex, entry.Action, entry.ActorName);
            }
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "Could not write the audit entry {Action} by {Actor}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string action, string actor);
}

internal static class AuditJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
