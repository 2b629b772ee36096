namespace Berth.Core.Events;

/// <summary>
/// The actor of the registry writes and reads made in the current asynchronous flow: the services read
/// <see cref="Current"/> when they raise an event, so their signatures carry no actor. The HTTP layer begins a scope for
/// each <c>/v2</c> request (resolved lazily, as the caller is known only once the request is authorized); a
/// background job or command that wants its own name begins one with <see cref="EventActor.System"/>. Work outside
/// any scope is attributed to the system (<see cref="EventActor.Berth"/>), so a job that sets nothing is never taken
/// for a user.
/// </summary>
/// <remarks>
/// A scope is an <see cref="AsyncLocal{T}"/>: it flows into everything awaited inside it, never out of the method that
/// began it (begin it in the method that then calls the services, not in a helper it awaits).
/// </remarks>
public static class EventActorContext
{
    private static readonly AsyncLocal<Func<EventActor?>?> s_current = new();

    /// <summary>The actor of the innermost scope; <see cref="EventActor.Berth"/> when there is none or it resolves to null.</summary>
    public static EventActor Current => s_current.Value?.Invoke() ?? EventActor.Berth;

    /// <summary>Attributes what happens in this flow to <paramref name="actor"/> until the scope is disposed.</summary>
    public static Scope Begin(EventActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        return Begin(() => actor);
    }

    /// <summary>
    /// Attributes what happens in this flow to whatever <paramref name="resolve"/> answers when an event is raised
    /// (null: <see cref="EventActor.Berth"/>), until the scope is disposed.
    /// </summary>
    public static Scope Begin(Func<EventActor?> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        var previous = s_current.Value;
        s_current.Value = resolve;
        return new Scope(previous);
    }

    /// <summary>Restores the actor that was current before the scope began.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly Func<EventActor?>? _previous;

        internal Scope(Func<EventActor?>? previous) => _previous = previous;

        public void Dispose() => s_current.Value = _previous;
    }
}
