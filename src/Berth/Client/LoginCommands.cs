using System.Text.Json.Nodes;

namespace Berth.Client;

/// <summary><c>berth login</c>, <c>berth logout</c> and <c>berth whoami</c>.</summary>
internal static class LoginCommands
{
    private static readonly OptionSpec User = new("--username", "-u", "USER", "the user name (asked for when missing on a terminal)");
    private static readonly OptionSpec PasswordStdin = new("--password-stdin", null, null, "read the password from the first line of standard input");
    private static readonly OptionSpec Password = new("--password", "-p", "PASSWORD", "the password; other users can see it in the process list, prefer --password-stdin");
    private static readonly OptionSpec Everywhere = new("--everywhere", null, null, "first sign out everywhere on the server: end every refresh token (docker's saved logins) and remembered sign-in of your account");
    private static readonly OptionSpec CaCert = new("--ca-cert", null, "FILE", "trust the server's certificate if it chains to one in this PEM file (a private CA, or a self-signed server certificate); remembered for this server");
    private static readonly OptionSpec Insecure = new("--insecure", null, null, "do not check the server's certificate at all (testing only: anyone on the path can read the password); remembered for this server");

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "login",
            Arguments = ["URL"],
            ServerOptions = false,
            Summary = "Log in to a Berth server and store the credentials for the commands that follow.",
            Details = """
                Checks the user name and password with GET /api/v1/me and stores them in credentials.json
                (mode 0600) in $BERTH_CONFIG_DIR, else $XDG_CONFIG_HOME/berth, else ~/.config/berth.
                The server becomes the default of every command until the next login.
                Without --password-stdin or -p, asks for the password on the terminal (no echo).
                An https:// server whose certificate the system does not trust (self-signed, a private CA)
                needs --ca-cert FILE; the file's path is stored with the login and used by every later
                command for that server, as is --insecure. A later login without either keeps them.

                Examples:
                  echo "$PASSWORD" | berth login https://registry.example.com -u alice --password-stdin
                  echo "$PASSWORD" | berth login https://10.0.0.5:5443 -u alice --password-stdin --ca-cert ./berth-cert.pem
                """,
            Options = [User, PasswordStdin, Password, CaCert, Insecure],
            Run = LoginAsync,
        },
        new()
        {
            Path = "logout",
            Arguments = ["URL"],
            RequiredArguments = 0,
            ServerOptions = false,
            Summary = "Remove the stored credentials for URL (default: the server logged in to last).",
            Details = """
                With --everywhere, first ends every session of your account on the server (DELETE /api/v1/me/sessions):
                refresh tokens that docker, podman and skopeo saved at login stop working, and a changed or reset
                password is checked again everywhere. Personal access tokens stay valid: revoke them one by one
                (berth token revoke ID).
                """,
            Options = [Everywhere],
            Run = LogoutAsync,
        },
        new()
        {
            Path = "whoami",
            Summary = "Show who the stored credentials log in as, and the projects they are a member of.",
            Run = WhoamiAsync,
        },
    ];

    private static readonly Column[] MeColumns =
    [
        new("NAME", m => Output.Text(m, "name")),
        new("KIND", m => Output.Text(m, "kind")),
        new("ADMINISTRATOR", m => Output.Text(m, "administrator")),
        new("MEMBERSHIPS", m => m["memberships"] is JsonArray { Count: > 0 } list
            ? string.Join(", ", list.Where(x => x is not null).Select(x => $"{Output.Text(x!, "project")} ({Output.Text(x!, "role")})"))
            : "-"),
    ];

    private static async Task<int> LoginAsync(CommandRun run)
    {
        var url = ServerUrl.Normalize(run.Argument(0));
        var user = run.Option("--username") ?? run.Context.Prompt?.Invoke("Username: ", true)
            ?? throw new CommandLineException("missing -u USER");
        user = user.Trim();
        if (user.Length == 0 || user.Contains(':', StringComparison.Ordinal))
        {
            throw new CommandLineException("the user name is empty or holds ':'");
        }

        string password;
        if (run.Switch("--password-stdin"))
        {
            if (run.Switch("--password"))
            {
                throw new CommandLineException("--password and --password-stdin cannot be used together");
            }

            password = run.ReadLineFromStdin("the password");
        }
        else if (run.Option("--password") is { } given)
        {
            await run.Context.Error.WriteLineAsync("WARNING! A password on the command line is visible to other users of this machine (ps, shell history). Use --password-stdin.");
            password = given;
        }
        else
        {
            password = run.PromptSecret("Password: ")
                ?? throw new CommandLineException("no password: pass --password-stdin and the password on standard input");
        }

        if (password.Length == 0)
        {
            throw new CommandLineException("the password is empty");
        }

        var (caCert, insecure) = Trust(run, url);
        if (insecure)
        {
            await run.Context.Error.WriteLineAsync($"WARNING! --insecure: the certificate of {url} is not checked, so anyone between you and it can read the password. For testing only.");
        }

        var login = new Login(url, user, password, caCert, insecure);
        using (var client = run.Context.Client(url, login))
        {
            client.UnauthorizedMessage = "login failed: wrong user name or password";
            await client.GetAsync("/api/v1/me");
        }

        run.Credentials.Save(login);
        await run.Out.WriteLineAsync("Login Succeeded");
        return 0;
    }

    /// <summary>
    /// The certificate trust of this login: <c>--ca-cert</c> (checked, stored as an absolute path) or <c>--insecure</c>;
    /// without either, what the stored login for the same server had.
    /// </summary>
    private static (string? CaCert, bool Insecure) Trust(CommandRun run, string url)
    {
        var caCert = run.Option("--ca-cert");
        var insecure = run.Switch("--insecure");
        if (caCert is not null && insecure)
        {
            throw new CommandLineException("--ca-cert and --insecure cannot be used together");
        }

        if ((caCert is not null || insecure) && !url.StartsWith("https://", StringComparison.Ordinal))
        {
            throw new CommandLineException("--ca-cert and --insecure are for https:// servers only");
        }

        if (caCert is not null)
        {
            caCert = Path.GetFullPath(caCert);
            ClientTls.LoadCertificates(caCert);
            return (caCert, false);
        }

        if (insecure)
        {
            return (null, true);
        }

        var stored = run.Credentials.Find(url);
        return (stored?.CaCert, stored?.Insecure ?? false);
    }

    private static async Task<int> LogoutAsync(CommandRun run)
    {
        var store = run.Credentials;
        var url = run.OptionalArgument(0) is { } given
            ? ServerUrl.Normalize(given)
            : store.Read().Current ?? throw new ClientException("not logged in to any server");
        if (run.Switch("--everywhere"))
        {
            var login = store.Find(url) ?? throw new ClientException($"not logged in to {url}: log in first to sign out everywhere");
            using var client = new ManagementClient(run.Context.Handler, url, login);
            await client.SendAsync(HttpMethod.Delete, "/api/v1/me/sessions", null);
            await run.Out.WriteLineAsync($"Signed out everywhere on {url}: refresh tokens and remembered sign-ins of '{login.User}' ended");
        }

        await run.Out.WriteLineAsync(store.Remove(url) ? $"Removed the login for {url}" : $"Not logged in to {url}");
        return 0;
    }

    private static async Task<int> WhoamiAsync(CommandRun run)
    {
        using var client = run.Connect();
        run.Print(await client.GetAsync("/api/v1/me"), MeColumns);
        return 0;
    }
}
