using System.Text;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>The OS from <c>etc/os-release</c> (preferred) or <c>usr/lib/os-release</c> (os-release(5)).</summary>
public sealed class OsReleaseExtractor : PackageExtractor
{
    private static readonly string[] Paths = ["etc/os-release", "usr/lib/os-release"];

    public override IReadOnlyList<FileRequest> Requests { get; } =
        [new FileRequest("os-release", p => p is "etc/os-release" or "usr/lib/os-release", 64 * 1024, ExactPaths: Paths)];

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        var os = Parse(Encoding.UTF8.GetString(file.Content.Span));
        if (os is null)
        {
            collector.Warn(file, "os-release has no ID");
            return;
        }

        collector.SetOs(file.Path, os);
    }

    /// <summary>Parses os-release text: KEY=value lines, values optionally in single or double quotes with \-escapes.</summary>
    public static OsInfo? Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            values[line[..equals].Trim()] = Unquote(line[(equals + 1)..].Trim());
        }

        if (!values.TryGetValue("ID", out var id) || id.Length == 0)
        {
            return null;
        }

        return new OsInfo(
            id,
            values.GetValueOrDefault("VERSION_ID") ?? string.Empty,
            values.GetValueOrDefault("PRETTY_NAME"),
            values.GetValueOrDefault("VERSION_CODENAME"));
    }

    private static string Unquote(string value)
    {
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
        {
            var inner = value[1..^1];
            if (value[0] == '\'')
            {
                return inner;
            }

            var builder = new StringBuilder(inner.Length);
            for (var i = 0; i < inner.Length; i++)
            {
                if (inner[i] == '\\' && i + 1 < inner.Length)
                {
                    i++;
                }

                builder.Append(inner[i]);
            }

            return builder.ToString();
        }

        return value;
    }
}
