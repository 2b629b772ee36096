using Berth.Application.Access;
using Berth.Core.Access;

namespace Berth.Api.Access;

/// <summary>
/// Who a sealed listing cursor is for, the same on <c>/v2</c> and <c>/api</c>: the caller's kind and (case-folded)
/// name; anonymous callers share one. Here, below both surfaces, so neither refers to the other for it.
/// </summary>
internal static class CursorAudience
{
    public static string Of(Caller? caller) =>
        caller is null || caller.IsAnonymous ? "anonymous" : Kind(caller.Kind) + ":" + caller.Name.ToLowerInvariant();

    private static string Kind(AuditActorKind kind) => kind switch
    {
        AuditActorKind.Anonymous => "anonymous",
        AuditActorKind.User => "user",
        AuditActorKind.Robot => "robot",
        AuditActorKind.System => "system",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
