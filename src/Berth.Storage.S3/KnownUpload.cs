namespace Berth.Storage.S3;

/// <summary>
/// What one process knows of a shared upload, to spare S3 requests: when it last created or saw the marker, the state
/// its last writer committed, and the segment objects its writers made (every one, acknowledged or not, so a commit can
/// delete them by name). Only ever a hint: without it the store asks S3.
/// </summary>
internal sealed class KnownUpload
{
    private readonly Lock _gate = new();
    private readonly List<string> _tokens = [];
    private DateTimeOffset _markerSeen = DateTimeOffset.MinValue;
    private string? _lastState;

    public void MarkerSeen(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (now > _markerSeen)
            {
                _markerSeen = now;
            }
        }
    }

    public bool MarkerBelieved(DateTimeOffset now, TimeSpan trust)
    {
        lock (_gate)
        {
            return now - _markerSeen < trust && now >= _markerSeen;
        }
    }

    /// <summary>A writer of this process committed segment <paramref name="token"/> (null: it wrote none), making <paramref name="state"/>.</summary>
    public void Written(string? token, string? state)
    {
        lock (_gate)
        {
            if (token is not null && !_tokens.Contains(token))
            {
                _tokens.Add(token);
            }

            _lastState = state;
        }
    }

    /// <summary>The segments this process wrote, when its last writer's state is <paramref name="state"/>; else null.</summary>
    public IReadOnlyCollection<string>? TokensIfLastStateIs(string? state)
    {
        lock (_gate)
        {
            return state is not null && string.Equals(_lastState, state, StringComparison.Ordinal) ? [.. _tokens] : null;
        }
    }

    public IReadOnlyCollection<string> Tokens()
    {
        lock (_gate)
        {
            return [.. _tokens];
        }
    }
}
