namespace Berth.Client;

/// <summary>
/// Everything a client command touches outside itself: the HTTP handler, the three standard streams, the
/// credentials folder, the clock and the terminal. <see cref="Cli"/> builds the real one; tests (and integration
/// tests against an in-process server, with <c>WebApplicationFactory.Server.CreateHandler()</c>) build their own.
/// </summary>
internal sealed class ClientContext
{
    /// <summary>Sends every request; the context never disposes it.</summary>
    public required HttpMessageHandler Handler { get; init; }

    /// <summary>
    /// Makes the handler for a server whose certificate is checked as a login's <see cref="ServerTrust"/> says
    /// (<c>--ca-cert</c>, <c>--insecure</c>); the client disposes it. Null: <see cref="Handler"/> serves those too
    /// (tests with a fake server).
    /// </summary>
    public Func<ServerTrust, HttpMessageHandler>? TrustingHandler { get; init; }

    /// <summary>A client for <paramref name="url"/> with <paramref name="login"/>, over the handler its trust needs.</summary>
    public ManagementClient Client(string url, Login? login) =>
        ServerTrust.Of(login) is { } trust && TrustingHandler is { } make
            ? new ManagementClient(make(trust), url, login, ownsHandler: true)
            : new ManagementClient(Handler, url, login);

    /// <summary>A <c>/v2</c> client for <paramref name="url"/> with <paramref name="login"/>, over the handler its trust needs.</summary>
    public RegistryClient Registry(string url, Login? login) =>
        ServerTrust.Of(login) is { } trust && TrustingHandler is { } make
            ? new RegistryClient(make(trust), url, login, ownsHandler: true)
            : new RegistryClient(Handler, url, login);

    public required TextReader In { get; init; }

    /// <summary>Reads an environment variable (<c>BERTH_KEY_PASSWORD</c>, <c>COSIGN_PASSWORD</c>); null when it is not set.</summary>
    public Func<string, string?> EnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Whether <see cref="Error"/> is a terminal: progress lines are then rewritten in place.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>The folder of <c>credentials.json</c>; created (mode 0700) on the first login.</summary>
    public required string ConfigDirectory { get; init; }

    /// <summary>Turns relative times (<c>--since 24h</c>) into instants.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Asks the user for a line on the terminal: <c>(prompt, echo)</c> → the answer, or null at end of input.
    /// Null when standard input is not a terminal, so commands never prompt in scripts.
    /// </summary>
    public Func<string, bool, string?>? Prompt { get; init; }

    /// <summary>The context of a real process: the console, the environment's config folder and a fresh handler.</summary>
    public static ClientContext ForConsole(HttpMessageHandler handler) => new()
    {
        Handler = handler,
        TrustingHandler = ClientTls.CreateHandler,
        In = Console.In,
        Out = Console.Out,
        Error = Console.Error,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        ConfigDirectory = DefaultConfigDirectory(Environment.GetEnvironmentVariable),
        Prompt = Console.IsInputRedirected ? null : ConsolePrompt,
    };

    /// <summary><c>$BERTH_CONFIG_DIR</c>, else <c>$XDG_CONFIG_HOME/berth</c>, else <c>~/.config/berth</c>.</summary>
    public static string DefaultConfigDirectory(Func<string, string?> getEnvironment)
    {
        var overridden = getEnvironment("BERTH_CONFIG_DIR");
        if (!string.IsNullOrEmpty(overridden))
        {
            return overridden;
        }

        var xdg = getEnvironment("XDG_CONFIG_HOME");
        if (!string.IsNullOrEmpty(xdg))
        {
            return Path.Combine(xdg, "berth");
        }

        var home = getEnvironment("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return Path.Combine(home, ".config", "berth");
    }

    /// <summary>Prompts on stderr; without echo reads key by key so the secret never reaches the screen.</summary>
    private static string? ConsolePrompt(string prompt, bool echo)
    {
        Console.Error.Write(prompt);
        if (echo)
        {
            return Console.In.ReadLine();
        }

        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (key.KeyChar == '\u0004' && text.Length == 0)
            {
                Console.Error.WriteLine();
                return null;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}
