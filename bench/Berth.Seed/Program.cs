using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata.Sqlite;
using Berth.Oci;
using Microsoft.Extensions.Options;

namespace Berth.Seed;

/// <summary>
/// berth-seed: fills a fresh data folder (the embedded default: berth.db and blobs/) with a large registry, for the
/// lifecycle benchmark (bench/lifecycle.sh) — far faster than pushing it over HTTP. Metadata goes through the same
/// SQLite stores the server uses (so the schema and every invariant are the server's own); blob files are written
/// into the file-system store's layout (blobs/ALGORITHM/XX/HEX) without an fsync each. Every manifest is an OCI image
/// with its own config and layer blob (two distinct blobs per manifest), tagged, with push times spread over the
/// last --days days, the newest last in each repository.
/// </summary>
internal static class Program
{
    private const string Usage = """
        berth-seed --data DIR [--project NAME] [--repos N] [--manifests N] [--blob-size BYTES] [--days N] [--concurrency N]

        Fills a data folder that has never been served (berth.db is created and migrated here) with --manifests OCI
        images spread over --repos repositories of one private project (default bench, 100 repositories, 10,000
        manifests, 512-byte blobs, pushed over the last 60 days). Start `berth serve --data DIR` on it afterwards.
        """;

    public static async Task<int> Main(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                Console.Error.Write(Usage);
                return 2;
            }

            options[args[i]] = args[++i];
        }

        if (!options.TryGetValue("--data", out var data))
        {
            Console.Error.Write(Usage);
            return 2;
        }

        int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var project = ProjectName.Parse(options.GetValueOrDefault("--project", "bench"));
        var repos = Int("--repos", 100);
        var manifests = Int("--manifests", 10_000);
        var blobSize = Int("--blob-size", 512);
        var days = Int("--days", 60);
        var concurrency = Int("--concurrency", 64);
        if (repos < 1 || manifests < repos || blobSize < 64 || days < 1 || concurrency < 1)
        {
            Console.Error.WriteLine("berth-seed: need --repos >= 1, --manifests >= --repos, --blob-size >= 64, --days >= 1, --concurrency >= 1");
            return 2;
        }

        Directory.CreateDirectory(data);
        var databasePath = Path.Combine(data, "berth.db");
        if (File.Exists(databasePath))
        {
            Console.Error.WriteLine($"berth-seed: {databasePath} exists; seed a fresh folder");
            return 2;
        }

        var sqlite = Options.Create(new SqliteMetadataOptions { DatabasePath = databasePath });
        new SqliteMigrator(sqlite).Migrate();
        var clock = new PerTaskClock();
        using var database = new SqliteDatabase(sqlite);
        var store = new SqliteMetadataStore(database, clock);
        IProjectStore projects = new SqliteProjectStore(database, clock);
        await projects.CreateAsync(project, "lifecycle benchmark", ProjectVisibility.Private, CancellationToken.None);

        var now = DateTimeOffset.UtcNow;
        var perRepo = manifests / repos;
        var total = perRepo * repos;
        var done = 0L;
        var watch = Stopwatch.StartNew();
        var work = Enumerable.Range(0, total).Select(i => (Repo: i % repos, Index: i / repos));
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (item, cancellationToken) =>
        {
            var repository = RepositoryName.Parse($"{project}/app-{item.Repo:D5}");

            // Oldest first within a repository, the newest a few minutes ago; a little jitter so no two are equal.
            var age = TimeSpan.FromDays(days) * (perRepo - item.Index) / perRepo;
            clock.Now.Value = now - age + TimeSpan.FromMilliseconds(item.Repo);

            var layer = Blob(blobSize, $"layer {repository} {item.Index}");
            var config = Config(blobSize, layer.Digest, $"{repository} {item.Index}");
            foreach (var blob in new[] { config, layer })
            {
                WriteBlob(data, blob);
                var linked = await store.LinkAsync(repository, blob.Digest, blob.Bytes.Length, cancellationToken);
                if (linked != BlobLinkResult.Linked)
                {
                    throw new InvalidOperationException($"link {blob.Digest} into {repository}: {linked}");
                }
            }

            var body = Encoding.UTF8.GetBytes(
                $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{config.Digest}}","size":{{config.Bytes.Length}}},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{layer.Digest}}","size":{{layer.Bytes.Length}}}]}""");
            var manifest = new ManifestRecord(Digest.Compute(DigestAlgorithm.Sha256, body), MediaTypes.OciManifest, body, null, null, null, clock.GetUtcNow());
            var put = await store.PutAsync(repository, manifest,
                [new ManifestReference(config.Digest, config.Bytes.Length, false), new ManifestReference(layer.Digest, layer.Bytes.Length, false)],
                Tag.Parse($"t{item.Index:D6}"), cancellationToken);
            if (put.Status != ManifestPutStatus.Stored)
            {
                throw new InvalidOperationException($"put {manifest.Digest} into {repository}: {put.Status}");
            }

            var count = Interlocked.Increment(ref done);
            if (count % 10_000 == 0)
            {
                Console.Error.WriteLine($"berth-seed: {count:N0} of {total:N0} manifests ({watch.Elapsed.TotalSeconds:F0} s)");
            }
        });

        Console.WriteLine(FormattableString.Invariant(
            $"berth-seed: {total} manifests and {2 * total} blobs of {blobSize} bytes in {repos} repositories of project {project} in {watch.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    private sealed record SeedBlob(Digest Digest, byte[] Bytes);

    private static SeedBlob Blob(int size, string seed)
    {
        // Deterministic, distinct content: the seed's hash repeated, the seed itself in front.
        var bytes = new byte[size];
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        for (var offset = 0; offset < size; offset += hash.Length)
        {
            hash.AsSpan(0, Math.Min(hash.Length, size - offset)).CopyTo(bytes.AsSpan(offset));
        }

        Encoding.UTF8.GetBytes(seed).AsSpan(0, Math.Min(seed.Length, size)).CopyTo(bytes);
        return new SeedBlob(Digest.Compute(DigestAlgorithm.Sha256, bytes), bytes);
    }

    /// <summary>A valid image config (so clients can inspect the image), padded to about <paramref name="size"/> bytes.</summary>
    private static SeedBlob Config(int size, Digest layer, string seed)
    {
        var json = $$"""{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["{{layer}}"]},"history":[{"comment":"{{seed}} """;
        var bytes = Encoding.UTF8.GetBytes(json + new string('x', Math.Max(0, size - json.Length - 4)) + "\"}]}");
        return new SeedBlob(Digest.Compute(DigestAlgorithm.Sha256, bytes), bytes);
    }

    private static void WriteBlob(string data, SeedBlob blob)
    {
        var hex = blob.Digest.Hex;
        var folder = Path.Combine(data, "blobs", blob.Digest.AlgorithmName, hex[..2]);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, hex), blob.Bytes);
    }

    /// <summary>A clock each seeding task sets for itself, so pushes get the times the benchmark wants.</summary>
    private sealed class PerTaskClock : TimeProvider
    {
        public AsyncLocal<DateTimeOffset> Now { get; } = new();

        public override DateTimeOffset GetUtcNow() => Now.Value == default ? DateTimeOffset.UtcNow : Now.Value;
    }
}
