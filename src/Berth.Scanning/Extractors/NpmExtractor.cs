using System.Text.Json;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>
/// npm packages: the <c>package.json</c> of every installed package (<c>…/node_modules/NAME/package.json</c> or
/// <c>…/node_modules/@SCOPE/NAME/package.json</c>; package.json files elsewhere are applications, not dependencies), and
/// <c>package-lock.json</c> files outside node_modules (lockfile v1 <c>dependencies</c>, v2/v3 <c>packages</c>; dev-only
/// and linked entries are left out). A lock entry whose installed package.json was also found is reported once, from the
/// package.json.
/// </summary>
public sealed class NpmExtractor : PackageExtractor
{
    private const string Kind = "npm";
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 256, AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    // Lock file path -> (the package.json path the entry would have if installed, package).
    private readonly Dictionary<string, List<(string InstalledPath, InstalledPackage Package)>> _lockEntries = new(StringComparer.Ordinal);

    public override IReadOnlyList<FileRequest> Requests { get; } =
    [
        new FileRequest("npm package.json", IsInstalledPackageJson, 8L << 20),
        new FileRequest("npm lock file", IsLockFile, 64L << 20),
    ];

    internal static bool IsInstalledPackageJson(string path)
    {
        if (!path.EndsWith("/package.json", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = path.Split('/');
        var n = parts.Length;
        return (n >= 3 && parts[n - 3] == "node_modules" && !parts[n - 2].StartsWith('@')) ||
               (n >= 4 && parts[n - 4] == "node_modules" && parts[n - 3].StartsWith('@'));
    }

    internal static bool IsLockFile(string path) =>
        (path == "package-lock.json" || path.EndsWith("/package-lock.json", StringComparison.Ordinal)) &&
        !path.Split('/').Contains("node_modules");

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(file.Content, JsonOptions);
        }
        catch (JsonException ex)
        {
            collector.Warn(file, $"not valid JSON: {ex.Message}");
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (file.Request.Name == "npm lock file")
            {
                ReadLock(file, document.RootElement);
                return;
            }

            var root = document.RootElement;
            var name = String(root, "name");
            var version = String(root, "version");
            if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version))
            {
                // Nested package.json files (e.g. {"type":"module"} in a subfolder) name no package.
                return;
            }

            collector.SetPackages(Kind, file.Path, [new InstalledPackage(Ecosystems.Npm, name, version, null, null, "node-pkg", file.Path, file.LayerDigest, Licenses(root))]);
        }
    }

    public override void Finish(InventoryCollector collector)
    {
        foreach (var (lockPath, entries) in _lockEntries)
        {
            var remaining = entries
                .Where(e => !collector.HasFile(Kind, e.InstalledPath))
                .Select(e => e.Package)
                .DistinctBy(p => (p.Name, p.Version))
                .ToList();
            collector.SetPackages("npm-lock", lockPath, remaining);
        }
    }

    private void ReadLock(ImageFile file, JsonElement root)
    {
        var directory = LayerPaths.Parent(file.Path);
        var prefix = directory.Length == 0 ? string.Empty : directory + "/";
        var entries = new List<(string, InstalledPackage)>();
        if (root.TryGetProperty("packages", out var packages) && packages.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in packages.EnumerateObject())
            {
                var key = property.Name;
                var at = key.LastIndexOf("node_modules/", StringComparison.Ordinal);
                if (at < 0 || property.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var value = property.Value;
                if (Bool(value, "dev") || Bool(value, "link"))
                {
                    continue;
                }

                var name = String(value, "name") ?? key[(at + "node_modules/".Length)..];
                var version = String(value, "version");
                if (string.IsNullOrEmpty(version) || name.Length == 0)
                {
                    continue;
                }

                entries.Add((prefix + key + "/package.json", new InstalledPackage(Ecosystems.Npm, name, version, null, null, "node-pkg", file.Path, file.LayerDigest, Licenses(value))));
            }
        }
        else if (root.TryGetProperty("dependencies", out var dependencies) && dependencies.ValueKind == JsonValueKind.Object)
        {
            AddV1(dependencies, prefix + "node_modules/", file, entries, depth: 0);
        }

        _lockEntries[file.Path] = entries;
    }

    private static void AddV1(JsonElement dependencies, string location, ImageFile file, List<(string, InstalledPackage)> entries, int depth)
    {
        if (depth > 64)
        {
            return;
        }

        foreach (var property in dependencies.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind != JsonValueKind.Object || Bool(value, "dev"))
            {
                continue;
            }

            var version = String(value, "version");
            var installedAt = location + property.Name;
            if (!string.IsNullOrEmpty(version) && !version.StartsWith("file:", StringComparison.Ordinal))
            {
                entries.Add((installedAt + "/package.json", new InstalledPackage(Ecosystems.Npm, property.Name, version, null, null, "node-pkg", file.Path, file.LayerDigest)));
            }

            if (value.TryGetProperty("dependencies", out var nested) && nested.ValueKind == JsonValueKind.Object)
            {
                AddV1(nested, installedAt + "/node_modules/", file, entries, depth + 1);
            }
        }
    }

    private static IReadOnlyList<string>? Licenses(JsonElement package)
    {
        if (package.TryGetProperty("license", out var license))
        {
            if (license.ValueKind == JsonValueKind.String && license.GetString() is { Length: > 0 } text)
            {
                return [text];
            }

            if (license.ValueKind == JsonValueKind.Object && String(license, "type") is { Length: > 0 } type)
            {
                return [type];
            }
        }

        if (package.TryGetProperty("licenses", out var licenses) && licenses.ValueKind == JsonValueKind.Array)
        {
            var list = licenses.EnumerateArray()
                .Select(l => l.ValueKind == JsonValueKind.String ? l.GetString() : l.ValueKind == JsonValueKind.Object ? String(l, "type") : null)
                .Where(l => !string.IsNullOrEmpty(l))
                .Select(l => l!)
                .ToList();
            return list.Count > 0 ? list : null;
        }

        return null;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Bool(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
