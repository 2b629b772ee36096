using System.Text.Json;
using Json.Schema;

namespace Berth.Scanning.Tests.Sbom;

/// <summary>The official CycloneDX 1.6 and SPDX 2.3 JSON schemas (copies in tests/testdata/schemas, see NOTICE.md there).</summary>
internal static class Schemas
{
    private static readonly Lazy<JsonSchema> CycloneDxSchema = new(() =>
    {
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        JsonSchema.FromFile(PathOf("spdx.schema.json"), options);
        JsonSchema.FromFile(PathOf("jsf-0.82.schema.json"), options);
        return JsonSchema.FromFile(PathOf("bom-1.6.schema.json"), options);
    });

    private static readonly Lazy<JsonSchema> SpdxSchema = new(() =>
        JsonSchema.FromFile(PathOf("spdx-2.3-schema.json"), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "schemas", name);

    /// <summary>The schema's errors for <paramref name="json"/> (empty when valid), as "location: message" lines.</summary>
    public static IReadOnlyList<string> CycloneDxErrors(byte[] json) => Errors(CycloneDxSchema.Value, json);

    public static IReadOnlyList<string> SpdxErrors(byte[] json) => Errors(SpdxSchema.Value, json);

    private static List<string> Errors(JsonSchema schema, byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var results = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
        {
            return [];
        }

        return (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
            .DefaultIfEmpty("invalid (no details)")
            .ToList();
    }
}
