using System.Reflection;
using Berth.Client;
using Berth.Core;

namespace Berth;

/// <summary>The <c>berth</c> command line.</summary>
internal static class Cli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
        {
            Console.Out.Write(GeneralHelp());
            Console.Out.WriteLine();
            Console.Out.Write(ServeHelp());
            return 0;
        }

        try
        {
            switch (command)
            {
                case "serve":
                    if (rest.Any(a => a is "--help" or "-h"))
                    {
                        Console.Out.Write(ServeHelp());
                        return 0;
                    }

                    var settings = ServeOptions.Resolve(rest, Environment.GetEnvironmentVariable);
                    // Before anything makes a socket: the runtime reads the variable once, then.
                    SocketCompletions.Apply(settings, Environment.GetEnvironmentVariable, Environment.SetEnvironmentVariable);
                    ThreadPoolSpinning.Apply(settings, Environment.GetEnvironmentVariable, AppContext.SetData);
                    return await ServerStartup.ServeAsync(settings, Console.Error);
                case "admin":
                    return await AdminCommands.RunAsync(rest, Console.In, Console.Out);
                case var client when ClientCli.Handles(client):
                    return await ClientCli.RunConsoleAsync(args);
                case "version" or "--version":
                    Console.Out.WriteLine(Version());
                    return 0;
                default:
                    Console.Error.WriteLine($"berth: unknown command '{command}'. Run 'berth --help'.");
                    return 2;
            }
        }
        catch (CommandLineException ex)
        {
            Console.Error.WriteLine($"berth: {ex.Message}");
            return 2;
        }
        catch (StartupException ex)
        {
            // The configuration or the environment (files, folders, ports) is wrong: one line, no stack trace.
            Console.Error.WriteLine($"berth: {ex.Message}");
            return 1;
        }
    }

    private static string Version() =>
        "berth " + (typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev");

    internal static string GeneralHelp() =>
        $"""
        {Version()}: a private container registry (OCI Distribution Spec v1.1).

        Usage:
          berth [serve] [OPTIONS]   run the registry (the default command)
          berth admin COMMAND       on the data folder: reset-password, clear-ip-allow, rotate-token-key, retire-token-keys, migrate
          berth version             print the version
          berth --help              this text, with every server option below

        Managing a server through its /api/v1 (run 'berth COMMAND --help' for the options of each):
        {ClientCli.GeneralHelp().TrimEnd()}

        Quick start (the first start prints the generated password of 'admin', or set BERTH_ADMIN_PASSWORD):
          BERTH_ADMIN_PASSWORD=... berth serve --listen http://0.0.0.0:5000 --data ./data
          berth login http://127.0.0.1:5000 -u admin --password-stdin
          berth project create shop
          skopeo login --tls-verify=false -u admin 127.0.0.1:5000
          skopeo copy --dest-tls-verify=false oci:./image:latest docker://127.0.0.1:5000/shop/app:v1

        """;

    internal static string ServeHelp()
    {
        var lines = new System.Text.StringBuilder();
        lines.AppendLine("Usage: berth serve [OPTIONS]");
        lines.AppendLine();
        lines.AppendLine("Runs the registry on the embedded default: blobs as files and metadata in SQLite, in one data folder.");
        lines.AppendLine("Every option can also be set by an environment variable or a key of a JSON config file");
        lines.AppendLine("({\"listen\": \"http://0.0.0.0:5000\", \"data\": \"/var/lib/berth\"}); flags win over the environment, which wins over the file.");
        lines.AppendLine();
        lines.AppendLine("Options:");
        foreach (var option in ServeOptions.All)
        {
            lines.AppendLine($"  {option.Flag} {option.Placeholder}");
            lines.AppendLine($"      {option.Help}");
            lines.AppendLine($"      environment: {option.Environment}; config file key: \"{option.Flag[2..]}\"");
        }

        lines.AppendLine($"  {ServeOptions.ConfigFlag} FILE");
        lines.AppendLine($"      JSON config file; environment: {ServeOptions.ConfigEnvironment}");
        lines.AppendLine("  -h, --help");
        lines.AppendLine("      this text");
        return lines.ToString();
    }
}
