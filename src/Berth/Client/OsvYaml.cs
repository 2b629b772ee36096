using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Berth.Client;

/// <summary>
/// An OSV record in its YAML form (the PyPA advisory database publishes them so) as JSON. Scalars stay strings, as the
/// OSV schema has them: a plain <c>1.10</c> or <c>2.0</c> is the version text, never the number 1.1 or 2; only the
/// plain words <c>true</c>/<c>false</c> become booleans and <c>null</c>, <c>~</c> or nothing becomes null (quoted, they
/// are strings). Anchors and aliases are refused (a record has no use for them, and they are how YAML bombs grow).
/// </summary>
internal static class OsvYaml
{
    /// <exception cref="FormatException">Not YAML, not one mapping, or it uses aliases.</exception>
    public static JsonNode ToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"not valid YAML (line {ex.Start.Line}): {ex.Message}", ex);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FormatException("a record must be one YAML mapping");
        }

        return Convert(root, 0)!;
    }

    private static JsonNode? Convert(YamlNode node, int depth)
    {
        if (depth > 64)
        {
            throw new FormatException("nested more than 64 levels deep");
        }

        if (!node.Anchor.IsEmpty)
        {
            throw new FormatException("uses YAML anchors or aliases, which records do not need");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new FormatException("a mapping key is not text");
                    }

                    if (obj.ContainsKey(name))
                    {
                        throw new FormatException($"'{name}' is given twice");
                    }

                    obj[name] = Convert(value, depth + 1);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(Convert(item, depth + 1));
                }

                return array;
            case YamlScalarNode scalar:
                if (scalar.Style is ScalarStyle.Plain)
                {
                    switch (scalar.Value)
                    {
                        case null or "" or "~" or "null" or "Null" or "NULL":
                            return null;
                        case "true" or "True" or "TRUE":
                            return JsonValue.Create(true);
                        case "false" or "False" or "FALSE":
                            return JsonValue.Create(false);
                    }
                }

                return JsonValue.Create(scalar.Value ?? string.Empty);
            default:
                throw new FormatException("holds a YAML node of an unknown kind");
        }
    }
}
