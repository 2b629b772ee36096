using Berth.Api.Access;
using Berth.Auth.Passwords;
using Berth.Core.Access;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>The serve options of access control, and <c>berth admin</c> on a data folder.</summary>
public sealed class AccessOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-admin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Resolve_AccessFlags_MapToConfiguration()
    {
        var settings = ServeOptions.Resolve(
            ["--auto-create-projects", "yes", "--public-url", "https://registry.example.com", "--trusted-proxies", "10.0.0.0/8,::1", "--token-key-dir", "/srv/keys"], Env());

        Assert.Equal("true", settings["Berth:AutoCreateProjects"]);
        Assert.Equal("https://registry.example.com", settings["Berth:PublicUrl"]);
        Assert.Equal("10.0.0.0/8,::1", settings["Berth:TrustedProxies"]);
        Assert.Equal("/srv/keys", settings["Berth:Auth:RegistryTokens:KeyFolder"]);
    }

    [Theory]
    [InlineData("90d", "90.00:00:00")]
    [InlineData("0", "00:00:00")]
    public void Resolve_AuditRetention_IsADurationOrZero(string value, string expected)
    {
        Assert.Equal(expected, ServeOptions.Resolve(["--audit-retention", value], Env())["Berth:AuditRetention"]);
    }

    [Fact]
    public void Resolve_AutoCreateProjects_RefusesWhatIsNotABoolean()
    {
        var error = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--auto-create-projects", "maybe"], Env()));

        Assert.Contains("--auto-create-projects", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AdminPassword_ComesOnlyFromTheEnvironment()
    {
        Assert.Equal("s3cret", ServeOptions.Resolve([], Env(("BERTH_ADMIN_PASSWORD", "s3cret")))["Berth:AdminPassword"]);
        Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--admin-password", "s3cret"], Env()));
    }

    /// <summary>Makes <see cref="_dir"/> a data folder (the admin commands refuse one without berth.db).</summary>
    private async Task InitializeDataFolderAsync()
    {
        await using var app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = _dir });
        app.Services.GetRequiredService<IUserStore>();
    }

    [Fact]
    public async Task AdminResetPassword_FromStdin_CreatesOrResetsTheAdministrator()
    {
        await InitializeDataFolderAsync();
        var output = new StringWriter();

        var code = await AdminCommands.RunAsync(["reset-password", "--password-stdin", "--data", _dir], new StringReader("first-password\n"), output);

        Assert.Equal(0, code);
        Assert.DoesNotContain("first-password", output.ToString(), StringComparison.Ordinal);
        Assert.True(await VerifyAsync("admin", "first-password"));

        code = await AdminCommands.RunAsync(["reset-password", "--data", _dir], new StringReader(string.Empty), output);

        Assert.Equal(0, code);
        var printed = output.ToString().Split('\n').Single(l => l.Contains("was reset to:", StringComparison.Ordinal)).Split(": ")[1].Trim();
        Assert.Equal(24, printed.Length);
        Assert.True(await VerifyAsync("admin", printed));
        Assert.False(await VerifyAsync("admin", "first-password"));
    }

    [Fact]
    public async Task AdminResetPassword_UnknownUserOtherThanAdmin_IsAnError()
    {
        await InitializeDataFolderAsync();
        var error = await Assert.ThrowsAsync<CommandLineException>(() =>
            AdminCommands.RunAsync(["reset-password", "nobody", "--data", _dir], new StringReader(string.Empty), new StringWriter()));

        Assert.Contains("nobody", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminClearIpAllow_RemovesServerRulesOnly()
    {
        await using (var app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = _dir }))
        {
            var rules = app.Services.GetRequiredService<IIpAllowRuleStore>();
            var projects = app.Services.GetRequiredService<IProjectStore>();
            await projects.CreateAsync(ProjectName.Parse("shop"), string.Empty, ProjectVisibility.Private, CancellationToken.None);
            await rules.AddAsync(null, "10.0.0.0/8", null, CancellationToken.None);
            await rules.AddAsync(ProjectName.Parse("shop"), "192.168.0.0/16", null, CancellationToken.None);
        }

        var output = new StringWriter();
        Assert.Equal(0, await AdminCommands.RunAsync(["clear-ip-allow", "--data", _dir], new StringReader(string.Empty), output));

        Assert.Contains("Removed 1", output.ToString(), StringComparison.Ordinal);
        await using var after = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = _dir });
        var store = after.Services.GetRequiredService<IIpAllowRuleStore>();
        Assert.Empty(await store.ListAsync(null, CancellationToken.None));
        Assert.Single(await store.ListAsync(ProjectName.Parse("shop"), CancellationToken.None));
    }

    [Fact]
    public async Task AdminRotateAndRetireTokenKeys_AddThenRemoveKeyFiles()
    {
        await InitializeDataFolderAsync();
        var keys = Path.Combine(_dir, "keys");
        var output = new StringWriter();
        Assert.Equal(0, await AdminCommands.RunAsync(["rotate-token-key", "--data", _dir], new StringReader(string.Empty), output));

        // The first run creates the ring's first key, then rotation adds a second.
        Assert.Equal(2, Directory.GetFiles(keys, "token-signing-*.pem").Length);
        Assert.Contains("New signing key", output.ToString(), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Directory.GetFiles(keys, "token-signing-*.pem").Max()!));
        }

        Assert.Equal(0, await AdminCommands.RunAsync(["retire-token-keys", "--data", _dir], new StringReader(string.Empty), output));

        var left = Assert.Single(Directory.GetFiles(keys, "token-signing-*.pem"));
        Assert.EndsWith("000002.pem", left, StringComparison.Ordinal);
    }

    private async Task<bool> VerifyAsync(string user, string password)
    {
        await using var app = Berth.Testing.MigratedServer.Build(new Dictionary<string, string?> { ["Berth:Data"] = _dir });
        var stored = await app.Services.GetRequiredService<IUserStore>().GetAsync(UserName.Parse(user), CancellationToken.None);
        var result = app.Services.GetRequiredService<PasswordHasher>().Verify(stored?.PasswordHash, password);
        return stored is { IsAdministrator: true, Disabled: false } && result is PasswordVerification.Succeeded or PasswordVerification.SucceededRehashNeeded;
    }
}
