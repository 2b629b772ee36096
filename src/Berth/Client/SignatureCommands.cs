using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary>
/// <c>berth signature REF</c>: the signature state of an image in the registry against its project's trust
/// (<c>GET /api/v1/repositories/signature</c>): signed by which trusted key or root, or why not; per platform for an
/// index; and each signature manifest found (cosign tag and referrers) with its verdict.
/// </summary>
internal static class SignatureCommands
{
    private const string StatePath = "/api/v1/repositories/signature";

    private static readonly Column[] StateColumns =
    [
        new("DIGEST", e => Output.Text(e, "digest")),
        new("PLATFORM", e => Output.Text(e, "platform")),
        new("SIGNED", e => Output.Text(e, "signed")),
        new("TRUSTED BY", e => Output.Text(e, "trustedBy")),
        new("VIA / REASON", e => Output.Scalar(e["exempt"]) == "true" ? "exempt (signature, attestation or SBOM)" : Output.Text(e, Output.Scalar(e["signed"]) == "true" ? "signedVia" : "reason")),
    ];

    private static readonly Column[] SignatureColumns =
    [
        new("SIGNATURE OF", e => Output.Text(e, "of")),
        new("SIGNATURE", e => Output.Text(e, "digest")),
        new("FORMAT", e => Output.Text(e, "format")),
        new("WHERE", e => Output.Text(e, "location")),
        new("VALID", e => Output.Text(e, "valid")),
        new("TRUSTED BY / FAILURE", e => Output.Text(e, Output.Scalar(e["valid"]) == "true" ? "trustedBy" : "failure")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "signature",
            Arguments = ["REF"],
            Summary = "Show whether an image in the registry is signed by a key or root its project trusts, or why not (per platform for an index).",
            Details = """
                REF is [HOST/]PROJECT/REPO[:TAG|@DIGEST]. Signatures are looked for under cosign's sha256-<hex>.sig tag and
                among the image's referrers (cosign, sigstore bundles, notation), and verified against the project's and the
                server's trusted keys and roots, whether or not the project allows only signed images.
                Examples:
                  berth signature shop/api:v1.0
                  berth signature shop/api@sha256:… -o json
                """,
            Run = RunAsync,
        },
    ];

    private static async Task<int> RunAsync(CommandRun run)
    {
        var image = ImageReference.Parse(run.Argument(0));
        using var client = image.Connect(run);
        var answer = await client.GetAsync(StatePath + Query(image.Query));
        if (run.Json)
        {
            Output.Json(run.Out, answer);
            return 0;
        }

        if (answer is not JsonObject state)
        {
            throw new ClientException("the server answered something that is not a signature state");
        }

        var rows = new List<JsonNode?> { Row(state, null) };
        var signatures = Signatures(state, Output.Scalar(state["digest"])).ToList();
        if (state["platforms"] is JsonArray platforms)
        {
            foreach (var platform in platforms.OfType<JsonObject>())
            {
                if (platform["signature"] is JsonObject child)
                {
                    rows.Add(Row(child, PlatformText(platform)));
                    signatures.AddRange(Signatures(child, Output.Scalar(child["digest"])));
                }
            }
        }

        run.Out.WriteLine($"{image.Repository.Value}@{Output.Scalar(state["digest"])}: project {(Output.Scalar(state["signedOnly"]) == "true" ? "allows only signed images" : "allows unsigned images")}");
        Output.Table(run.Out, StateColumns, rows);
        if (signatures.Count > 0)
        {
            run.Out.WriteLine();
            Output.Table(run.Out, SignatureColumns, signatures);
        }

        return 0;
    }

    private static JsonObject Row(JsonObject state, string? platform) => new()
    {
        ["digest"] = Output.Scalar(state["digest"]),
        ["platform"] = platform,
        ["signed"] = state["signed"]?.DeepClone(),
        ["exempt"] = state["exempt"]?.DeepClone(),
        ["trustedBy"] = state["trustedBy"]?.DeepClone(),
        ["signedVia"] = state["signedVia"]?.DeepClone(),
        ["reason"] = state["reason"]?.DeepClone(),
    };

    private static IEnumerable<JsonNode?> Signatures(JsonObject state, string? of)
    {
        if (state["signatures"] is not JsonArray list)
        {
            yield break;
        }

        foreach (var signature in list.OfType<JsonObject>())
        {
            var row = (JsonObject)signature.DeepClone();
            row["of"] = of;
            yield return row;
        }
    }

    private static string? PlatformText(JsonObject platform)
    {
        var os = Output.Scalar(platform["os"]);
        var architecture = Output.Scalar(platform["architecture"]);
        if (os is null || architecture is null)
        {
            return null;
        }

        return Output.Scalar(platform["variant"]) is { } variant ? $"{os}/{architecture}/{variant}" : $"{os}/{architecture}";
    }
}
