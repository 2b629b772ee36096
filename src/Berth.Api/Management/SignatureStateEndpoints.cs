using System.Text.Json;
using Berth.Application.Signing;
using Berth.Auth.Permissions;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Management;

/// <summary>
/// The signature state of an artifact (issue 15 item 5): <c>GET /repositories/signature?repository=&amp;reference=</c>
/// (pull permission): signed by which trusted key or root, or why not, with each signature manifest found (cosign tag
/// and referrers) and, for an index, each platform manifest. Computed against the project's trust now, whether or not
/// the project is signed-only (<see cref="SignaturePolicyGate.EvaluateAsync"/>). Reading a manifest here is not a pull.
/// </summary>
internal static class SignatureStateEndpoints
{
    /// <summary>The most manifests of an index described.</summary>
    public const int MaxPlatforms = 64;

    public static void Map(RouteGroupBuilder api)
    {
        var repositories = api.MapGroup("/repositories").WithTags("signatures");
        repositories.MapGet("/signature", GetAsync).WithName("GetSignatureState")
            .WithSummary("The signature state of ?reference= in ?repository= against the project's trust (per platform for an index)")
            .RequireProject(ProjectPermissions.Pull).WithMetadata(new RepositoryQueryRoute()).AllowAccessTokens()
            .ProducesProblems(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<RepositorySignatureResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        [FromQuery(Name = "reference")] string? referenceText, [FromServices] ManifestService manifests, [FromServices] SignaturePolicyGate gate,
        [FromServices] IScanPolicyStore policies, HttpContext context, CancellationToken cancellationToken)
    {
        RepositoryQueryRoute.TryRead(context, out var repository); // authorization refused a missing or malformed one
        if (!Reference.TryParse(referenceText, out var reference))
        {
            return Problems.Invalid("reference", "is required and must be a tag or a digest (sha256:…)");
        }

        var found = await manifests.GetAsync(repository, reference, countAsPull: false, cancellationToken);
        if (!found.IsSuccess)
        {
            return Problems.NotFound($"manifest '{reference}' is not in repository '{repository}'");
        }

        var record = found.Value!;
        var state = await DescribeAsync(repository, record, gate, cancellationToken);
        List<PlatformSignatureResponse>? platforms = null;
        if (MediaTypes.IsIndex(record.MediaType) && Manifest.TryParse(record.Body, record.MediaType, out _) is { Kind: ManifestKind.Index } index)
        {
            var named = IndexPlatforms(record.Body);
            platforms = [];
            foreach (var child in index.References.DistinctBy(c => c.Digest).Take(MaxPlatforms))
            {
                var childRecord = await manifests.GetAsync(repository, Reference.Of(child.Digest), countAsPull: false, cancellationToken);
                if (!childRecord.IsSuccess)
                {
                    continue; // listed but not stored here (pushed elsewhere): nothing to describe
                }

                var platform = named.GetValueOrDefault(child.Digest);
                platforms.Add(new PlatformSignatureResponse(platform.Os, platform.Architecture, platform.Variant,
                    await DescribeAsync(repository, childRecord.Value!, gate, cancellationToken)));
            }
        }

        var policy = await policies.GetPolicyAsync(ProjectName.Of(repository), cancellationToken);
        return TypedResults.Ok(new RepositorySignatureResponse(repository.Value, reference.ToString(), record.Digest.ToString(), record.MediaType, policy?.SignedOnly ?? false,
            state.Signed, state.Exempt, state.TrustedBy, state.Reason, state.SignedVia, state.Signatures, platforms));
    }

    private static async Task<ArtifactSignatureResponse> DescribeAsync(RepositoryName repository, ManifestRecord record, SignaturePolicyGate gate, CancellationToken cancellationToken)
    {
        var evaluation = await gate.EvaluateAsync(repository, record, cancellationToken);
        var signed = !evaluation.Exempt && evaluation.Verdict.IsValid;
        string? via = evaluation.SignedVia is not { } d ? null : d == record.Digest ? "self" : $"index {d}";
        var signatures = evaluation.Own?.Signatures.Select(s => new SignatureResponse(s.Digest.ToString(), FormatWord(s.Format),
            s.Location == SignatureLocation.Tag ? "tag" : "referrer", s.Verdict.IsValid, s.Verdict.TrustName, SignaturePolicyGate.Reason(s.Verdict), s.Verdict.Detail)).ToList() ?? [];
        return new ArtifactSignatureResponse(record.Digest.ToString(), record.MediaType, signed, evaluation.Exempt, signed ? evaluation.Verdict.TrustName : null,
            signed || evaluation.Exempt ? null : SignaturePolicyGate.Reason(evaluation.Verdict), signed ? via : null, signatures);
    }

    private static string FormatWord(SignatureFormat format) => format switch
    {
        SignatureFormat.Cosign => "cosign",
        SignatureFormat.SigstoreBundle => "sigstore-bundle",
        SignatureFormat.Notation => "notation",
        _ => "none",
    };

    /// <summary>The <c>platform</c> of each of an index's manifests, by digest (the first when a digest is listed twice).</summary>
    private static Dictionary<Digest, (string? Os, string? Architecture, string? Variant)> IndexPlatforms(byte[] body)
    {
        var platforms = new Dictionary<Digest, (string?, string?, string?)>();
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return platforms;
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String && Digest.TryParse(d.GetString(), out var digest)
                    && item.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
                {
                    platforms.TryAdd(digest, (Text(p, "os"), Text(p, "architecture"), Text(p, "variant")));
                }
            }
        }
        catch (JsonException)
        {
            // Stored indexes were parsed at push; a body that is not JSON has no platforms to name.
        }

        return platforms;

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
