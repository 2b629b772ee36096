using Berth.Core;
using Berth.Core.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>
/// <c>berth admin</c> on the wrong folder (refused, nothing created), <c>clear-ip-allow --project</c>, and the audit
/// entries the offline commands write as the system.
/// </summary>
public sealed class AdminCommandsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-admin-cmd-").FullName;

    private string Data => Path.Combine(_root, "data");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Task<int> RunAsync(TextWriter output, string stdin, params string[] args) =>
        AdminCommands.RunAsync(args, new StringReader(stdin), output);

    private WebApplication Open() => Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = Data });

    /// <summary>A data folder with berth.db (as a first start leaves it), a project 'shop', and IP rules at both levels.</summary>
    private async Task ArrangeAsync()
    {
        await using var app = Open();
        var projects = app.Services.GetRequiredService<IProjectStore>();
        var rules = app.Services.GetRequiredService<IIpAllowRuleStore>();
        await projects.CreateAsync(ProjectName.Parse("shop"), string.Empty, ProjectVisibility.Private, CancellationToken.None);
        await projects.CreateAsync(ProjectName.Parse("web"), string.Empty, ProjectVisibility.Private, CancellationToken.None);
        await rules.AddAsync(null, "10.0.0.0/8", null, CancellationToken.None);
        await rules.AddAsync(ProjectName.Parse("shop"), "192.168.0.0/16", null, CancellationToken.None);
        await rules.AddAsync(ProjectName.Parse("shop"), "172.16.0.0/12", null, CancellationToken.None);
        await rules.AddAsync(ProjectName.Parse("web"), "192.168.1.0/24", null, CancellationToken.None);
    }

    private async Task<IReadOnlyList<AuditEntry>> AuditAsync()
    {
        await using var app = Open();
        var page = await app.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Limit: 100), CancellationToken.None);
        return page.Items;
    }

    [Theory]
    [InlineData("reset-password")]
    [InlineData("clear-ip-allow")]
    [InlineData("rotate-token-key")]
    [InlineData("retire-token-keys")]
    public async Task Admin_FolderThatDoesNotExist_IsRefusedAndNotCreated(string command)
    {
        var error = await Assert.ThrowsAsync<StartupException>(() => RunAsync(new StringWriter(), string.Empty, command, "--data", Data));

        Assert.Contains($"there is no data folder {Data}", error.Message, StringComparison.Ordinal);
        Assert.Contains("--data DIR", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Path.Exists(Data));
    }

    [Theory]
    [InlineData("reset-password")]
    [InlineData("clear-ip-allow")]
    [InlineData("rotate-token-key")]
    [InlineData("retire-token-keys")]
    public async Task Admin_EmptyFolder_IsRefusedAndLeftEmpty(string command)
    {
        Directory.CreateDirectory(Data);
        var output = new StringWriter();

        string[] args = command == "reset-password" ? [command, "--password-stdin", "--data", Data] : [command, "--data", Data];

        var error = await Assert.ThrowsAsync<StartupException>(() => RunAsync(output, "a-long-password\n", args));

        Assert.Contains("holds no Berth data (no berth.db)", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Data));
        Assert.Equal(string.Empty, output.ToString());
    }

    [Fact]
    public async Task Admin_FileNamedBerthDbThatIsNoDatabase_IsRefusedAndLeftAlone()
    {
        Directory.CreateDirectory(Data);
        var database = Path.Combine(Data, "berth.db");
        await File.WriteAllTextAsync(database, "not a database, but long enough");

        var error = await Assert.ThrowsAsync<StartupException>(() => RunAsync(new StringWriter(), string.Empty, "clear-ip-allow", "--data", Data));

        Assert.Contains("is not a Berth database", error.Message, StringComparison.Ordinal);
        Assert.Equal("not a database, but long enough", await File.ReadAllTextAsync(database));
        Assert.Equal(["berth.db"], Directory.EnumerateFileSystemEntries(Data).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AdminClearIpAllow_WithProject_RemovesOnlyThatProjectsRulesAndSaysSo()
    {
        await ArrangeAsync();
        var output = new StringWriter();

        Assert.Equal(0, await RunAsync(output, string.Empty, "clear-ip-allow", "--project", "shop", "--data", Data));

        Assert.Contains("Removed 2 IP allow rule(s) of project 'shop'", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("server-wide rules are unchanged", output.ToString(), StringComparison.Ordinal);
        await using var app = Open();
        var rules = app.Services.GetRequiredService<IIpAllowRuleStore>();
        Assert.Empty(await rules.ListAsync(ProjectName.Parse("shop"), CancellationToken.None));
        Assert.Single(await rules.ListAsync(ProjectName.Parse("web"), CancellationToken.None));
        Assert.Equal("10.0.0.0/8", Assert.Single(await rules.ListAsync(null, CancellationToken.None)).Network);
    }

    [Fact]
    public async Task AdminClearIpAllow_WithoutProject_SaysServerWideAndHowToClearAProject()
    {
        await ArrangeAsync();
        var output = new StringWriter();

        Assert.Equal(0, await RunAsync(output, string.Empty, "clear-ip-allow", "--data", Data));

        Assert.Contains("Removed 1 server-wide IP allow rule(s)", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--project P", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nope", "there is no project 'nope'")]
    [InlineData("Not A Name", "not a valid project name")]
    public async Task AdminClearIpAllow_ProjectThatIsNotThere_IsAnErrorAndRemovesNothing(string project, string expected)
    {
        await ArrangeAsync();

        var error = await Assert.ThrowsAsync<CommandLineException>(() => RunAsync(new StringWriter(), string.Empty, "clear-ip-allow", "--project", project, "--data", Data));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        await using var app = Open();
        Assert.Single(await app.Services.GetRequiredService<IIpAllowRuleStore>().ListAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task AdminProjectOption_OnAnotherCommand_IsAnUnknownOption()
    {
        await ArrangeAsync();

        var error = await Assert.ThrowsAsync<CommandLineException>(() => RunAsync(new StringWriter(), string.Empty, "rotate-token-key", "--project", "shop", "--data", Data));

        Assert.Contains("unknown option '--project'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminResetPassword_ShortPasswordOnStdin_IsRefusedByThePasswordRule()
    {
        await ArrangeAsync();

        var error = await Assert.ThrowsAsync<CommandLineException>(() => RunAsync(new StringWriter(), "short\n", "reset-password", "--password-stdin", "--data", Data));

        Assert.Contains("at least 8 characters", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await AuditAsync(), e => e.ActorName == AdminCommands.AuditActor);
    }

    [Fact]
    public async Task AdminCommands_EachChange_IsAuditedAsTheSystem()
    {
        await ArrangeAsync();
        var output = new StringWriter();

        Assert.Equal(0, await RunAsync(output, "a-long-password\n", "reset-password", "--password-stdin", "--data", Data));
        Assert.Equal(0, await RunAsync(output, string.Empty, "clear-ip-allow", "--data", Data));
        Assert.Equal(0, await RunAsync(output, string.Empty, "clear-ip-allow", "--project", "shop", "--data", Data));
        Assert.Equal(0, await RunAsync(output, string.Empty, "rotate-token-key", "--data", Data));
        Assert.Equal(0, await RunAsync(output, string.Empty, "retire-token-keys", "--data", Data));

        var entries = (await AuditAsync()).Reverse().ToList();
        Assert.All(entries, e =>
        {
            Assert.Equal(AuditActorKind.System, e.ActorKind);
            Assert.Equal("berth admin", e.ActorName);
            Assert.Null(e.ClientAddress);
        });
        Assert.Equal(
            [AuditActions.UserCreate, AuditActions.IpRuleRemove, AuditActions.IpRuleRemove, AuditActions.IpRuleRemove, AuditActions.TokenKeyRotate, AuditActions.TokenKeyRetire],
            entries.Select(e => e.Action));
        Assert.Contains("\"user\":\"admin\"", entries[0].Detail, StringComparison.Ordinal);
        Assert.Null(entries[1].Project);
        Assert.Contains("10.0.0.0/8", entries[1].Detail, StringComparison.Ordinal);
        Assert.Equal(["shop", "shop"], entries.Skip(2).Take(2).Select(e => e.Project?.Value));
        Assert.Contains("\"generation\":2", entries[4].Detail ?? string.Empty, StringComparison.Ordinal);

        // A second reset of an existing user is an update.
        Assert.Equal(0, await RunAsync(output, "another-long-password\n", "reset-password", "--password-stdin", "--data", Data));
        var last = (await AuditAsync())[0];
        Assert.Equal((AuditActions.UserUpdate, "berth admin"), (last.Action, last.ActorName));
    }

    [Fact]
    public async Task AdminRetireTokenKeys_NothingToRetire_WritesNoAuditEntry()
    {
        await ArrangeAsync();

        Assert.Equal(0, await RunAsync(new StringWriter(), string.Empty, "retire-token-keys", "--data", Data));

        Assert.DoesNotContain(await AuditAsync(), e => e.Action == AuditActions.TokenKeyRetire);
    }
}
