using System.Diagnostics;

namespace Berth.Signing.Tests.Support;

/// <summary>Runs an outside tool (openssl, node) and fails the test with its error output when it fails.</summary>
public static class Tool
{
    public static byte[] Run(string fileName, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        copy.Wait();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"{fileName} {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result}");
        }

        return output.ToArray();
    }

    public static byte[] OpenSsl(string workingDirectory, params string[] arguments) => Run("openssl", workingDirectory, null, arguments);
}
