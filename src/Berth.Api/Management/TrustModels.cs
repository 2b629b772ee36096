using Berth.Core.Signing;

namespace Berth.Api.Management;

/// <summary>
/// <c>POST /api/v1/trust</c> and <c>POST /api/v1/projects/{project}/trust</c>: a name (letters, digits, <c>-_.</c>), the
/// PEM public key or root certificate, and for a root the identities it may vouch for.
/// </summary>
public sealed record TrustRequest
{
    public string? Name { get; init; }

    public string? Pem { get; init; }

    public IReadOnlyList<string>? Identities { get; init; }
}

/// <summary>A trusted key or root; <see cref="Project"/> null for a server-wide one; <see cref="Kind"/> <c>key</c> or <c>root</c>.</summary>
public sealed record TrustResponse(long Id, string? Project, string Name, string Kind, string Fingerprint, IReadOnlyList<string> Identities, string Pem, string CreatedBy, string CreatedAt)
{
    public static TrustResponse From(TrustEntry e) =>
        new(e.Id, e.Project?.Value, e.Name, e.Kind == TrustKind.Root ? "root" : "key", e.Fingerprint, e.Identities, e.Pem, e.CreatedBy, Wire.Time(e.CreatedAt));
}
