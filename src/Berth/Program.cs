using Berth;

// berth serve chooses where socket completions run before it makes its first socket (SocketCompletions).
return await Cli.RunAsync(args);

/// <summary>Entry point (the class is named so tests can use <c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
