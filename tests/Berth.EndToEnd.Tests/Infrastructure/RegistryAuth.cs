using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The containers auth file (<c>REGISTRY_AUTH_FILE</c>, the format of <c>skopeo login</c> / <c>podman login</c>) that
/// holds the administrator's credentials for every test server started in this run, so skopeo and podman push and
/// pull as the administrator unless a test gives them another file.
/// </summary>
public static class RegistryAuth
{
    public const string Variable = "REGISTRY_AUTH_FILE";

    private static readonly Lock Gate = new();
    private static readonly JsonObject Auths = [];
    private static readonly Lazy<string> Folder = new(() => Directory.CreateTempSubdirectory("berth-e2e-auth-").FullName);

    public static string FilePath => Path.Combine(Folder.Value, "auth.json");

    public static IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?> { [Variable] = FilePath };

    public static void Add(string host, string user, string secret)
    {
        lock (Gate)
        {
            Auths[host] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + secret)) };
            var document = new JsonObject { ["auths"] = Auths.DeepClone() };
            var temporary = FilePath + ".tmp";
            File.WriteAllText(temporary, document.ToJsonString());
            File.Move(temporary, FilePath, overwrite: true);
        }
    }

    public static AuthenticationHeaderValue Basic(string user, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + secret)));
}
