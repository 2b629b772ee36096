using Berth.Client;
using Berth.Testing;

namespace Berth.Tests.Client;

/// <summary>
/// Runs client commands in-process against a real server (<see cref="BerthApplication"/> over its test handler), with
/// a config folder of the test's own; <c>login</c> reads the administrator's password from standard input.
/// </summary>
internal static class InProcessCli
{
    public static async Task<RunResult> RunAsync(BerthApplication app, string configDirectory, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new ClientContext
        {
            Handler = app.Server.CreateHandler(),
            In = new StringReader(args.Length > 0 && args[0] == "login" ? BerthApplication.AdminPassword + "\n" : string.Empty),
            Out = output,
            Error = error,
            ConfigDirectory = configDirectory,
        };
        var exit = await ClientCli.RunAsync(args, context);
        return new RunResult(exit, output.ToString(), error.ToString());
    }

    public static void Ok(RunResult result) => Assert.True(result.Exit == 0, $"exit {result.Exit}: {result.Error}{result.Out}");
}
