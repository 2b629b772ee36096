using System.Globalization;
using System.Net;
using Berth.Auth.Network;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Access;

/// <summary>The request details every API reads the same way when it authenticates and refuses.</summary>
public static class HttpAccess
{
    /// <summary>The client's address: the peer, or the right-most untrusted <c>X-Forwarded-For</c> entry when the peer is a trusted proxy.</summary>
    public static IPAddress? ResolveClient(this ClientAddressResolver resolver, HttpContext context) =>
        resolver.Resolve(context.Connection.RemoteIpAddress, context.Request.Headers["X-Forwarded-For"]);

    /// <summary>Sets <c>Retry-After</c> in whole seconds, at least one.</summary>
    public static void SetRetryAfter(this HttpResponse response, TimeSpan wait) =>
        response.Headers.RetryAfter = Math.Max(1L, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
