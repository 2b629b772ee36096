using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary>One run of a command: its context and parsed arguments, and the helpers every command shares.</summary>
internal sealed class CommandRun(ClientContext context, CommandSpec spec, ParsedArguments arguments)
{
    public ClientContext Context => context;

    public CommandSpec Spec => spec;

    public ParsedArguments Arguments => arguments;

    public bool Json => arguments.Value("--output") == "json";

    public TextWriter Out => context.Out;

    public CredentialStore Credentials => new(context.ConfigDirectory);

    public string Argument(int index) => arguments.Positionals[index];

    public string? OptionalArgument(int index) => index < arguments.Positionals.Count ? arguments.Positionals[index] : null;

    public string? Option(string name) => arguments.Value(name);

    public bool Switch(string name) => arguments.Has(name);

    /// <summary>A pair such as <c>--public</c>/<c>--private</c>: true, false, or null when neither was given.</summary>
    /// <exception cref="CommandLineException">Both were given.</exception>
    public bool? Choice(string yes, string no)
    {
        if (Switch(yes) && Switch(no))
        {
            throw new CommandLineException($"{yes} and {no} cannot be used together");
        }

        return Switch(yes) ? true : Switch(no) ? false : null;
    }

    /// <summary>
    /// Connects to <c>--server</c>, or else to the server logged in to last, with the stored login for it (none: the
    /// requests go anonymous, and a 401 says to log in).
    /// </summary>
    public ManagementClient Connect()
    {
        var (url, login) = Server();
        return context.Client(url, login);
    }

    /// <summary>The server <see cref="Connect"/> talks to and the stored login for it (null: anonymous).</summary>
    public (string Url, Login? Login) Server()
    {
        var store = Credentials;
        string url;
        if (Option("--server") is { } server)
        {
            url = ServerUrl.Normalize(server);
        }
        else
        {
            url = store.Read().Current
                ?? throw new ClientException("not logged in to any server; run berth login URL (or pass --server URL)");
        }

        return (url, store.Find(url));
    }

    /// <summary>One object: a one-row table, or the JSON as the server sent it.</summary>
    public void Print(JsonNode? item, IReadOnlyList<Column> columns)
    {
        if (Json)
        {
            Output.Json(Out, item);
        }
        else
        {
            Output.Table(Out, columns, [item]);
        }
    }

    /// <summary>A listing: a table, or one JSON array of every item.</summary>
    public void PrintList(JsonArray items, IReadOnlyList<Column> columns)
    {
        if (Json)
        {
            Output.Json(Out, items);
        }
        else
        {
            Output.Table(Out, columns, items);
        }
    }

    /// <summary>A confirmation for a command that answers nothing (204); silent with <c>--output json</c>.</summary>
    public int Done(string message)
    {
        if (!Json)
        {
            Out.WriteLine(message);
        }

        return 0;
    }

    /// <summary>One line of standard input (<c>--password-stdin</c>), without its line break.</summary>
    /// <exception cref="CommandLineException">Standard input is empty or the line is.</exception>
    public string ReadLineFromStdin(string what)
    {
        var line = context.In.ReadLine();
        if (string.IsNullOrEmpty(line))
        {
            throw new CommandLineException($"expected {what} on standard input, got nothing");
        }

        return line;
    }

    /// <summary>Asks on the terminal without echo; null when standard input is not a terminal.</summary>
    public string? PromptSecret(string prompt) => context.Prompt?.Invoke(prompt, false);
}

/// <summary>Server URLs as the credentials file keys them.</summary>
internal static class ServerUrl
{
    /// <summary>
    /// <c>registry.example.com</c> → <c>https://registry.example.com</c>; <c>http://h:5000/</c> → <c>http://h:5000</c>.
    /// Lower-case host, no default port, no trailing slash; a path prefix is kept.
    /// </summary>
    /// <exception cref="CommandLineException">Not an http(s) URL, or one with credentials, a query or a fragment.</exception>
    public static string Normalize(string text)
    {
        var candidate = text.Trim();
        if (!candidate.Contains("://", StringComparison.Ordinal))
        {
            candidate = "https://" + candidate;
        }

        if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw new CommandLineException($"'{text}' is not a server URL (use e.g. https://registry.example.com or http://127.0.0.1:5000)");
        }

        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new CommandLineException("a server URL takes no user name, password, query or fragment");
        }

        return uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }
}
