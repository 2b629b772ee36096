using System.Text.Json;
using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Auth.Jwt;
using Berth.Auth.Passwords;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth;

/// <summary>
/// <c>berth admin …</c>: repairs done on the data folder directly, without the server's API, for when nobody can
/// sign in (a lost administrator password, an IP allow list that locks everyone out). Safe while the server runs.
/// They refuse a folder that holds no Berth data (and create nothing there), and each change is written to the audit
/// log as done by the system, <see cref="AuditActor"/>.
/// </summary>
internal static class AdminCommands
{
    /// <summary>The actor name of the audit entries these commands write (actor kind <see cref="AuditActorKind.System"/>).</summary>
    public const string AuditActor = "berth admin";

    private static readonly string[] Commands = ["reset-password", "clear-ip-allow", "rotate-token-key", "retire-token-keys", "migrate"];

    private static readonly JsonSerializerOptions AuditJson = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            output.Write(Help());
            return args.Length == 0 ? 2 : 0;
        }

        var command = args[0];
        var rest = args[1..].ToList();
        if (command == "migrate" && !rest.Any(a => a is "--help" or "-h"))
        {
            // Not a repair of one installation but a copy between two: its own options, no server composed.
            using var interrupted = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                interrupted.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                return await Migration.MigrateCommand.RunAsync(rest, output, Console.Error, !Console.IsErrorRedirected, interrupted.Token);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }

        if (rest.Any(a => a is "--help" or "-h"))
        {
            output.Write(Help());
            return 0;
        }

        if (!Commands.Contains(command))
        {
            throw new CommandLineException($"unknown admin command '{command}' (see berth admin --help)");
        }

        var passwordFromStdin = command == "reset-password" && rest.Remove("--password-stdin");
        string? user = null;
        if (command == "reset-password" && rest.Count > 0 && !rest[0].StartsWith('-'))
        {
            user = rest[0];
            rest.RemoveAt(0);
        }

        var projectText = command == "clear-ip-allow" ? TakeOption(rest, "--project") : null;
        var settings = ServeOptions.Resolve(rest, Environment.GetEnvironmentVariable);
        settings.Remove("Berth:AdminPassword");

        // Nothing listens: the listen addresses and TLS files of a shared --config are not these commands' business.
        settings.Remove("Berth:Listen");
        settings.Remove("Berth:TlsCertificate");
        settings.Remove("Berth:TlsKey");

        // Before anything opens it: on the wrong folder the stores would create an empty data folder, and the command
        // would "succeed" on it.
        // On PostgreSQL (--metadata postgres://…) the data folder holds no database: the migrator and the probes check
        // the server instead, and the command works on the same metadata as the nodes.
        var data = settings.TryGetValue("Berth:Data", out var given) && !string.IsNullOrEmpty(given) ? given : new ServeSettings().Data;
        var embedded = ProviderCatalog.Resolve(ProviderKind.Metadata, settings.GetValueOrDefault(ProviderCatalog.MetadataKey)).Provider.Type == "sqlite";
        if (embedded && DataFolder.WhyNotBerthData(data) is { } why)
        {
            throw new StartupException($"{why}; give the server's data folder with --data DIR (nothing was changed)");
        }

        await using var app = BerthServer.Build(settings);
        var services = app.Services;
        ServerStartup.OpenStores(services, DataFolder.FullPath(data));
        var audit = services.GetRequiredService<IAuditLog>();
        var clock = services.GetRequiredService<TimeProvider>();
        Task RecordAsync(string action, ProjectName? project, object detail) => audit.AppendAsync(new AuditEntry
        {
            At = clock.GetUtcNow(),
            ActorKind = AuditActorKind.System,
            ActorName = AuditActor,
            Action = action,
            Project = project,
            Detail = JsonSerializer.Serialize(detail, AuditJson),
        }, CancellationToken.None);

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

                    if (AdminBootstrap.PasswordProblem(password) is { } problem)
                    {
                        throw new CommandLineException($"the password {problem}");
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

                var administrator = existing is null || name == AdminBootstrap.AdminName;
                if (administrator)
                {
                    await AdminBootstrap.EnsureAdministratorAsync(users, hasher, password, CancellationToken.None, name);
                }
                else
                {
                    await users.SetPasswordHashAsync(existing!.Id, hasher.Hash(password), CancellationToken.None);
                    if (existing.Disabled)
                    {
                        await users.SetDisabledAsync(existing.Id, false, CancellationToken.None);
                    }
                }

                await RecordAsync(existing is null ? AuditActions.UserCreate : AuditActions.UserUpdate, null,
                    new { user = name, administrator = administrator ? true : (bool?)null, disabled = false, password = true, command = "reset-password" });

                output.WriteLine(passwordFromStdin
                    ? $"The password of '{name}' was reset; the account is enabled."
                    : $"The password of '{name}' was reset to: {password}\nIt is shown only this once; the account is enabled.");
                return 0;
            }

            case "clear-ip-allow":
            {
                ProjectName? project = null;
                if (projectText is not null)
                {
                    if (!ProjectName.TryParse(projectText, out var parsed))
                    {
                        throw new CommandLineException($"'{projectText}' is not a valid project name");
                    }

                    if (await services.GetRequiredService<IProjectStore>().GetAsync(parsed, CancellationToken.None) is null)
                    {
                        throw new CommandLineException($"there is no project '{projectText}'");
                    }

                    project = parsed;
                }

                var rules = services.GetRequiredService<IIpAllowRuleStore>();
                var removed = 0;
                foreach (var rule in await rules.ListAsync(project, CancellationToken.None))
                {
                    if (await rules.RemoveAsync(rule.Id, CancellationToken.None) == DeleteResult.Deleted)
                    {
                        await RecordAsync(AuditActions.IpRuleRemove, project, new { id = rule.Id, network = rule.Network, command = "clear-ip-allow" });
                        removed++;
                    }
                }

                output.WriteLine(project is null
                    ? $"Removed {removed} server-wide IP allow rule(s); every address may connect again (project rules are unchanged; clear one project's with --project P)."
                    : $"Removed {removed} IP allow rule(s) of project '{project}'; every address may reach it again (server-wide rules are unchanged).");
                return 0;
            }

            case "rotate-token-key":
            {
                var ring = services.GetRequiredService<SigningKeyRing>();
                var previous = ring.Keys.Select(k => k.Id).ToList();
                var key = ring.Rotate();
                await RecordAsync(AuditActions.TokenKeyRotate, null, new { key = key.Id, generation = key.Generation, command = "rotate-token-key" });
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

                if (retired.Count > 0)
                {
                    await RecordAsync(AuditActions.TokenKeyRetire, null, new { keys = retired, current = ring.Current.Id, command = "retire-token-keys" });
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

    /// <summary>Removes <c>NAME VALUE</c> or <c>NAME=VALUE</c> from <paramref name="args"/>; the value, or null when absent.</summary>
    private static string? TakeOption(List<string> args, string name)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                var value = args[i][(name.Length + 1)..];
                args.RemoveAt(i);
                return value;
            }

            if (args[i] == name)
            {
                if (i + 1 >= args.Count)
                {
                    throw new CommandLineException($"option {name} needs a value");
                }

                var value = args[i + 1];
                args.RemoveRange(i, 2);
                return value;
            }
        }

        return null;
    }

    internal static string Help() =>
        """
        Usage:
          berth admin reset-password [USER] [--password-stdin] [--data DIR] [--metadata URL] [--config FILE]
              Sets a new password (generated and printed once, or read from standard input) and enables the
              account. USER defaults to admin, which is also made an administrator (and created if missing).
          berth admin clear-ip-allow [--project PROJECT] [--data DIR] [--metadata URL] [--config FILE]
              Removes every server-wide IP allow rule (when a rule locks everyone out), or with --project every
              rule of that project.
          berth admin rotate-token-key [--data DIR] [--token-key-dir DIR]
              Adds a new key for signing registry tokens; running servers sign with it within a minute, and the
              older keys keep verifying.
          berth admin retire-token-keys [--data DIR] [--token-key-dir DIR]
              Removes every key but the newest (wait at least 5 minutes after a rotation): tokens they signed,
              including docker's saved refresh tokens, stop working.
          berth admin migrate --data DIR --to-metadata URL --to-storage URL [--to-storage-path DIR] [--dry-run]
              Copies an embedded installation (the data folder's berth.db and blobs) to PostgreSQL and a blob store
              for several nodes. --to-metadata: postgres://USER:PASS@HOST:PORT/DB or an Npgsql connection string
              (password from PGPASSWORD when left out); the database must be empty or hold this source's earlier,
              interrupted migration (else it is refused and nothing changed). --to-storage: a storage URI as
              --storage takes it (s3://BUCKET/PREFIX?endpoint=…&region=…&path-style=true, azure://CONTAINER/PREFIX)
              or filesystem with --to-storage-path DIR (or a path: --to-storage /srv/blobs); credentials as for
              berth serve, never in the URI: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3,
              AZURE_STORAGE_CONNECTION_STRING for Azure. The bucket or container must exist.
              Stop the source server first: writes after the start are not copied. The metadata is copied in one
              transaction with its ids, then every blob, hashed while it is copied and read back from the target
              to verify it; uploads in progress are not copied (clients start them again). Interrupted (Ctrl+C, a
              lost connection), the same command goes on: blobs already on the target are verified and kept. Blobs
              listed in berth.db but missing from the folder, or whose bytes do not match their digest, are named
              at the end after everything else was copied. --dry-run reads only and reports counts and bytes to
              copy. Progress on standard error. Exit codes: 0 done, 1 failed or incomplete, 2 bad command line.

        The repairs work on the stores directly (the server may be running); --data, --metadata, --storage and --config are
        as for berth serve: with --metadata postgres://USER@HOST/DB (password from PGPASSWORD or the config file) they
        repair the database every node shares. On the embedded default they refuse a folder that holds no Berth data
        (no berth.db) and change nothing there; each change is recorded in the audit log with the actor 'berth admin'
        (kind system).

        """;
}
