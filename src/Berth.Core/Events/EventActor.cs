using System.Net;

namespace Berth.Core.Events;

/// <summary>What kind of party caused a registry event.</summary>
public enum EventActorKind
{
    /// <summary>A request without credentials; <see cref="EventActor.Name"/> is empty.</summary>
    Anonymous,

    /// <summary>A user signed in with their password (or a registry token obtained with it).</summary>
    User,

    /// <summary>A robot account (robots sign in with their access tokens only).</summary>
    Robot,

    /// <summary>A user acting through one of their personal access tokens; <see cref="EventActor.Name"/> is the user's name.</summary>
    Token,

    /// <summary>Berth itself: a background job or an offline command; <see cref="EventActor.Name"/> says which part.</summary>
    System,
}

/// <summary>
/// Who caused a registry event: the kind of party, its name (a user name, a robot's full name <c>project+robot</c>, or
/// the part of Berth for <see cref="EventActorKind.System"/>) and the client address when it came over the network.
/// </summary>
public sealed record EventActor(EventActorKind Kind, string Name, IPAddress? ClientAddress)
{
    /// <summary>The actor of work that nobody attributed (a background job that set no scope): Berth itself.</summary>
    public static EventActor Berth { get; } = System("berth");

    public static EventActor System(string part) => new(EventActorKind.System, part, null);

    public static EventActor Anonymous(IPAddress? clientAddress) => new(EventActorKind.Anonymous, string.Empty, clientAddress);
}
