using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Core.Scanning;

using Berth.Scanning.Advisories;

namespace Berth.Client;

/// <summary><c>berth vulndb import|status</c>: the server's offline advisory database.</summary>
internal static class VulnDbCommands
{
    /// <summary>Records per call (the server takes up to 1000).</summary>
    public const int BatchRecords = 500;

    /// <summary>Bytes per call at most, under the server's 16 MiB body limit.</summary>
    public const int BatchBytes = 12 * 1024 * 1024;

    /// <summary>The largest file read as a record (a record is at most 1 MiB as compact JSON; YAML and indented JSON are larger).</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    private static readonly JsonObject Empty = [];

    private static readonly Column[] SourceColumns =
    [
        new("SOURCE", s => Output.Text(s, "source")),
        new("RECORDS", s => Output.Text(s, "records")),
        new("LAST IMPORT", s => Output.Time((s["lastImport"] ?? Empty), "startedAt")),
        new("STATUS", s => Output.Text((s["lastImport"] ?? Empty), "status")),
        new("ADDED", s => Output.Text((s["lastImport"] ?? Empty), "added")),
        new("UPDATED", s => Output.Text((s["lastImport"] ?? Empty), "updated")),
        new("UNCHANGED", s => Output.Text((s["lastImport"] ?? Empty), "unchanged")),
        new("WITHDRAWN", s => Output.Text((s["lastImport"] ?? Empty), "withdrawn")),
    ];

    private static readonly Column[] EcosystemColumns =
    [
        new("ECOSYSTEM", e => Output.Text(e, "ecosystem")),
        new("RECORDS", e => Output.Text(e, "records")),
    ];

    private static readonly Column[] ImportColumns =
    [
        new("IMPORT", i => Output.Text(i, "id")),
        new("SOURCE", i => Output.Text(i, "source")),
        new("ADDED", i => Output.Text(i, "added")),
        new("UPDATED", i => Output.Text(i, "updated")),
        new("UNCHANGED", i => Output.Text(i, "unchanged")),
        new("WITHDRAWN", i => Output.Text(i, "withdrawn")),
        new("VERSION", i => Output.Text(i, "version")),
    ];

    public static readonly IReadOnlyList<CommandSpec> All =
    [
        new()
        {
            Path = "vulndb import",
            Arguments = ["PATH"],
            Summary = "Import OSV advisory records into the server's vulnerability database (server administrators): "
                + "a folder tree or a .zip of .json, .yaml and .yml records, as the OSV, PyPA and GitHub databases publish them.",
            Details = """
                Records are sent in batches of 500; a record older than the stored one of the same id is left alone, withdrawn
                records are kept but never matched. Other files are skipped and counted; a file that is not a valid record is
                named on standard error and the import goes on (the exit code is then 1). Progress goes to standard error.
                One import runs at a time; one that stops midway leaves the stored records usable and shows as running in
                'berth vulndb status' until another import starts 15 minutes later.
                """,
            Options = [new("--source", null, "LABEL", "the source label shown by 'vulndb status' (default: the folder or zip name)")],
            Run = ImportAsync,
        },
        new()
        {
            Path = "vulndb status",
            Summary = "The server's vulnerability database: its version, records per source and ecosystem, and the import running (signed-in users).",
            Run = async run =>
            {
                using var client = run.Connect();
                var status = await client.GetAsync("/api/v1/vulndb");
                if (run.Json)
                {
                    Output.Json(run.Out, status);
                    return 0;
                }

                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Version {Output.Text(status!, "version")} ({(status?["updatedAt"] is null ? "nothing imported yet" : "updated " + Output.Time(status!, "updatedAt"))}), "
                    + $"{Output.Text(status!, "records")} records ({Output.Text(status!, "withdrawnRecords")} withdrawn)"));
                if (status?["running"] is JsonObject running)
                {
                    run.Out.WriteLine($"Import {Output.Text(running, "id")} of '{Output.Text(running, "source")}' is running (started {Output.Time(running, "startedAt")} by {Output.Text(running, "actor")}, "
                        + $"{Output.Text(running, "added")} added so far; last batch {Output.Time(running, "updatedAt")})");
                }

                if (status?["sources"] is JsonArray { Count: > 0 } sources)
                {
                    run.Out.WriteLine();
                    Output.Table(run.Out, SourceColumns, sources);
                }

                if (status?["ecosystems"] is JsonArray { Count: > 0 } ecosystems)
                {
                    run.Out.WriteLine();
                    Output.Table(run.Out, EcosystemColumns, ecosystems);
                }

                return 0;
            },
        },
    ];

    private static async Task<int> ImportAsync(CommandRun run)
    {
        var path = run.Argument(0);
        if (!Directory.Exists(path))
        {
            if (!File.Exists(path))
            {
                throw new CommandLineException($"{path}: no such folder or zip file");
            }

            try
            {
                using var check = ZipFile.OpenRead(path);
            }
            catch (InvalidDataException ex)
            {
                throw new CommandLineException($"{path} is not a folder or a zip file: {ex.Message}");
            }
        }

        var walk = new OsvFiles.Walk();
        var files = OsvFiles.Read(path, walk);
        {
            var source = run.Option("--source") ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
            using var client = run.Connect();
            var started = await client.SendAsync(HttpMethod.Post, "/api/v1/vulndb/imports", new JsonObject { ["source"] = source })
                ?? throw new ClientException("the server answered no import");
            var id = Output.Text(started, "id");
            var progress = new ImportProgress(run.Context.Error, run.Context.ErrorIsTerminal);
            var batch = new List<string>(BatchRecords);
            var batchBytes = 0;
            var failed = 0;

            async Task SendAsync()
            {
                if (batch.Count == 0)
                {
                    return;
                }

                var body = new StringBuilder(batchBytes + batch.Count + 2).Append('[').AppendJoin(',', batch).Append(']').ToString();
                await client.SendContentAsync(HttpMethod.Post, $"/api/v1/vulndb/imports/{ManagementClient.Segment(id)}/records",
                    new StringContent(body, Encoding.UTF8, "application/json"));
                progress.Sent(batch.Count);
                batch.Clear();
                batchBytes = 0;
            }

            foreach (var file in files)
            {
                string json;
                try
                {
                    json = file.Error is { } error ? throw new FormatException(error) : AdvisoryRecordReader.Read(file.Json.ToArray()).Json;
                }
                catch (Exception ex) when (ex is FormatException or InvalidDataException)
                {
                    failed++;
                    progress.Interrupt();
                    run.Context.Error.WriteLine($"berth vulndb import: {file.Path}: {ex.Message}");
                    continue;
                }

                progress.Read(file.Json.Length);
                var size = Encoding.UTF8.GetByteCount(json);
                if (batch.Count > 0 && batchBytes + size > BatchBytes)
                {
                    await SendAsync();
                }

                batch.Add(json);
                batchBytes += size + 1;
                if (batch.Count >= BatchRecords)
                {
                    await SendAsync();
                }
            }

            await SendAsync();
            var finished = await client.SendAsync(HttpMethod.Post, $"/api/v1/vulndb/imports/{ManagementClient.Segment(id)}/finish", (JsonObject?)null)
                ?? throw new ClientException("the server answered no import");
            progress.Finish();
            if (run.Json)
            {
                var report = finished.DeepClone().AsObject();
                report["filesSkipped"] = walk.Skipped;
                report["filesFailed"] = failed;
                Output.Json(run.Out, report);
            }
            else
            {
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Imported '{source}': {Output.Text(finished, "added")} added, {Output.Text(finished, "updated")} updated, {Output.Text(finished, "unchanged")} unchanged, "
                    + $"{Output.Text(finished, "withdrawn")} withdrawn; {walk.Skipped} other files skipped, {failed} invalid. Database version {Output.Text(finished, "version")}."));
            }

            return failed > 0 ? 1 : 0;
        }
    }

    /// <summary>
    /// The import's progress on standard error, as <c>berth admin migrate</c> shows its own: on a terminal one line rewritten
    /// in place (at most 5 times a second), otherwise a line every 10 seconds.
    /// </summary>
    private sealed class ImportProgress(TextWriter error, bool terminal)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _lastShown = TimeSpan.MinValue;
        private long _read;
        private long _bytes;
        private long _sent;
        private bool _lineOpen;

        public void Read(long bytes)
        {
            _read++;
            _bytes += bytes;
            Show(false);
        }

        public void Sent(int records)
        {
            _sent += records;
            Show(false);
        }

        /// <summary>Ends the rewritten line before another message goes to standard error.</summary>
        public void Interrupt()
        {
            if (_lineOpen)
            {
                error.WriteLine();
                _lineOpen = false;
            }
        }

        public void Finish()
        {
            Show(true);
            Interrupt();
        }

        private void Show(bool last)
        {
            var now = _clock.Elapsed;
            var due = last || _lastShown == TimeSpan.MinValue || now - _lastShown >= (terminal ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(10));
            if (!due)
            {
                return;
            }

            _lastShown = now;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"records {_read} read, {_sent} sent, {Migration.MigrationProgress.Size(_bytes)} read, {Migration.MigrationProgress.Size((long)(now.TotalSeconds > 0 ? _bytes / now.TotalSeconds : 0))}/s");
            if (terminal)
            {
                error.Write("\r\u001b[K" + line);
                _lineOpen = true;
            }
            else
            {
                error.WriteLine("berth vulndb import: " + line);
            }

            error.Flush();
        }
    }
}
