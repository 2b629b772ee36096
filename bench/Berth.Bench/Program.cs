using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Bench;

internal static class Program
{
    private const string Usage = """
        berth-bench: a load generator for OCI distribution registries (Berth, CNCF distribution, any /v2 registry).

        Commands:
          run --registry URL --scenario NAME[,NAME...] [options]   run scenarios; 'all' runs the standard set
          list                                                   scenario names and what they measure
          gen --size SIZE --dir DIR                              write the pull-SIZE blob as DIR/blob-BYTES (for a static file server)
          wait --registry URL [--timeout 30s]                    wait until URL/v2/ answers (any HTTP status)
          free-port                                              print a free loopback TCP port
          rss --pid PID --label NAME --tag TAG [--json FILE]     record a process's VmRSS/VmHWM
          report --input FILE [--labels A,B[,STATIC]] [--no-targets | --targets default|scale-out|metadata]
                                                                 markdown tables (medians over rounds) from JSON lines
          s3-create-bucket --endpoint URL --bucket NAME [--region R]   create a bucket (keys: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)
          s3-delete-bucket --endpoint URL --bucket NAME [--region R]   delete every object and upload in a bucket, then the bucket

        run options:
          --label NAME           name in the output (default: host:port)
          --user U --password P  credentials (also BENCH_USER / BENCH_PASSWORD): HTTP Basic or the Docker token flow
          --concurrency N        workers (default per scenario; NAME@N sets it for one scenario)
          --duration D           measuring time per scenario, e.g. 5s, 500ms (default 5s)
          --count N              at most N operations per scenario (pushes have a default cap to bound disk use)
          --warmup D             untimed warm-up (default 1s for small-request scenarios and pulls, 0 otherwise)
          --basic                send --user/--password as Basic auth with every request (no Docker token round trips)
          --no-verify            pulls do not hash (raw transfer); the length is still checked, and one verified pull precedes timing
          --monolithic put|post  monolithic push as POST+PUT (default) or one POST ?digest= (needs registry support)
          --chunk-size SIZE      chunk size of chunked-* (default 5mb = 5,000,000 bytes)
          --size SIZE            blob size of 'mixed' (default 1m)
          --repos N --tags N     populate/tags-list/catalog data set (default 10000 x 10)
          --page-size N          catalog page size n (default 100)
          --static               the URL is a static file server holding files from 'gen' (pull scenarios only)
          --server-pid PID       report the server's RSS/peak RSS before and after each scenario
          --json FILE            append one JSON line per result
          --round N              round number written to the JSON lines

        Sizes: 4k, 1m, 1g are KiB/MiB/GiB; 10mb, 100mb, 1gb are decimal; a bare number is bytes.
        Exit status: 0 when every request succeeded and every digest matched; 1 otherwise; 2 for usage errors.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.Write(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var options = Options.Parse(args[1..]);
            return args[0] switch
            {
                "run" => await RunAsync(options),
                "list" => List(),
                "gen" => Generate(options),
                "wait" => await WaitAsync(options),
                "free-port" => FreePort(),
                "rss" => Rss(options),
                "report" => Report.Print(options.Required("--input"), options.Get("--labels")?.Split(',', StringSplitOptions.RemoveEmptyEntries),
                    options.Flag("--no-targets") ? null : Report.ParseTargets(options.Get("--targets") ?? "default")),
                "s3-create-bucket" => await BucketAsync(options, create: true),
                "s3-delete-bucket" => await BucketAsync(options, create: false),
                _ => throw new ArgumentException($"unknown command '{args[0]}'"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"berth-bench: {ex.Message}");
            return 2;
        }
    }

    private static async Task<int> RunAsync(Options options)
    {
        var registry = new Uri(options.Required("--registry"));
        var names = options.Required("--scenario").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .SelectMany(n => n == "all" ? ScenarioSpec.Standard : [n]).ToList();
        var specs = names.Select(ScenarioSpec.Parse).ToList();
        var monolithic = options.Get("--monolithic") ?? "put";
        if (monolithic is not ("put" or "post"))
        {
            throw new ArgumentException("--monolithic is put or post");
        }

        var settings = new BenchSettings
        {
            Label = options.Get("--label") ?? registry.Authority,
            Verify = !options.Flag("--no-verify"),
            MonolithicPost = monolithic == "post",
            ChunkSize = options.Get("--chunk-size") is { } chunk ? Sizes.Parse(chunk) : 5_000_000,
            Repos = options.Int("--repos") ?? 10_000,
            Tags = options.Int("--tags") ?? 10,
            PageSize = options.Int("--page-size") ?? 100,
            MixedSize = options.Get("--size") is { } size ? Sizes.Parse(size) : null,
            Static = options.Flag("--static"),
            ServerPid = options.Int("--server-pid"),
            Concurrency = options.Int("--concurrency"),
            Duration = options.Get("--duration") is { } d ? Sizes.ParseDuration(d) : null,
            Count = options.Get("--count") is { } c ? long.Parse(c, CultureInfo.InvariantCulture) : null,
            Warmup = options.Get("--warmup") is { } w ? Sizes.ParseDuration(w) : null,
        };
        if (settings.ChunkSize <= 0 || settings.Repos <= 0 || settings.Tags <= 0 || settings.PageSize <= 0)
        {
            throw new ArgumentException("--chunk-size, --repos, --tags and --page-size must be positive");
        }

        var json = options.Get("--json");
        var round = options.Int("--round") ?? 0;
        var maxConcurrency = specs.Max(s => settings.Concurrency ?? s.Concurrency);
        using var client = new RegistryClient(registry, options.Get("--user") ?? Environment.GetEnvironmentVariable("BENCH_USER"),
            options.Get("--password") ?? Environment.GetEnvironmentVariable("BENCH_PASSWORD"), maxConcurrency + 4, options.Flag("--basic"));
        var scenarios = new Scenarios(client, settings);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var failed = false;
        foreach (var spec in specs)
        {
            ScenarioResult? result;
            try
            {
                result = await scenarios.RunAsync(spec, cancel.Token);
            }
            catch (Exception ex) when (ex is BenchException or HttpRequestException or IOException or TaskCanceledException)
            {
                Console.Error.WriteLine($"[{settings.Label}] {spec.Name}: preparation failed: {LoadRunner.Describe(ex)}");
                failed = true;
                continue;
            }

            if (result is null)
            {
                continue;
            }

            Console.WriteLine(result.ToText());
            if (json is not null)
            {
                await File.AppendAllTextAsync(json, result.ToJson(round) + "\n", cancel.Token);
            }

            if (result.Errors > 0 || result.Requests == 0)
            {
                if (result.Requests == 0)
                {
                    Console.Error.WriteLine($"[{settings.Label}] {spec.Name}: no request completed");
                }

                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    private static int List()
    {
        foreach (var (name, description) in ScenarioSpec.Help)
        {
            Console.WriteLine($"  {name,-16} {description}");
        }

        Console.WriteLine();
        Console.WriteLine("Standard set ('all'): " + string.Join(' ', ScenarioSpec.Standard));
        return 0;
    }

    private static int Generate(Options options)
    {
        var size = Sizes.Parse(options.Required("--size"));
        var dir = options.Required("--dir");
        Directory.CreateDirectory(dir);
        var blob = new BlobSpec(size, 0x50554C4C_424C4F42UL, (ulong)size);
        var path = Path.Combine(dir, Scenarios.StaticFileName(size).TrimStart('/'));
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            blob.WriteAsync(file, 0, size, null, CancellationToken.None).GetAwaiter().GetResult();
        }

        Console.WriteLine($"{path} {Digests.Of(blob)}");
        return 0;
    }

    private static async Task<int> WaitAsync(Options options)
    {
        var registry = new Uri(options.Required("--registry"));
        var timeout = options.Get("--timeout") is { } t ? Sizes.ParseDuration(t) : TimeSpan.FromSeconds(30);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(registry, "/v2/"));
                return 0;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        Console.Error.WriteLine($"berth-bench: {registry} did not answer within {timeout.TotalSeconds:F0}s");
        return 1;
    }

    private static async Task<int> BucketAsync(Options options, bool create)
    {
        var endpoint = new Uri(options.Required("--endpoint"));
        var bucket = options.Required("--bucket");
        var accessKey = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var secretKey = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
        {
            throw new ArgumentException("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
        }

        using var s3 = new S3Buckets(endpoint, options.Get("--region") ?? "us-east-1", accessKey, secretKey);
        try
        {
            if (create)
            {
                await s3.CreateAsync(bucket, CancellationToken.None);
                return 0;
            }

            var started = DateTime.UtcNow;
            var deleted = await s3.DeleteAsync(bucket, CancellationToken.None);
            Console.WriteLine($"deleted bucket {bucket}: {deleted} objects in {(DateTime.UtcNow - started).TotalSeconds:F1}s");
            return 0;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or TaskCanceledException or System.Xml.XmlException)
        {
            Console.Error.WriteLine($"berth-bench: {ex.Message}");
            return 1;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine(((IPEndPoint)listener.LocalEndpoint).Port);
        return 0;
    }

    private static int Rss(Options options)
    {
        var pid = options.Int("--pid") ?? throw new ArgumentException("--pid is required");
        var label = options.Required("--label");
        var tag = options.Required("--tag");
        var memory = ProcessMemory.Read(pid);
        if (memory is null)
        {
            Console.Error.WriteLine($"berth-bench: cannot read /proc/{pid}/status");
            return 1;
        }

        Console.WriteLine($"[{label}] {tag}: VmRSS {memory.Value.Rss / 1024.0:F1} MiB, VmHWM (peak) {memory.Value.Hwm / 1024.0:F1} MiB");
        if (options.Get("--json") is { } json)
        {
            File.AppendAllText(json, string.Create(CultureInfo.InvariantCulture,
                $"{{\"type\":\"rss\",\"label\":\"{label}\",\"tag\":\"{tag}\",\"rss_kb\":{memory.Value.Rss},\"hwm_kb\":{memory.Value.Hwm}}}\n"));
        }

        return 0;
    }
}

/// <summary><c>--name value</c> / <c>--name=value</c> options and bare flags.</summary>
internal sealed class Options
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "--no-verify", "--static", "--no-targets", "--basic" };

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "--registry", "--scenario", "--label", "--user", "--password", "--concurrency", "--duration", "--count", "--warmup",
        "--monolithic", "--chunk-size", "--size", "--repos", "--tags", "--page-size", "--server-pid", "--json", "--round",
        "--dir", "--timeout", "--pid", "--tag", "--input", "--labels", "--targets", "--endpoint", "--bucket", "--region",
    };
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }

            if (Flags.Contains(arg))
            {
                options._flags.Add(arg);
                continue;
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (!Known.Contains(eq > 0 ? arg[..eq] : arg))
            {
                throw new ArgumentException($"unknown option '{arg}' (see berth-bench --help)");
            }

            if (eq > 0)
            {
                options._values[arg[..eq]] = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Length)
            {
                options._values[arg] = args[++i];
            }
            else
            {
                throw new ArgumentException($"option {arg} needs a value");
            }
        }

        return options;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => Get(name) ?? throw new ArgumentException($"{name} is required");

    public bool Flag(string name) => _flags.Contains(name);

    public int? Int(string name) => Get(name) is { } v ? int.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture) : null;
}
