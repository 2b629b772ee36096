using Berth.Core.Access;
using Berth.Core.Events;

namespace Berth.Application.Access;

/// <summary>How a <see cref="Caller"/> appears in registry events, and back in the audit log.</summary>
public static class CallerEvents
{
    /// <summary>
    /// The event actor of <paramref name="caller"/>: a user signed in with an access token is
    /// <see cref="EventActorKind.Token"/> (named as the user), robots (always by token) are robots.
    /// </summary>
    public static EventActor ToEventActor(this Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var kind = caller.Kind switch
        {
            AuditActorKind.User => caller.ByAccessToken ? EventActorKind.Token : EventActorKind.User,
            AuditActorKind.Robot => EventActorKind.Robot,
            AuditActorKind.System => EventActorKind.System,
            _ => EventActorKind.Anonymous,
        };
        return new EventActor(kind, caller.Name, caller.Address);
    }

    /// <summary>The audit log's kind for an event actor: a token is its owner, a user (the log does not tell passwords from tokens, as before events).</summary>
    public static AuditActorKind ToAuditActorKind(this EventActorKind kind) => kind switch
    {
        EventActorKind.User or EventActorKind.Token => AuditActorKind.User,
        EventActorKind.Robot => AuditActorKind.Robot,
        EventActorKind.System => AuditActorKind.System,
        _ => AuditActorKind.Anonymous,
    };
}
