using System.Text;

namespace Berth.Client;

/// <summary>
/// The client commands of <c>berth</c> (login, project, user, member, token, robot, ip-allow, audit, whoami):
/// finds the command named by the leading words, parses its options, runs it. Exit codes: 0 done, 1 the server or
/// the network refused, 2 a usage mistake (with a hint to <c>--help</c>).
/// </summary>
internal static class ClientCli
{
    public static readonly IReadOnlyList<CommandSpec> Commands =
    [
        .. LoginCommands.All,
        .. ProjectCommands.All,
        .. UserCommands.All,
        .. MemberCommands.All,
        .. TokenCommands.All,
        .. RobotCommands.All,
        .. IpAllowCommands.All,
        .. AuditCommands.All,
        .. RepositoryCommands.All,
        .. SystemCommands.All,
        .. GcCommands.All,
        .. ImmutabilityCommands.All,
        .. RetentionCommands.All,
        .. QuotaCommands.All,
        .. ScanCommands.All,
        .. VulnDbCommands.All,
        .. CveAllowCommands.All,
        .. TrustCommands.All,
        .. KeyCommands.All,
        .. SigningCommands.All,
        .. SignatureCommands.All,
    ];

    /// <summary>Whether <paramref name="command"/> (the first word) is a client command.</summary>
    public static bool Handles(string command) => Commands.Any(c => FirstWord(c.Path) == command);

    /// <summary>Runs with the console, the environment's config folder and a real HTTP handler.</summary>
    public static async Task<int> RunConsoleAsync(IReadOnlyList<string> args)
    {
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) };
        return await RunAsync(args, ClientContext.ForConsole(handler));
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, ClientContext context)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).ToList();
        var command = Commands
            .Select(c => (Spec: c, Words: c.Path.Split(' ')))
            .Where(c => c.Words.Length <= words.Count && c.Words.SequenceEqual(words.Take(c.Words.Length)))
            .OrderByDescending(c => c.Words.Length)
            .Select(c => c.Spec)
            .FirstOrDefault();
        if (command is null)
        {
            return GroupHelp(args, words, context);
        }

        var rest = args.Skip(command.Path.Split(' ').Length).ToList();
        try
        {
            var parsed = ParsedArguments.Parse(command, rest);
            if (parsed.HelpRequested)
            {
                await context.Out.WriteAsync(command.HelpText());
                return 0;
            }

            if (command.ServerOptions && parsed.Value("--output") is { } output && output is not ("table" or "json"))
            {
                throw new CommandLineException("--output must be table or json");
            }

            return await command.Run(new CommandRun(context, command, parsed));
        }
        catch (CommandLineException ex)
        {
            await context.Error.WriteLineAsync($"berth: {ex.Message}");
            await context.Error.WriteLineAsync($"Run 'berth {command.Path} --help' for usage.");
            return 2;
        }
        catch (ClientException ex)
        {
            await context.Error.WriteLineAsync($"berth: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The credentials file or its folder: unwritable, a full disk, a folder where the file should be.
            await context.Error.WriteLineAsync($"berth: {ex.Message}");
            return 1;
        }
    }

    /// <summary>
    /// <c>berth project</c>, <c>berth robot token --help</c>, <c>berth project frobnicate</c>: the commands of the group,
    /// on stdout with exit 0 when asked for, on stderr with exit 2 otherwise.
    /// </summary>
    private static int GroupHelp(IReadOnlyList<string> args, List<string> words, ClientContext context)
    {
        var prefix = words.ToList();
        while (prefix.Count > 0 && !Commands.Any(c => StartsWith(c, prefix)))
        {
            prefix.RemoveAt(prefix.Count - 1);
        }

        var group = string.Join(' ', prefix);
        var members = Commands.Where(c => StartsWith(c, prefix)).ToList();
        var text = new StringBuilder();
        text.AppendLine($"Usage: berth {group} COMMAND [OPTIONS]");
        text.AppendLine();
        text.AppendLine("Commands:");
        var rows = members.Select(c => (Text: c.Usage()[("berth " + group).Length..].Replace(" [OPTIONS]", "", StringComparison.Ordinal).Trim(), c.Summary)).ToList();
        var width = rows.Max(r => r.Text.Length);
        foreach (var (usage, summary) in rows)
        {
            text.AppendLine($"  {usage.PadRight(width)}   {summary}");
        }

        text.AppendLine();
        text.AppendLine($"Run 'berth {group} COMMAND --help' for the options of a command.");
        var helpAsked = args.Skip(prefix.Count).Any(a => a is "--help" or "-h");
        if (helpAsked && words.Count == prefix.Count)
        {
            context.Out.Write(text.ToString());
            return 0;
        }

        context.Error.WriteLine(words.Count > prefix.Count
            ? $"berth: unknown command '{string.Join(' ', words.Take(prefix.Count + 1))}'"
            : $"berth: '{group}' needs a command");
        context.Error.Write(text.ToString());
        return 2;
    }

    private static bool StartsWith(CommandSpec command, List<string> prefix)
    {
        var commandWords = command.Path.Split(' ');
        return commandWords.Length > prefix.Count && commandWords.Take(prefix.Count).SequenceEqual(prefix);
    }

    private static string FirstWord(string path) => path.Split(' ')[0];

    /// <summary>The lines of <c>berth --help</c> about the client commands.</summary>
    public static string GeneralHelp()
    {
        var text = new StringBuilder();
        foreach (var group in Commands.GroupBy(c => FirstWord(c.Path)))
        {
            var first = group.First();
            var usage = group.Count() == 1 ? first.Usage()["berth ".Length..].Replace(" [OPTIONS]", "", StringComparison.Ordinal) : group.Key + " COMMAND";
            text.AppendLine($"  berth {usage.PadRight(20)}{GroupSummaries[group.Key]}");
        }

        return text.ToString();
    }

    private static readonly Dictionary<string, string> GroupSummaries = new(StringComparer.Ordinal)
    {
        ["login"] = "log in and store the credentials (-u USER --password-stdin)",
        ["logout"] = "remove the stored credentials",
        ["whoami"] = "who the stored credentials log in as",
        ["audit"] = "the audit log (--project, --user, --action, --since, --all)",
        ["project"] = "create, list, show, update and delete projects",
        ["user"] = "manage users (administrators); user passwd changes your own password",
        ["member"] = "add, list and remove the members of a project",
        ["token"] = "your access tokens (for docker login, CI)",
        ["robot"] = "robot accounts of a project and their tokens",
        ["ip-allow"] = "IP allow lists, server-wide or per project",
        ["repo"] = "list and delete the repositories of a project",
        ["tag"] = "list and delete the tags of a repository",
        ["system"] = "the state of the server: free storage space and its reserve (administrators)",
        ["gc"] = "garbage collection of unreferenced blobs: run now (--dry-run), status (administrators)",
        ["immutability"] = "tag immutability rules of a project (tags that can never be moved or deleted)",
        ["quota"] = "storage quota and usage of a project (quota set PROJECT 10GiB)",
        ["scan"] = "vulnerabilities of an image in the registry (REF), or of a local archive offline (--input IMAGE --vulndb OSV)",
        ["sbom"] = "the SBOM of an image in the registry, CycloneDX or SPDX (REF [--format spdx-json])",
        ["retention"] = "retention policy of a project: what old artifacts its runs delete, runs now and their history",
        ["vulndb"] = "the offline vulnerability database: import OSV records (administrators), status",
        ["cve-allow"] = "CVE allowlists the pull policy lets through, per project or server-wide",
        ["trust"] = "public keys and root certificates that verify signatures, per project or server-wide",
        ["key"] = "write a signing key pair: NAME.key (encrypted, cosign's format, 0600) and NAME.pub",
        ["sign"] = "sign an image with a private key, cosign-compatible (REF --key NAME.key [--referrer])",
        ["verify"] = "check an image's signatures against public keys (REF --key NAME.pub): exit 0 valid, 1 not",
        ["signature"] = "whether an image in the registry is signed by a key its project trusts, or why not (REF)",
    };
}
