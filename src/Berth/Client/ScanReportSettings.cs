using System.Globalization;
using System.Reflection;
using System.Text;
using Berth.Scanning.Findings;
using Berth.Scanning.Ignore;
using Berth.Scanning.Layers;
using Berth.Scanning.Reports;

namespace Berth.Client;

/// <summary>
/// The report options <c>berth scan</c> shares between a local archive (<c>--input</c>) and an image in the registry
/// (<c>REF</c>): Trivy's <c>--format</c>, <c>--severity</c>, <c>--ignore-unfixed</c>, <c>--ignorefile</c>,
/// <c>--exit-code</c> and <c>--output FILE</c>, plus <c>--platform</c>; read once, applied the same way to both.
/// </summary>
internal sealed record ScanReportSettings(ReportFormat Format, IReadOnlySet<Severity>? Severities, bool IgnoreUnfixed, IgnoreList Ignore, int ExitCode,
    string? OutputFile, ImagePlatform? Platform)
{
    /// <summary>Reads the options of <paramref name="run"/>.</summary>
    /// <exception cref="CommandLineException">A value that is not one of the accepted ones.</exception>
    /// <exception cref="ClientException">An ignore file that cannot be read.</exception>
    public static ScanReportSettings Read(CommandRun run)
    {
        var formatText = run.Option("--format") ?? "table";
        if (!ReportFormats.TryParse(formatText, out var format))
        {
            throw new CommandLineException($"--format is one of {string.Join(", ", ReportFormats.Names)}, not '{formatText}'");
        }

        var severities = run.Option("--severity") is { } severityText ? SeverityList.Parse(severityText) : new SeverityListParse(null, null);
        if (!severities.Success)
        {
            throw new CommandLineException(severities.Error!);
        }

        var exitCode = 0;
        if (run.Option("--exit-code") is { } exitText && (!int.TryParse(exitText, NumberStyles.None, CultureInfo.InvariantCulture, out exitCode) || exitCode > 255))
        {
            throw new CommandLineException($"--exit-code is a number from 0 to 255, not '{exitText}'");
        }

        ImagePlatform? platform = null;
        if (run.Option("--platform") is { } platformText)
        {
            try
            {
                platform = ImagePlatform.Parse(platformText);
            }
            catch (ScanException ex)
            {
                throw new CommandLineException("--platform: " + ex.Message);
            }
        }

        return new ScanReportSettings(format, severities.Severities, run.Switch("--ignore-unfixed"), LoadIgnore(run.Option("--ignorefile")), exitCode,
            run.Option("--output"), platform);
    }

    /// <summary>The filter of <c>--severity</c>, <c>--ignore-unfixed</c> and the ignore file.</summary>
    public FindingFilter Filter => new(Severities, IgnoreUnfixed, Ignore);

    /// <summary>What the writers need besides the report (a new serial number each time).</summary>
    public ReportWriteOptions WriteOptions => new(ToolVersion(), Guid.NewGuid(), Severities);

    /// <summary>Writes what <paramref name="write"/> makes to <c>--output FILE</c>, or to standard output without it.</summary>
    public async Task WriteAsync(CommandRun run, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(write);
        if (OutputFile is { } file)
        {
            try
            {
                await using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None);
                write(stream);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ClientException($"--output {file}: {ex.Message}");
            }
        }
        else
        {
            using var buffer = new MemoryStream();
            write(buffer);
            await run.Out.WriteAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }

    /// <summary>Berth's version, as reports and SBOMs name the tool.</summary>
    public static string ToolVersion() =>
        typeof(ScanReportSettings).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static IgnoreList LoadIgnore(string? path)
    {
        var chosen = path ?? (File.Exists(".trivyignore") ? ".trivyignore" : null);
        if (chosen is null)
        {
            return IgnoreList.Empty;
        }

        try
        {
            return IgnoreList.Load(chosen);
        }
        catch (Exception ex) when (ex is IgnoreFileException or IOException or UnauthorizedAccessException)
        {
            throw new ClientException($"--ignorefile {chosen}: {ex.Message}");
        }
    }
}
