using System.Diagnostics;
using System.Text;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>What an external command did: its exit code, its raw standard output and its standard error.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, byte[] StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public string StandardOutputText => Encoding.UTF8.GetString(StandardOutput);

    /// <summary>The command, its exit code and the tail of both outputs, for failure messages.</summary>
    public string Describe() =>
        $"""
        command: {CommandLine}
        exit code: {ExitCode} after {Elapsed.TotalSeconds:F1} s
        stderr (tail):
        {Tail(StandardError)}
        stdout (tail):
        {Tail(StandardOutputText)}
        """;

    internal static string Tail(string text, int max = 4000) => text.Length <= max ? text : "..." + text[^max..];
}

/// <summary>A command that exited non-zero or timed out.</summary>
public sealed class ProcessFailedException(string message) : Exception(message);

/// <summary>Runs external programs (skopeo, podman, umoci, debootstrap) with captured output, a timeout and no standard input.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Runs the program and returns whatever it did; only a timeout throws. <paramref name="standardInput"/> is written, then input is closed.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, string? standardInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    start.Environment.Remove(key);
                }
                else
                {
                    start.Environment[key] = value;
                }
            }
        }

        var commandLine = fileName + " " + string.Join(' ', start.ArgumentList.Select(Quote));
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new ProcessFailedException($"could not start {commandLine}");
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var stdoutTask = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrTask = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            var partial = new ProcessResult(commandLine, -1, stdout.ToArray(), await stderrTask, stopwatch.Elapsed);
            throw new ProcessFailedException($"timed out after {(timeout ?? DefaultTimeout).TotalSeconds:F0} s and was killed\n{partial.Describe()}");
        }

        await stdoutTask;
        var stderr = await stderrTask;
        return new ProcessResult(commandLine, process.ExitCode, stdout.ToArray(), stderr, stopwatch.Elapsed);
    }

    /// <summary>Runs the program and throws <see cref="ProcessFailedException"/> (with its output) unless it exits 0.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var result = await RunAsync(fileName, arguments, timeout, environment, workingDirectory);
        if (result.ExitCode != 0)
        {
            throw new ProcessFailedException($"{Path.GetFileName(fileName)} failed\n{result.Describe()}");
        }

        return result;
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@+%".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
