using System.Text.Json;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Extractors;

/// <summary>NuGet packages of .NET applications, from the <c>libraries</c> of every <c>*.deps.json</c> ("Name/Version" keys whose <c>type</c> is "package").</summary>
public sealed class DotnetDepsExtractor : PackageExtractor
{
    public override IReadOnlyList<FileRequest> Requests { get; } =
        [new FileRequest("dotnet deps.json", p => p.EndsWith(".deps.json", StringComparison.Ordinal), 16L << 20)];

    public override void Extract(ImageFile file, InventoryCollector collector)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(file.Content, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            collector.Warn(file, $"not valid JSON: {ex.Message}");
            return;
        }

        using (document)
        {
            var packages = new List<InstalledPackage>();
            if (document.RootElement.ValueKind == JsonValueKind.Object &&
                document.RootElement.TryGetProperty("libraries", out var libraries) &&
                libraries.ValueKind == JsonValueKind.Object)
            {
                foreach (var library in libraries.EnumerateObject())
                {
                    if (library.Value.ValueKind != JsonValueKind.Object ||
                        !library.Value.TryGetProperty("type", out var type) ||
                        type.ValueKind != JsonValueKind.String ||
                        type.GetString() != "package")
                    {
                        continue;
                    }

                    var slash = library.Name.IndexOf('/', StringComparison.Ordinal);
                    if (slash <= 0 || slash == library.Name.Length - 1)
                    {
                        continue;
                    }

                    packages.Add(new InstalledPackage(Ecosystems.NuGet, library.Name[..slash], library.Name[(slash + 1)..], null, null, "dotnet-core", file.Path, file.LayerDigest));
                }
            }

            collector.SetPackages("dotnet", file.Path, packages);
        }
    }
}
