using System.Globalization;

namespace Berth.Bench;

internal enum Kind
{
    Push,
    Chunked,
    Stream,
    Pull,
    BlobHead,
    ManifestPut,
    ManifestGet,
    ManifestHead,
    Populate,
    TagsList,
    Catalog,
    CatalogFirst,
    CatalogLast,
    Mixed,
}

/// <summary>A scenario as named on the command line (<c>push-64m</c>, <c>pull-100mb@8</c>) with its defaults.</summary>
internal sealed record ScenarioSpec(string Name, Kind Kind, long Size, int Concurrency, TimeSpan Duration, long? Count, TimeSpan Warmup)
{
    /// <summary>The standard set, in the order <c>--scenario all</c> runs it.</summary>
    public static readonly string[] Standard =
    [
        "push-4k", "push-1m", "push-10mb", "push-64m", "push-100mb",
        "chunked-10mb", "chunked-64m", "chunked-100mb",
        "pull-4k", "pull-1m", "pull-10mb", "pull-64m@2", "pull-64m@8", "pull-100mb@2", "pull-100mb@8",
        "blob-head", "manifest-put", "manifest-get", "manifest-head", "mixed",
        "populate", "tags-list", "catalog", "catalog-first", "catalog-last",
        "stream-10mb", "stream-1gb",
    ];

    public static readonly (string Name, string Description)[] Help =
    [
        ("push-SIZE", "monolithic blob push: POST then PUT ?digest= with the whole body (--monolithic post: one POST ?digest=)"),
        ("chunked-SIZE", "chunked push: POST, PATCH chunks of --chunk-size (default 5MB) with Content-Range, PUT ?digest="),
        ("stream-SIZE", "streamed push: POST, one PATCH with a chunked-encoded body hashed while sent, PUT ?digest=; with --server-pid reports the server's RSS before/after (stream-1gb)"),
        ("pull-SIZE", "GET of a blob of that size, sha256-verified (--no-verify: raw transfer; --static: GET BASE/blob-BYTES from a file server)"),
        ("blob-head", "HEAD of a 4 KiB blob"),
        ("manifest-put", "PUT of a small distinct OCI image manifest under a new tag"),
        ("manifest-get", "GET of a manifest by tag (default concurrency 32), digest-verified"),
        ("manifest-head", "HEAD of a manifest by tag (default concurrency 32)"),
        ("mixed", "75% pulls of existing blobs, 25% pushes of new ones (--size, default 1m)"),
        ("populate", "creates --repos repositories x --tags tags (cross-repo mounts of one config+layer, tiny manifests); skipped when already there"),
        ("tags-list", "GET /v2/<repo>/tags/list of random populated repositories (all pages), count-verified"),
        ("catalog", "full /v2/_catalog walks with n=--page-size following Link; each page is one request"),
        ("catalog-first", "the first /v2/_catalog page"),
        ("catalog-last", "the last /v2/_catalog page (the Link of the page before it)"),
    ];

    /// <summary>Parses a scenario name; SIZE is 4k/1m/1g (KiB/MiB/GiB) or 10mb/100mb/1gb (decimal); NAME@N sets the concurrency.</summary>
    public static ScenarioSpec Parse(string text)
    {
        var name = text.Trim().ToLowerInvariant();
        int? concurrency = null;
        var at = name.IndexOf('@', StringComparison.Ordinal);
        var baseName = name;
        if (at >= 0)
        {
            concurrency = int.Parse(name[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            baseName = name[..at];
        }

        var spec = baseName switch
        {
            "blob-head" => Fixed(Kind.BlobHead, 4096, 16, light: true),
            "manifest-put" => Fixed(Kind.ManifestPut, 0, 8, light: true) with { Count = 20_000 },
            "manifest-get" => Fixed(Kind.ManifestGet, 0, 32, light: true),
            "manifest-head" => Fixed(Kind.ManifestHead, 0, 32, light: true),
            "mixed" => Fixed(Kind.Mixed, 1 << 20, 8, light: false) with { Count = 2000 },
            "populate" => Fixed(Kind.Populate, 0, 16, light: false) with { Duration = TimeSpan.FromHours(2) },
            "tags-list" => Fixed(Kind.TagsList, 0, 16, light: true),
            "catalog" => Fixed(Kind.Catalog, 0, 4, light: false),
            "catalog-first" => Fixed(Kind.CatalogFirst, 0, 8, light: true),
            "catalog-last" => Fixed(Kind.CatalogLast, 0, 8, light: true),
            _ => Sized(baseName),
        };
        spec = spec with { Name = name };
        return concurrency is { } c ? spec with { Concurrency = c } : spec;
    }

    private static ScenarioSpec Fixed(Kind kind, long size, int concurrency, bool light) =>
        new(string.Empty, kind, size, concurrency, TimeSpan.FromSeconds(5), null, light ? TimeSpan.FromSeconds(1) : TimeSpan.Zero);

    private static ScenarioSpec Sized(string name)
    {
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            throw new ArgumentException($"unknown scenario '{name}' (run 'berth-bench list')");
        }

        var kind = name[..dash] switch
        {
            "push" => Kind.Push,
            "chunked" => Kind.Chunked,
            "stream" => Kind.Stream,
            "pull" => Kind.Pull,
            _ => throw new ArgumentException($"unknown scenario '{name}' (run 'berth-bench list')"),
        };
        var size = Sizes.Parse(name[(dash + 1)..]);
        var concurrency = size <= 1 << 20 ? 8 : size <= 10_000_000 ? 4 : 2;
        // Pushes are capped by count so a run writes a bounded amount of data (the benchmark's disk use).
        long? count = kind switch
        {
            Kind.Pull => null,
            Kind.Stream => size >= 100_000_000 ? 1 : 3,
            _ => size <= 64 * 1024 ? 100_000 : size <= 1 << 20 ? 400 : size <= 10_000_000 ? 40 : 6,
        };
        // Small requests and every pull (reads only, so it costs no disk) start with an untimed second, the same for each
        // server: the timed part then measures the steady state, not a just-started JIT compiling the path.
        var warmup = size <= 64 * 1024 || kind == Kind.Pull ? TimeSpan.FromSeconds(1) : TimeSpan.Zero;
        return new ScenarioSpec(name, kind, size, kind == Kind.Stream ? 1 : concurrency, TimeSpan.FromSeconds(kind == Kind.Stream ? 600 : 5), count, warmup);
    }
}

internal static class Sizes
{
    /// <summary><c>4k</c>/<c>1m</c>/<c>1g</c> (and kib/mib/gib) are powers of 1024; <c>10mb</c>/<c>1gb</c> are decimal; a bare number is bytes.</summary>
    public static long Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        var digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits]))
        {
            digits++;
        }

        if (digits == 0)
        {
            throw new FormatException($"'{text}' is not a size (e.g. 4096, 4k, 1m, 10mb, 1gb)");
        }

        var value = long.Parse(t[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
        long multiplier = t[digits..] switch
        {
            "" or "b" => 1,
            "k" or "kib" => 1L << 10,
            "m" or "mib" => 1L << 20,
            "g" or "gib" => 1L << 30,
            "kb" => 1000,
            "mb" => 1000_000,
            "gb" => 1000_000_000,
            _ => throw new FormatException($"'{text}' is not a size (e.g. 4096, 4k, 1m, 10mb, 1gb)"),
        };
        return checked(value * multiplier);
    }

    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        static double Number(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        return t.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(t[..^2]))
            : t.EndsWith('s') ? TimeSpan.FromSeconds(Number(t[..^1]))
            : t.EndsWith('m') ? TimeSpan.FromMinutes(Number(t[..^1]))
            : TimeSpan.FromSeconds(Number(t));
    }
}
