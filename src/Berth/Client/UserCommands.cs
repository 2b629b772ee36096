using System.Text.Json.Nodes;
using static Berth.Client.ManagementClient;

namespace Berth.Client;

/// <summary><c>berth user create|list|show|update|delete|passwd</c>.</summary>
internal static class UserCommands
{
    private static readonly OptionSpec PasswordStdin = new("--password-stdin", null, null, "read the password from the first line of standard input");

    public static readonly Column[] Columns =
    [
        new("NAME", u => Output.Text(u, "name")),
        new("ADMINISTRATOR", u => Output.Text(u, "administrator")),
        new("DISABLED", u => Output.Text(u, "disabled")),
        new("CREATED", u => Output.Time(u, "createdAt")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "user create",
            Arguments = ["NAME"],
            Summary = "Create a user (server administrators).",
            Details = """
                Without --password-stdin the user has no password until one is set with
                'berth user update NAME --password-stdin'.

                Example:
                  printf '%s\n' "$PASSWORD" | berth user create bob --password-stdin
                """,
            Options = [PasswordStdin, new("--admin", null, null, "make the user a server administrator")],
            Run = async run =>
            {
                var body = new JsonObject { ["name"] = run.Argument(0) };
                if (run.Switch("--password-stdin"))
                {
                    body["password"] = run.ReadLineFromStdin("the password");
                }

                if (run.Switch("--admin"))
                {
                    body["administrator"] = true;
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Post, "/api/v1/users", body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "user list",
            Summary = "List the users (server administrators).",
            Run = async run =>
            {
                using var client = run.Connect();
                run.PrintList(await client.GetAllAsync("/api/v1/users"), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "user show",
            Arguments = ["NAME"],
            Summary = "Show one user (administrators, and the user).",
            Run = async run =>
            {
                using var client = run.Connect();
                run.Print(await client.GetAsync(UserPath(run.Argument(0))), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "user update",
            Arguments = ["NAME"],
            Summary = "Set a user's password, administrator flag or disabled flag (server administrators).",
            Options =
            [
                PasswordStdin,
                new("--admin", null, null, "make the user a server administrator"),
                new("--no-admin", null, null, "take server administration away"),
                new("--disable", null, null, "refuse the user's logins and tokens"),
                new("--enable", null, null, "accept them again"),
            ],
            Run = async run =>
            {
                var body = new JsonObject();
                var administrator = run.Choice("--admin", "--no-admin");
                var disabled = run.Choice("--disable", "--enable");
                if (run.Switch("--password-stdin"))
                {
                    body["password"] = run.ReadLineFromStdin("the password");
                }

                if (administrator is not null)
                {
                    body["administrator"] = administrator;
                }

                if (disabled is not null)
                {
                    body["disabled"] = disabled;
                }

                if (body.Count == 0)
                {
                    throw new CommandLineException("nothing to update: give --password-stdin, --admin, --no-admin, --disable or --enable");
                }

                using var client = run.Connect();
                run.Print(await client.SendAsync(HttpMethod.Patch, UserPath(run.Argument(0)), body), Columns);
                return 0;
            },
        },
        new()
        {
            Path = "user delete",
            Arguments = ["NAME"],
            Summary = "Delete a user (server administrators; the last administrator cannot be deleted).",
            Run = async run =>
            {
                using var client = run.Connect();
                await client.SendAsync(HttpMethod.Delete, UserPath(run.Argument(0)), null);
                return run.Done($"Deleted user {run.Argument(0)}");
            },
        },
        new()
        {
            Path = "user passwd",
            Summary = "Change your own password.",
            Details = """
                On a terminal, asks for the current password and the new one twice (no echo).
                Otherwise reads two lines from standard input: the current password, then the new one.
                When the stored login uses the current password, it is updated to the new one.
                """,
            Run = PasswdAsync,
        },
    ];

    private static async Task<int> PasswdAsync(CommandRun run)
    {
        string current, replacement;
        if (run.Context.Prompt is not null)
        {
            current = run.PromptSecret("Current password: ") ?? "";
            replacement = run.PromptSecret("New password: ") ?? "";
            if (replacement != run.PromptSecret("New password again: "))
            {
                throw new CommandLineException("the new passwords differ");
            }
        }
        else
        {
            current = run.ReadLineFromStdin("the current password (first line)");
            replacement = run.ReadLineFromStdin("the new password (second line)");
        }

        if (current.Length == 0 || replacement.Length == 0)
        {
            throw new CommandLineException("a password is empty");
        }

        using var client = run.Connect();
        var body = new JsonObject { ["currentPassword"] = current, ["newPassword"] = replacement };
        await client.SendAsync(HttpMethod.Put, "/api/v1/me/password", body);
        if (client.Login is { } login && login.Secret == current)
        {
            // Otherwise the next command would be refused with the old password.
            run.Credentials.Save(login with { Secret = replacement }, makeCurrent: false);
        }

        return run.Done("Password changed");
    }

    public static string UserPath(string user) => $"/api/v1/users/{Segment(user)}";
}
