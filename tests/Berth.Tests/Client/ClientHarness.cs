using Berth.Client;

namespace Berth.Tests.Client;

/// <summary>The outcome of one command: exit code and what it wrote.</summary>
public sealed record RunResult(int Exit, string Out, string Error);

/// <summary>
/// Runs client commands in-process against a <see cref="FakeManagementApi"/>, with a temporary config folder,
/// a fixed clock (2026-11-29 06:30 UTC) and given standard input; <see cref="Prompts"/> stands for a terminal.
/// </summary>
public sealed class ClientHarness : IDisposable
{
    public const string Server = "https://berth.test";
    public const string AdminPassword = "s3cret-Admin-Pw!";

    private readonly string _root = Directory.CreateTempSubdirectory("berth-client-").FullName;

    public ClientHarness(bool loggedIn = true)
    {
        ConfigDirectory = Path.Combine(_root, "config", "berth");
        if (loggedIn)
        {
            new CredentialStore(ConfigDirectory).Save(new Login(Server, "admin", AdminPassword));
        }
    }

    public FakeManagementApi Api { get; } = new();

    public string ConfigDirectory { get; }

    public string CredentialsPath => Path.Combine(ConfigDirectory, CredentialStore.FileName);

    /// <summary>Answers to terminal prompts, in order; null means standard input is not a terminal.</summary>
    public Queue<string>? Prompts { get; set; }

    public List<(string Prompt, bool Echo)> Asked { get; } = [];

    public HttpMessageHandler? Handler { get; set; }

    public Task<RunResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public async Task<RunResult> RunWithInputAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = Handler ?? Api,
            In = new StringReader(stdin),
            Out = output,
            Error = error,
            ConfigDirectory = ConfigDirectory,
            Time = new FixedTime(new DateTimeOffset(2026, 11, 29, 6, 30, 0, TimeSpan.Zero)),
            Prompt = Prompts is null ? null : (prompt, echo) =>
            {
                Asked.Add((prompt, echo));
                return Prompts.TryDequeue(out var answer) ? answer : null;
            },
        };
        var exit = await ClientCli.RunAsync(args, context);
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        Api.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
