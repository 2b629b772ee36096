using Berth.Application.Access;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Access;

public static class CallerHttpContextExtensions
{
    private static readonly object Key = new();

    /// <summary>The caller authentication established for this request; null before that.</summary>
    public static Caller? GetCaller(this HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as Caller : null;

    public static void SetCaller(this HttpContext context, Caller caller) => context.Items[Key] = caller;
}
