using Berth.Api.Access;
using Berth.Auth.Jwt;
using Berth.Auth.Passwords;
using Berth.Core.Access;

namespace Berth;

/// <summary>
/// <c>berth admin …</c>: repairs done on the data folder directly, without the server's API, for when nobody can
/// sign in (a lost administrator password, an IP allow list that locks everyone out). Safe while the server runs.
/// </summary>
internal static class AdminCommands
{
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            output.Write(Help());
            return args.Length == 0 ? 2 : 0;
        }

        var command = args[0];
        var rest = args[1..].ToList();
        if (rest.Any(a => a is "--help" or "-h"))
        {
            output.Write(Help());
            return 0;
        }

        var passwordFromStdin = rest.Remove("--password-stdin");
        string? user = null;
        if (command == "reset-password" && rest.Count > 0 && !rest[0].StartsWith('-'))
        {
            user = rest[0];
            rest.RemoveAt(0);
        }

        var settings = ServeOptions.Resolve(rest, Environment.GetEnvironmentVariable);
        settings.Remove("Berth:AdminPassword");
        await using var app = BerthServer.Build(settings);
        var services = app.Services;
        switch (command)
        {
            case "reset-password":
            {
                var name = user ?? AdminBootstrap.AdminName;
                if (!UserName.TryParse(name, out var userName))
                {
                    throw new CommandLineException($"'{name}' is not a valid user name");
                }

                string password;
                if (passwordFromStdin)
                {
                    password = input.ReadLine() ?? string.Empty;
                    if (password.Length == 0)
                    {
                        throw new CommandLineException("no password on standard input");
                    }
                }
                else
                {
                    password = AdminBootstrap.GeneratePassword();
                }

                var users = services.GetRequiredService<IUserStore>();
                var hasher = services.GetRequiredService<PasswordHasher>();
                var existing = await users.GetAsync(userName, CancellationToken.None);
                if (existing is null && name != AdminBootstrap.AdminName)
                {
                    throw new CommandLineException($"there is no user '{name}'");
                }

                if (existing is null || name == AdminBootstrap.AdminName)
                {
                    await AdminBootstrap.EnsureAdministratorAsync(users, hasher, password, CancellationToken.None, name);
                }
                else
                {
                    await users.SetPasswordHashAsync(existing.Id, hasher.Hash(password), CancellationToken.None);
                    if (existing.Disabled)
                    {
                        await users.SetDisabledAsync(existing.Id, false, CancellationToken.None);
                    }
                }

                output.WriteLine(passwordFromStdin
                    ? $"The password of '{name}' was reset; the account is enabled."
                    : $"The password of '{name}' was reset to: {password}\nIt is shown only this once; the account is enabled.");
                return 0;
            }

            case "clear-ip-allow":
            {
                var rules = services.GetRequiredService<IIpAllowRuleStore>();
                var removed = 0;
                foreach (var rule in await rules.ListAsync(null, CancellationToken.None))
                {
                    await rules.RemoveAsync(rule.Id, CancellationToken.None);
                    removed++;
                }

                output.WriteLine($"Removed {removed} server-wide IP allow rule(s); every address may connect again (project rules are unchanged).");
                return 0;
            }

            case "rotate-token-key":
            {
                var ring = services.GetRequiredService<SigningKeyRing>();
                var previous = ring.Keys.Select(k => k.Id).ToList();
                var key = ring.Rotate();
                output.WriteLine($"New signing key {key.Id} in {ring.Folder}; running servers sign with it within a minute.");
                output.WriteLine($"Older keys ({string.Join(", ", previous)}) still verify. At least 5 minutes later, retire them: berth admin retire-token-keys");
                return 0;
            }

            case "retire-token-keys":
            {
                var ring = services.GetRequiredService<SigningKeyRing>();
                var retired = ring.Keys.Skip(1).Select(k => k.Id).ToList();
                foreach (var old in retired)
                {
                    ring.Remove(old);
                }

                output.WriteLine(retired.Count == 0
                    ? $"Only the current key {ring.Current.Id} exists; nothing to retire."
                    : $"Retired {string.Join(", ", retired)}; only {ring.Current.Id} verifies now (saved docker logins signed by the old keys sign in again).");
                return 0;
            }

            default:
                throw new CommandLineException($"unknown admin command '{command}' (see berth admin --help)");
        }
    }

    internal static string Help() =>
        """
        Usage:
          berth admin reset-password [USER] [--password-stdin] [--data DIR] [--config FILE]
              Sets a new password (generated and printed once, or read from standard input) and enables the
              account. USER defaults to admin, which is also made an administrator (and created if missing).
          berth admin clear-ip-allow [--data DIR] [--config FILE]
              Removes every server-wide IP allow rule (when a rule locks everyone out).
          berth admin rotate-token-key [--data DIR] [--token-key-dir DIR]
              Adds a new key for signing registry tokens; running servers sign with it within a minute, and the
              older keys keep verifying.
          berth admin retire-token-keys [--data DIR] [--token-key-dir DIR]
              Removes every key but the newest (wait at least 5 minutes after a rotation): tokens they signed,
              including docker's saved refresh tokens, stop working.

        These work on the data folder directly (the server may be running); --data and --config are as for berth serve.

        """;
}
