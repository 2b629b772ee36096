namespace Berth.Testing;

/// <summary>
/// What a client and the data folder can see of a registry: the catalog, each repository's tags with the digest
/// each points at, and the blob and upload files. Two snapshots are equal when a request changed none of it.
/// </summary>
public sealed record RegistrySnapshot(string Catalog, string Tags, string BlobFiles, string UploadFiles)
{
    public static async Task<RegistrySnapshot> TakeAsync(BerthApplication app, HttpClient client)
    {
        var catalog = await client.GetCatalogAsync();
        var tags = new List<string>();
        foreach (var repository in catalog)
        {
            foreach (var tag in await client.GetTagsAsync(repository) ?? [])
            {
                using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{tag}");
                using var response = await client.SendAsync(request);
                tags.Add($"{repository}:{tag}@{response.Header("Docker-Content-Digest")}");
            }
        }

        return new RegistrySnapshot(
            string.Join('\n', catalog),
            string.Join('\n', tags),
            ListFiles(Path.Combine(app.DataPath, "blobs")),
            ListFiles(Path.Combine(app.DataPath, "uploads")));
    }

    private static string ListFiles(string folder) =>
        Directory.Exists(folder)
            ? string.Join('\n', Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Select(f => $"{Path.GetRelativePath(folder, f)} {new FileInfo(f).Length}")
                .Order(StringComparer.Ordinal))
            : string.Empty;
}
