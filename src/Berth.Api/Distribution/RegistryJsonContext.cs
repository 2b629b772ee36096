using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api.Distribution;

/// <summary><c>GET /v2/&lt;name&gt;/tags/list</c>: <c>{"name","tags"}</c>.</summary>
internal sealed record TagListResponse(string Name, IReadOnlyList<string> Tags);

/// <summary><c>GET /v2/_catalog</c>: <c>{"repositories"}</c>.</summary>
internal sealed record CatalogResponse(IReadOnlyList<string> Repositories);

/// <summary>
/// Source-generated JSON of the <c>/v2</c> bodies built from types (the tag list and the catalog). Error bodies come
/// from <see cref="Hosting.OciErrorResult"/>, whose <c>detail</c> is whatever the service gave; the referrers index
/// is written by hand since it embeds each manifest's stored annotations as they are.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TagListResponse))]
[JsonSerializable(typeof(CatalogResponse))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
