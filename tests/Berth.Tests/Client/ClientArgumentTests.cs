using Berth.Client;

namespace Berth.Tests.Client;

/// <summary>Argument parsing: <c>--help</c> everywhere, and usage mistakes exit 2 with a hint before any request.</summary>
public sealed class ClientArgumentTests : IDisposable
{
    private readonly ClientHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    public static TheoryData<string> CommandPaths => new(ClientCli.Commands.Select(c => c.Path));

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public async Task Help_EveryCommand_PrintsUsageAndExitsZero(string path)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var result = await _harness.RunAsync([.. path.Split(' '), flag]);

            Assert.Equal(0, result.Exit);
            Assert.StartsWith($"Usage: berth {path}", result.Out, StringComparison.Ordinal);
            Assert.Contains("-h, --help", result.Out, StringComparison.Ordinal);
            Assert.Equal("", result.Error);
        }

        Assert.Empty(_harness.Api.Requests);
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public async Task Help_WinsOverWrongArgumentsButNotOverUnknownOptions(string path)
    {
        var help = await _harness.RunAsync([.. path.Split(' '), "--help", "extra", "arguments", "too", "many"]);
        var unknown = await _harness.RunAsync([.. path.Split(' '), "--bogus", "--help"]);

        Assert.Equal(0, help.Exit);
        Assert.StartsWith($"Usage: berth {path}", help.Out, StringComparison.Ordinal);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("unknown option '--bogus'", unknown.Error, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> UsageErrors => new()
    {
        { "project create", "missing NAME", "project create" },
        { "project create a b", "too many arguments; 'project create' takes NAME", "project create" },
        { "project create web --bogus", "unknown option '--bogus'", "project create" },
        { "project create web --description", "option --description needs a value (TEXT)", "project create" },
        { "project create web --public=yes", "option --public takes no value", "project create" },
        { "project list extra", "'project list' takes no arguments", "project list" },
        { "project list -o yaml", "--output must be table or json", "project list" },
        { "project list -o json --output table", "option --output given twice", "project list" },
        { "project show", "missing NAME", "project show" },
        { "project update web", "nothing to update: give --description, --public, --private or a policy flag", "project update" },
        { "project update web --public --private", "--public and --private cannot be used together", "project update" },
        { "project delete", "missing NAME", "project delete" },
        { "user create", "missing NAME", "user create" },
        { "user show", "missing NAME", "user show" },
        { "user update bob", "nothing to update", "user update" },
        { "user update bob --admin --no-admin", "--admin and --no-admin cannot be used together", "user update" },
        { "user update bob --disable --enable", "--disable and --enable cannot be used together", "user update" },
        { "user delete", "missing NAME", "user delete" },
        { "user passwd extra", "'user passwd' takes no arguments", "user passwd" },
        { "member add web bob", "missing --role ROLE", "member add" },
        { "member add web bob --role admin", "--role must be one of owner, maintainer, developer, reader", "member add" },
        { "member add web", "missing USER", "member add" },
        { "member set-role web bob --role boss", "--role must be one of", "member set-role" },
        { "member list", "missing PROJECT", "member list" },
        { "member remove web", "missing USER", "member remove" },
        { "token create --scope pull", "missing --name NAME", "token create" },
        { "token create --name ci", "missing --scope SCOPE", "token create" },
        { "token create --name ci --scope push", "--scope must be one of pull, pull,push, pull,push,delete", "token create" },
        { "token create --name ci --scope pull --expires soon", "--expires must be a duration", "token create" },
        { "token create --name ci --scope pull --expires 400", "--expires must be a duration", "token create" },
        { "token create --name ci --scope pull --expires 0d", "--expires must be a duration", "token create" },
        { "token revoke abc", "a token ID is a positive number", "token revoke" },
        { "token revoke", "missing ID", "token revoke" },
        { "robot create web", "missing NAME", "robot create" },
        { "robot create web r", "missing --scope SCOPE", "robot create" },
        { "robot create web r --scope all", "--scope must be one of", "robot create" },
        { "robot list", "missing PROJECT", "robot list" },
        { "robot show web", "missing NAME", "robot show" },
        { "robot update web r", "nothing to update", "robot update" },
        { "robot update web r --scope everything", "--scope must be one of", "robot update" },
        { "robot update web r --disable --enable", "cannot be used together", "robot update" },
        { "robot delete web", "missing NAME", "robot delete" },
        { "robot token create web r", "missing --name NAME", "robot token create" },
        { "robot token create web r --name ci --expires forever", "--expires must be", "robot token create" },
        { "robot token list web", "missing NAME", "robot token list" },
        { "robot token revoke web r x", "a token ID is a positive number", "robot token revoke" },
        { "ip-allow add 10.1.2.3/8", "'10.1.2.3/8' is not a network", "ip-allow add" },
        { "ip-allow add banana", "'banana' is not a network", "ip-allow add" },
        { "ip-allow add", "missing CIDR", "ip-allow add" },
        { "ip-allow remove", "missing ID", "ip-allow remove" },
        { "ip-allow list --project", "option --project needs a value", "ip-allow list" },
        { "audit --limit 0", "--limit must be a number from 1 to 1000", "audit" },
        { "audit --limit 5000", "--limit must be a number from 1 to 1000", "audit" },
        { "audit --since yesterday", "--since must be an ISO 8601 instant", "audit" },
        { "audit --since 9999999d", "--since must be an ISO 8601 instant", "audit" }, // was an ArgumentOutOfRangeException
        { "audit --until noon", "--until must be an ISO 8601 instant", "audit" },
        { "audit extra", "'audit' takes no arguments", "audit" },
        { "whoami --server ftp://example.test", "'ftp://example.test' is not a server URL", "whoami" },
        { "whoami --server https://u:p@example.test", "a server URL takes no user name, password, query or fragment", "whoami" },
        { "login", "missing URL", "login" },
        { "login https://berth.test", "missing -u USER", "login" },
        { "login https://berth.test -u alice", "no password: pass --password-stdin", "login" },
        { "login https://berth.test -u alice --password-stdin -p pw", "--password and --password-stdin cannot be used together", "login" },
        { "login https://berth.test -u alice --password-stdin", "expected the password on standard input, got nothing", "login" },
        { "login https://berth.test -u a:b -p pw", "the user name is empty or holds ':'", "login" },
        { "login https://berth.test --server https://x.test", "unknown option '--server'", "login" },
        { "logout a b", "too many arguments", "logout" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task UsageError_ExitsTwoWithMessageAndHint_SendsNothing(string command, string message, string path)
    {
        var result = await _harness.RunAsync(command.Split(' '));

        Assert.Equal(2, result.Exit);
        Assert.Equal("", result.Out);
        Assert.StartsWith("berth: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.EndsWith($"Run 'berth {path} --help' for usage.\n", result.Error, StringComparison.Ordinal);
        Assert.Empty(_harness.Api.Requests);
    }

    [Fact]
    public async Task TooManyArguments_DoesNotEchoThem()
    {
        // A password typed in the wrong place must not reach the screen.
        var result = await _harness.RunAsync("login", "https://berth.test", "-u", "alice", "Hunter2-Secret");

        Assert.Equal(2, result.Exit);
        Assert.DoesNotContain("Hunter2-Secret", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownOptionWithValue_EchoesOnlyTheName()
    {
        var result = await _harness.RunAsync("login", "https://berth.test", "--pasword=Hunter2-Secret");

        Assert.Contains("unknown option '--pasword'", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2-Secret", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DoubleDash_EndsOptions()
    {
        var result = await _harness.RunAsync("project", "show", "--", "-odd-name");

        Assert.Equal(0, result.Exit);
        Assert.Equal("/api/v1/projects/-odd-name", _harness.Api.Single().PathAndQuery);
    }

    [Theory]
    [InlineData("project", "'project' needs a command")]
    [InlineData("robot token", "'robot token' needs a command")]
    [InlineData("project frobnicate", "unknown command 'project frobnicate'")]
    [InlineData("robot token mint", "unknown command 'robot token mint'")]
    public async Task Group_WithoutAKnownCommand_ListsTheCommandsOnStderrAndExitsTwo(string command, string message)
    {
        var result = await _harness.RunAsync(command.Split(' '));

        Assert.Equal(2, result.Exit);
        Assert.Equal("", result.Out);
        Assert.StartsWith($"berth: {message}\n", result.Error, StringComparison.Ordinal);
        Assert.Contains("Commands:", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("project", new[] { "create NAME", "list", "show NAME", "update NAME", "delete NAME" })]
    [InlineData("user", new[] { "create NAME", "list", "show NAME", "update NAME", "delete NAME", "passwd" })]
    [InlineData("member", new[] { "add PROJECT USER", "set-role PROJECT USER", "list PROJECT", "remove PROJECT USER" })]
    [InlineData("token", new[] { "create", "list", "revoke ID" })]
    [InlineData("robot", new[] { "create PROJECT NAME", "token create PROJECT NAME", "token revoke PROJECT NAME ID" })]
    [InlineData("ip-allow", new[] { "list", "add CIDR", "remove ID" })]
    [InlineData("immutability", new[] { "add PROJECT", "list PROJECT", "remove PROJECT ID" })]
    [InlineData("quota", new[] { "show PROJECT", "set PROJECT SIZE" })]
    [InlineData("retention", new[] { "set PROJECT", "show PROJECT", "run PROJECT", "history PROJECT [RUN]", "delete PROJECT" })]
    public async Task Group_Help_ListsItsCommands(string group, string[] commands)
    {
        var result = await _harness.RunAsync(group, "--help");

        Assert.Equal(0, result.Exit);
        Assert.StartsWith($"Usage: berth {group} COMMAND", result.Out, StringComparison.Ordinal);
        Assert.All(commands, c => Assert.Contains($"  {c} ", result.Out, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("login", true)]
    [InlineData("logout", true)]
    [InlineData("whoami", true)]
    [InlineData("project", true)]
    [InlineData("ip-allow", true)]
    [InlineData("audit", true)]
    [InlineData("serve", false)]
    [InlineData("version", false)]
    [InlineData("projects", false)]
    public void Handles_KnowsTheClientCommands(string command, bool handled) =>
        Assert.Equal(handled, ClientCli.Handles(command));

    [Fact]
    public void GeneralHelp_ListsEveryGroup()
    {
        var help = Cli.GeneralHelp();

        foreach (var group in new[] { "login URL", "logout [URL]", "whoami", "project COMMAND", "user COMMAND", "member COMMAND", "token COMMAND", "robot COMMAND", "ip-allow COMMAND", "immutability COMMAND", "quota COMMAND", "retention COMMAND", "vulndb COMMAND", "cve-allow COMMAND", "gc COMMAND", "audit", "system storage", "scan [REF]", "sbom REF", "signature REF" })
        {
            Assert.Contains("berth " + group, help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("registry.example.com", "https://registry.example.com")]
    [InlineData("http://127.0.0.1:5000/", "http://127.0.0.1:5000")]
    [InlineData("HTTPS://Registry.Example.com:443/", "https://registry.example.com")]
    [InlineData("https://example.com/registry/", "https://example.com/registry")]
    public void ServerUrl_Normalize(string given, string expected) => Assert.Equal(expected, ServerUrl.Normalize(given));

    [Fact]
    public void DefaultConfigDirectory_BerthConfigDirThenXdgThenHome()
    {
        static Func<string, string?> Env(params (string, string)[] values) => name => values.FirstOrDefault(v => v.Item1 == name).Item2;

        Assert.Equal("/etc/b", ClientContext.DefaultConfigDirectory(Env(("BERTH_CONFIG_DIR", "/etc/b"), ("XDG_CONFIG_HOME", "/x"), ("HOME", "/h"))));
        Assert.Equal("/x/berth", ClientContext.DefaultConfigDirectory(Env(("XDG_CONFIG_HOME", "/x"), ("HOME", "/h"))));
        Assert.Equal("/h/.config/berth", ClientContext.DefaultConfigDirectory(Env(("HOME", "/h"))));
    }
}
