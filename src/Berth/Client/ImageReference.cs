using Berth.Oci;

namespace Berth.Client;

/// <summary>
/// An image as <c>berth scan</c> and <c>berth sbom</c> take it: <c>[HOST/]PROJECT/REPO[:TAG|@DIGEST]</c>, as docker
/// names images. The first part is the registry's host when it has a dot or a port or is <c>localhost</c> (and more
/// parts follow); no tag and no digest means <c>latest</c>.
/// </summary>
/// <param name="Text">What the user wrote (the name reports print).</param>
/// <param name="Host">The registry host (with its port), or null when the REF names none.</param>
/// <param name="Repository">The repository (<c>shop/api</c>).</param>
/// <param name="Reference">The tag or digest.</param>
internal sealed record ImageReference(string Text, string? Host, RepositoryName Repository, Reference Reference)
{
    /// <exception cref="CommandLineException">Not a repository with an optional tag or digest.</exception>
    public static ImageReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rest = text.Trim();
        string? host = null;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && rest.IndexOf('/', slash + 1) > slash)
        {
            var first = rest[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                host = first;
                rest = rest[(slash + 1)..];
            }
        }

        string name, referenceText;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var colon = rest.LastIndexOf(':');
        if (at >= 0)
        {
            (name, referenceText) = (rest[..at], rest[(at + 1)..]);
        }
        else if (colon > rest.LastIndexOf('/'))
        {
            (name, referenceText) = (rest[..colon], rest[(colon + 1)..]);
        }
        else
        {
            (name, referenceText) = (rest, "latest");
        }

        if (!RepositoryName.TryParse(name, out var repository) || !name.Contains('/', StringComparison.Ordinal))
        {
            throw new CommandLineException($"'{text}' is not an image reference: [HOST/]PROJECT/REPO[:TAG|@DIGEST] (for example shop/api:v1)");
        }

        if (!Reference.TryParse(referenceText, out var reference) || (at >= 0 && !reference.IsDigest))
        {
            throw new CommandLineException($"'{text}': '{referenceText}' is not a {(at >= 0 ? "digest (sha256:…)" : "tag")}");
        }

        return new ImageReference(text.Trim(), host, repository, reference);
    }

    /// <summary>
    /// The client for this image: <c>--server</c> when given; else the stored login whose host is <see cref="Host"/>
    /// (or <c>https://HOST</c>); else the server logged in to last.
    /// </summary>
    public ManagementClient Connect(CommandRun run)
    {
        var (server, login) = Server(run);
        return run.Context.Client(server, login);
    }

    /// <summary>The server URL and stored login <see cref="Connect"/> uses (for the <c>/v2</c> client too).</summary>
    public (string Url, Login? Login) Server(CommandRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (Host is null || run.Option("--server") is not null)
        {
            return run.Server();
        }

        var store = run.Credentials;
        var login = store.Read().Logins.FirstOrDefault(l => Uri.TryCreate(l.Url, UriKind.Absolute, out var url)
            && string.Equals(url.Authority, Host, StringComparison.OrdinalIgnoreCase));
        var server = login?.Url ?? ServerUrl.Normalize(Host);
        return (server, login ?? store.Find(server));
    }

    /// <summary>The query naming this image in <c>/api/v1/repositories/scan</c> and <c>/sbom</c>.</summary>
    public (string Name, string? Value)[] Query => [("repository", Repository.Value), ("reference", Reference.ToString())];
}
