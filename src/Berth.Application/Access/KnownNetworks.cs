using System.Collections.Concurrent;
using System.Net;
using Berth.Auth.Throttling;
using Berth.Core.Access;
using Microsoft.Extensions.Logging;

namespace Berth.Application.Access;

/// <summary>
/// The networks each user signed in from successfully within <see cref="LoginThrottle.KnownNetworkLifetime"/> (30 days),
/// kept in <see cref="IKnownNetworkStore"/> so that a restart (or another node) knows them too: the per-account login
/// limit does not apply to them. Networks are the throttle's coarse keys (<see cref="LoginThrottle.NetworkOf"/>). A
/// repeated sign-in from a known network is written at most once per <see cref="WriteInterval"/>, and old records are
/// removed about once per <see cref="PruneInterval"/>, so a busy Basic-auth client costs no writes. Bookkeeping
/// failures are logged and never fail a sign-in.
/// </summary>
public sealed partial class KnownNetworks
{
    /// <summary>How often a known network's time is written again on further sign-ins from it.</summary>
    public static readonly TimeSpan WriteInterval = TimeSpan.FromHours(1);

    /// <summary>How often records older than the lifetime are removed (after a sign-in).</summary>
    public static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    private const int MaxCached = 100_000;
    private const int PruneBatch = 1000;

    private readonly IKnownNetworkStore _store;
    private readonly LoginThrottle _throttle;
    private readonly TimeProvider _clock;
    private readonly ILogger<KnownNetworks> _logger;

    // (user id, security stamp, network) -> the stored time is at least this. The stamp keeps a new user who gets the
    // id of a deleted one from inheriting what is cached for the old one.
    private readonly ConcurrentDictionary<(long UserId, string Stamp, string Network), DateTimeOffset> _known = new();
    private long _lastPrune = long.MinValue;

    public KnownNetworks(IKnownNetworkStore store, LoginThrottle throttle, TimeProvider clock, ILogger<KnownNetworks> logger)
    {
        _store = store;
        _throttle = throttle;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>
    /// True when <paramref name="user"/> signed in successfully from the network of <paramref name="address"/> within the
    /// lifetime. A null user does the same look-up (of no one), so unknown users cost the same.
    /// </summary>
    public async ValueTask<bool> IsKnownAsync(User? user, IPAddress? address, CancellationToken cancellationToken)
    {
        if (address is null)
        {
            return false;
        }

        var network = _throttle.NetworkOf(address);
        var cutoff = _clock.GetUtcNow() - _throttle.KnownNetworkLifetime;
        var key = (user?.Id ?? 0, user?.SecurityStamp ?? string.Empty, network);
        if (user is not null && _known.TryGetValue(key, out var cached) && cached >= cutoff)
        {
            return true;
        }

        var last = await _store.GetLastSignInAsync(key.Item1, network, cancellationToken);
        if (user is null || last is not { } at || at < cutoff)
        {
            return false;
        }

        Remember(key, at);
        return true;
    }

    /// <summary>Records a successful sign-in of <paramref name="user"/> from <paramref name="address"/> (no address: nothing).</summary>
    public async ValueTask RememberAsync(User user, IPAddress? address, CancellationToken cancellationToken)
    {
        if (address is null)
        {
            return;
        }

        var now = _clock.GetUtcNow();
        var key = (user.Id, user.SecurityStamp, _throttle.NetworkOf(address));
        if (_known.TryGetValue(key, out var stored) && now - stored < WriteInterval)
        {
            return;
        }

        try
        {
            await _store.RememberAsync(user.Id, key.Item3, now, cancellationToken);
            Remember(key, now);
            await PruneIfDueAsync(now, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWriteFailed(_logger, ex, user.Id);
        }
    }

    private void Remember((long, string, string) key, DateTimeOffset at)
    {
        if (_known.Count >= MaxCached)
        {
            _known.Clear();
        }

        _known[key] = at;
    }

    private async Task PruneIfDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var last = Interlocked.Read(ref _lastPrune);
        var due = last == long.MinValue || now.UtcTicks - last >= PruneInterval.Ticks;
        if (!due || Interlocked.CompareExchange(ref _lastPrune, now.UtcTicks, last) != last)
        {
            return;
        }

        await _store.ForgetBeforeAsync(now - _throttle.KnownNetworkLifetime, PruneBatch, cancellationToken);
    }

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning, Message = "Could not record the sign-in network of user {UserId}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, long userId);
}
