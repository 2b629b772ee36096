using System.Globalization;
using Berth.Core;
using Berth.Core.Storage;
using Berth.Metadata.Postgres;
using Berth.Storage.FileSystem;
using Microsoft.Extensions.Options;

namespace Berth.Migration;

/// <summary>The parsed command line of <c>berth admin migrate</c>.</summary>
internal sealed record MigrateRequest(string Data, string ToMetadata, string ToStorage, string? ToStoragePath, bool DryRun);

/// <summary>
/// <c>berth admin migrate --data DIR --to-metadata URL --to-storage URL [--dry-run]</c>: copies an embedded
/// installation (a data folder: <c>berth.db</c> and its file store) to PostgreSQL and another blob store. The metadata
/// goes over in one transaction (<see cref="PostgresTarget"/>), then every blob, verified on the target
/// (<see cref="BlobCopier"/>); a re-run after an interruption finds the metadata copied and the blobs already there,
/// and goes on. Errors are one line naming the option; exit codes 0 done, 1 failed, 2 bad command line.
/// </summary>
internal static class MigrateCommand
{
    /// <summary>Parses <paramref name="args"/> (everything after <c>migrate</c>).</summary>
    /// <exception cref="CommandLineException">A missing, unknown or repeated option.</exception>
    public static MigrateRequest Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var dryRun = false;
        string[] known = ["--data", "--to-metadata", "--to-storage", "--to-storage-path"];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--dry-run")
            {
                dryRun = true;
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            if (!known.Contains(name))
            {
                throw new CommandLineException($"migrate: unknown option '{Printable(name)}' (see berth admin --help)");
            }

            string value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new CommandLineException($"migrate: option {name} needs a value");
            }

            if (string.IsNullOrWhiteSpace(value))
            {
                throw new CommandLineException($"migrate: option {name} needs a value");
            }

            if (!values.TryAdd(name, value))
            {
                throw new CommandLineException($"migrate: option {name} is given twice");
            }
        }

        foreach (var required in known[..3])
        {
            if (!values.ContainsKey(required))
            {
                throw new CommandLineException($"migrate: {required} is required: berth admin migrate --data DIR --to-metadata URL --to-storage URL [--dry-run]");
            }
        }

        return new MigrateRequest(values["--data"], values["--to-metadata"], values["--to-storage"], values.GetValueOrDefault("--to-storage-path"), dryRun);
    }

    /// <summary>Runs the command: 0 done, 1 failed (one line on <paramref name="error"/>), 2 bad command line.</summary>
    /// <param name="storageSettings">
    /// Configuration of the target store's provider besides <c>--to-storage</c> (its section, e.g.
    /// <c>Berth:Storage:S3:AccessKeyId</c>); null for none: credentials then come from the environment, as for the server.
    /// </param>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, bool errorIsTerminal,
        CancellationToken cancellationToken, Action<int>? afterBlob = null, IReadOnlyDictionary<string, string?>? storageSettings = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var copiedMetadata = false;
        try
        {
            var request = Parse(args);
            // Every command-line mistake before anything is opened, written or connected to.
            var target = new PostgresTarget(TargetConnectionString(request.ToMetadata));
            var storagePath = TargetStoragePath(request, DataFolder.FullPath(request.Data));
            ResolveStorage(request.ToStorage, storagePath);
            using var source = EmbeddedSource.Open(request.Data, readOnly: request.DryRun);
            if (request.DryRun)
            {
                return await DryRunAsync(source, target, request, storagePath, storageSettings, output, cancellationToken);
            }

            // Refuse before anything is written to the target: its schema is migrated only for an empty or our own database.
            var state = await target.InspectAsync(source.DataPath, cancellationToken);
            if (state.Refusal is { } refusal)
            {
                throw new StartupException(refusal);
            }

            await using var storage = BuildStorage(request.ToStorage, storagePath, storageSettings, probe: true);
            target.MigrateSchema();
            var rows = new Dictionary<string, long>(StringComparer.Ordinal);
            var clock = TimeProvider.System;
            var copiedAt = await target.CopyAsync(source, clock, rows, cancellationToken);
            copiedMetadata = true;
            if (copiedAt is { } at)
            {
                await output.WriteLineAsync($"Metadata: already copied from {source.DataPath} at {DateTimeOffset.FromUnixTimeMilliseconds(at):u}; going on with the blobs.");
            }
            else
            {
                await output.WriteLineAsync($"Metadata: copied to {target.Where} in one transaction: {Describe(rows)}.");
            }

            var blobs = source.Blobs();
            var progress = new MigrationProgress(error, errorIsTerminal, blobs.Count, blobs.Sum(b => b.Size));
            var sourceStore = new FileSystemBlobStore(Options.Create(new FileSystemStorageOptions { RootPath = source.DataPath }));
            var copier = new BlobCopier(sourceStore, storage.Blobs, storage.Uploads) { AfterBlob = afterBlob };
            BlobCopyReport report;
            try
            {
                report = await copier.CopyAsync(blobs, progress, cancellationToken);
            }
            finally
            {
                progress.Finish();
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"Blobs: {report.Copied} copied ({MigrationProgress.Size(report.CopiedBytes)}), {report.Present} already on the target and verified ({MigrationProgress.Size(report.PresentBytes)}), {report.Missing.Count} missing in the source, {report.Failed.Count} failed."));
            if (report.Missing.Count > 0 || report.Failed.Count > 0)
            {
                if (report.Missing.Count > 0)
                {
                    await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"berth: --data {source.DataPath}: {report.Missing.Count} blob(s) listed in berth.db are missing from its blobs folder: {string.Join(", ", report.Missing.Take(5))}{(report.Missing.Count > 5 ? ", …" : string.Empty)}"));
                }

                foreach (var failure in report.Failed.Take(10))
                {
                    await error.WriteLineAsync($"berth: {failure}");
                }

                if (report.Failed.Count > 10)
                {
                    await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"berth: … and {report.Failed.Count - 10} more blob(s) failed"));
                }

                await error.WriteLineAsync("berth: the migration is not complete: every other blob was copied; fix the source and run the same command again to go on");
                return 1;
            }

            await target.MarkBlobsDoneAsync(source.DataPath, clock, cancellationToken);
            await output.WriteLineAsync($"Done: start the nodes with --metadata and --storage pointing at the target (the data folder {source.DataPath} is left as it was).");
            return 0;
        }
        catch (CommandLineException ex)
        {
            await error.WriteLineAsync($"berth: {OneLine(ex.Message)}");
            return 2;
        }
        catch (StartupException ex)
        {
            await error.WriteLineAsync($"berth: {OneLine(ex.Message)}");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync(copiedMetadata
                ? "berth: interrupted while copying blobs; run the same command again to go on (the metadata is copied, blobs already copied are verified and kept)"
                : "berth: interrupted before the metadata was copied (nothing of it was written); run the same command again");
            return 1;
        }
    }

    /// <summary>Reads only: what a run would copy, and what the target already holds.</summary>
    private static async Task<int> DryRunAsync(EmbeddedSource source, PostgresTarget target, MigrateRequest request, string? storagePath,
        IReadOnlyDictionary<string, string?>? storageSettings, TextWriter output, CancellationToken cancellationToken)
    {
        var blobs = source.Blobs();
        var bytes = blobs.Sum(b => b.Size);
        await output.WriteLineAsync($"Dry run: nothing is written. Source {source.DataPath} (schema version {source.SchemaVersion}{(source.SchemaVersion < EmbeddedSource.CurrentSchemaVersion ? string.Create(CultureInfo.InvariantCulture, $"; a run migrates it to {EmbeddedSource.CurrentSchemaVersion} first") : string.Empty)}):");
        foreach (var (label, table) in new[]
        {
            ("projects", "projects"), ("users", "users"), ("robots", "robot_accounts"), ("tokens", "access_tokens"), ("members", "project_members"),
            ("IP rules", "ip_allow_rules"), ("audit entries", "audit_log"), ("repositories", "repositories"), ("manifests", "manifests"), ("tags", "tags"),
        })
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {label,-14}{source.Count(table)}"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {"blobs",-14}{blobs.Count} ({MigrationProgress.Size(bytes)}, {bytes} bytes)"));
        var state = await target.InspectAsync(source.DataPath, cancellationToken);
        await output.WriteLineAsync(state switch
        {
            { Refusal: not null } => $"Target metadata {target.Where}: holds other Berth data; a run would refuse it.",
            { CopiedAt: { } at } => $"Target metadata {target.Where}: this source's metadata was copied at {DateTimeOffset.FromUnixTimeMilliseconds(at):u}; a run goes on with the blobs.",
            { HasSchema: true } => $"Target metadata {target.Where}: Berth's schema, empty; a run copies every table.",
            _ => $"Target metadata {target.Where}: no Berth schema yet; a run creates it and copies every table.",
        });

        var present = 0;
        long presentBytes = 0;
        if (!(storagePath is not null && !Directory.Exists(storagePath)))
        {
            // No probe (the S3 and Azure probes write a tiny object, and a dry run only reads): one listing of the store
            // instead, which also fails on a missing bucket or refused credentials, where a HEAD per blob answers "absent".
            await using var storage = BuildStorage(request.ToStorage, storagePath, storageSettings, probe: false);
            var wanted = blobs.Where(b => b.Digest is not null).ToDictionary(b => b.Digest!.Value, b => b.Size);
            try
            {
                await foreach (var stored in storage.Blobs.ListAsync(cancellationToken))
                {
                    if (wanted.TryGetValue(stored.Digest, out var size) && size == stored.Size)
                    {
                        present++;
                        presentBytes += size;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A missing bucket or container, refused credentials, an unreachable endpoint: whatever the provider
                // throws. Its probe says which in one line; it checks what it reads (the bucket) before it writes.
                storage.Probe();
                throw new StartupException($"--to-storage: cannot list the target store: {ex.Message}", ex);
            }
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Target storage: {present} of {blobs.Count} blobs already there ({MigrationProgress.Size(presentBytes)}; a run verifies them); to copy: {blobs.Count - present} ({MigrationProgress.Size(bytes - presentBytes)}, {bytes - presentBytes} bytes)."));
        if (state.Refusal is { } refusal)
        {
            await output.FlushAsync(cancellationToken);
            throw new StartupException(refusal);
        }

        return 0;
    }

    /// <summary>The Npgsql connection string of <c>--to-metadata</c> (a <c>postgres://</c> URI or a connection string; password from PGPASSWORD when left out).</summary>
    private static string TargetConnectionString(string value)
    {
        if (!ProviderCatalog.TryResolve(ProviderKind.Metadata, value, out var choice, out var problem))
        {
            throw new CommandLineException(ToOption(problem, "--metadata", "--to-metadata"));
        }

        if (choice.Provider.Type != "postgres")
        {
            throw new CommandLineException($"--to-metadata: the target must be PostgreSQL (postgres://USER:PASS@HOST:PORT/DB or an Npgsql connection string), not {choice.Provider.Type}");
        }

        string connectionString;
        try
        {
            connectionString = choice.ConnectionString ?? PostgresConnectionStrings.FromUri(choice.Location!);
            return PostgresConnectionStrings.Complete(connectionString, new PostgresMetadataOptions { MaxPoolSize = 4, CommandTimeout = TimeSpan.FromMinutes(15) },
                Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException ex)
        {
            throw new CommandLineException($"--to-metadata: {ex.Message}");
        }
    }

    /// <summary>The folder of a filesystem target (<c>--to-storage filesystem --to-storage-path DIR</c>, or a path as <c>--to-storage</c>); null for the others.</summary>
    private static string? TargetStoragePath(MigrateRequest request, string sourcePath)
    {
        var isPath = request.ToStorage.StartsWith('/') || request.ToStorage.StartsWith('.');
        var isFileSystem = isPath || string.Equals(request.ToStorage, "filesystem", StringComparison.OrdinalIgnoreCase);
        if (!isFileSystem)
        {
            if (request.ToStoragePath is not null)
            {
                throw new CommandLineException("--to-storage-path: only for --to-storage filesystem");
            }

            return null;
        }

        var given = isPath ? request.ToStorage : request.ToStoragePath ?? throw new CommandLineException("--to-storage filesystem needs --to-storage-path DIR (the target folder)");
        if (isPath && request.ToStoragePath is not null)
        {
            throw new CommandLineException("--to-storage-path: --to-storage already gives the path");
        }

        var path = DataFolder.FullPath(given);
        if (string.Equals(path, sourcePath, StringComparison.Ordinal))
        {
            throw new CommandLineException($"--to-storage {path}: is the source data folder; give another folder");
        }

        return path;
    }

    /// <summary>The storage provider <c>--to-storage</c> names.</summary>
    /// <exception cref="CommandLineException">It names none.</exception>
    private static ProviderCatalog.Choice ResolveStorage(string value, string? fileSystemPath) =>
        ProviderCatalog.TryResolve(ProviderKind.Storage, fileSystemPath is null ? value : "filesystem", out var choice, out var problem)
            ? choice
            : throw new CommandLineException(ToOption(problem, "--storage", "--to-storage"));

    /// <summary>The target store through the provider catalog (the same registration the server uses), checked by its probe.</summary>
    private static TargetStorage BuildStorage(string value, string? fileSystemPath, IReadOnlyDictionary<string, string?>? extra, bool probe)
    {
        var choice = ResolveStorage(value, fileSystemPath);
        var settings = new Dictionary<string, string?>(extra ?? new Dictionary<string, string?>(), StringComparer.OrdinalIgnoreCase)
        {
            [ProviderCatalog.StorageKey] = fileSystemPath is null ? value : "filesystem",
        };
        if (fileSystemPath is not null)
        {
            settings[FileSystemStorageOptions.Section + ":" + nameof(FileSystemStorageOptions.RootPath)] = fileSystemPath;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        try
        {
            choice.Register(services, configuration);
        }
        catch (StartupException ex)
        {
            throw new StartupException(ToOption(ex.Message, "--storage", "--to-storage"), ex);
        }

        var provider = services.BuildServiceProvider();
        try
        {
            ServerStartup.ValidateProviderOptions(provider);
            var blobs = provider.GetRequiredService<IBlobStore>();
            var uploads = provider.GetRequiredService<IUploadStore>();
            if (probe)
            {
                ServerStartup.ProbeProviders(provider);
            }

            return new TargetStorage(provider, blobs, uploads);
        }
        catch (StartupException ex)
        {
            provider.Dispose();
            throw new StartupException(ToOption(ex.Message, "--storage", "--to-storage"), ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            provider.Dispose();
            throw new StartupException($"--to-storage: {ex.Message}", ex);
        }
    }

    private static string Describe(Dictionary<string, long> rows) =>
        string.Join(", ", rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Value} {r.Key}")));

    private static string ToOption(string message, string from, string to) =>
        message.StartsWith(from, StringComparison.Ordinal) ? to + message[from.Length..] : $"{to}: {message}";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));

    /// <summary>The target store and the services behind it.</summary>
    private sealed class TargetStorage(ServiceProvider provider, IBlobStore blobs, IUploadStore uploads) : IAsyncDisposable
    {
        public IBlobStore Blobs { get; } = blobs;

        public IUploadStore Uploads { get; } = uploads;

        /// <summary>The provider's start-up check (<see cref="ServerStartup.ProbeProviders"/>), its failure as one line naming <c>--to-storage</c>.</summary>
        /// <exception cref="StartupException">The store does not answer or is not usable.</exception>
        public void Probe()
        {
            try
            {
                ServerStartup.ProbeProviders(provider);
            }
            catch (StartupException ex)
            {
                throw new StartupException(ToOption(ex.Message, "--storage", "--to-storage"), ex);
            }
        }

        public ValueTask DisposeAsync() => provider.DisposeAsync();
    }
}
