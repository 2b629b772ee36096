using System.Globalization;
using System.Text.Json;

namespace Berth;

/// <summary>
/// The options of <c>berth serve</c>: each has a flag, an environment variable and a config-file key, and maps to one
/// configuration key. Precedence: flag, then environment, then config file, then the default.
/// </summary>
internal static class ServeOptions
{
    public sealed record Option(string Flag, string Environment, string ConfigKey, string Placeholder, string Help, Func<string, string>? Convert = null);

    public static readonly Option[] All =
    [
        new("--listen", "BERTH_LISTEN", "Berth:Listen", "URL[,URL...]",
            "where to listen: http://HOST:PORT or https://HOST:PORT (https needs --tls-cert and --tls-key); HOST * is every IPv6 and IPv4 address ([::], dual-stack; 0.0.0.0 on a host without IPv6), 0.0.0.0 every IPv4 one; default http://*:5000"),
        new("--data", "BERTH_DATA", "Berth:Data", "DIR", "data folder for blobs (files) and metadata (SQLite); default ./data"),
        new("--storage", "BERTH_STORAGE", "Berth:Storage:Type", "TYPE|URI", "where blobs are stored; default filesystem (below --data)"),
        new("--metadata", "BERTH_METADATA", "Berth:Metadata:Type", "TYPE|URI", "where metadata and access control are stored; default sqlite (DATA/berth.db)"),
        new("--tls-cert", "BERTH_TLS_CERT", "Berth:TlsCertificate", "FILE", "TLS certificate chain, PEM"),
        new("--tls-key", "BERTH_TLS_KEY", "Berth:TlsKey", "FILE", "TLS private key, PEM"),
        new("--max-manifest-size", "BERTH_MAX_MANIFEST_SIZE", "Berth:MaxManifestBytes", "BYTES", "largest manifest accepted (at most 64M); default 4M", v => ParseManifestSize(v).ToString(CultureInfo.InvariantCulture)),
        new("--max-blob-size", "BERTH_MAX_BLOB_SIZE", "Berth:MaxBlobBytes", "BYTES", "largest blob accepted (e.g. 10G); default unlimited", v => ParseSize(v).ToString(CultureInfo.InvariantCulture)),
        new("--storage-reserve", "BERTH_STORAGE_RESERVE", "Berth:Storage:FileSystem:ReserveBytes", "BYTES",
            "free space kept on the data folder's file system (filesystem storage): below it new uploads are refused (507) while pulls and deletes go on; default the larger of 1G and 2% of the file system; 0 for none",
            v => ParseSize(v).ToString(CultureInfo.InvariantCulture)),
        new("--default-quota", "BERTH_DEFAULT_QUOTA", "Berth:DefaultQuotaBytes", "SIZE",
            "storage quota of projects created from now on (e.g. 10GiB, 500MiB); default none (0 or none: unlimited); berth quota set changes one project's",
            v => ParseQuota(v).ToString(CultureInfo.InvariantCulture)),
        new("--upload-expiry", "BERTH_UPLOAD_EXPIRY", "Berth:UploadExpiry", "DURATION", "remove uploads idle this long (e.g. 30m, 24h, 7d); default 24h", v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        new("--gc-grace", "BERTH_GC_GRACE", "Berth:GcGrace", "DURATION",
            "garbage collection deletes an unreferenced blob only once it, its links and its bytes are older than this (uploads, mounts and HEADs renew it; e.g. 30m, 2h); default 1h, at least 1s",
            v => ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)), // at least 1s: the smallest duration written
        new("--gc-interval", "BERTH_GC_INTERVAL", "Berth:GcInterval", "DURATION",
            "time between scheduled garbage collections (e.g. 6h, 1d); default 6h; 0: only on demand (berth gc run)",
            v => v.Trim() == "0" ? TimeSpan.Zero.ToString("c", CultureInfo.InvariantCulture) : ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        new("--auto-create-projects", "BERTH_AUTO_CREATE_PROJECTS", "Berth:AutoCreateProjects", "true|false",
            "let server administrators create a project by pushing into it (private); default false: push into a missing project is refused", ParseBool),
        new("--public-url", "BERTH_PUBLIC_URL", "Berth:PublicUrl", "URL",
            "the URL clients use to reach Berth (e.g. https://registry.example.com), for the token realm; default: the scheme and host of each request", ParsePublicUrl),
        new("--trusted-proxies", "BERTH_TRUSTED_PROXIES", "Berth:TrustedProxies", "CIDR[,CIDR...]",
            "reverse proxies whose X-Forwarded-For is believed (client addresses for IP allow lists, audit, throttling); default none"),
        new("--token-key-dir", "BERTH_TOKEN_KEY_DIR", "Berth:Auth:RegistryTokens:KeyFolder", "DIR",
            "folder of the registry-token signing keys (shared by all nodes); default DATA/keys"),
        new("--audit-retention", "BERTH_AUDIT_RETENTION", "Berth:AuditRetention", "DURATION",
            "remove audit entries older than this (e.g. 90d); default 365d; 0 keeps them for ever",
            v => v.Trim() == "0" ? TimeSpan.Zero.ToString("c", CultureInfo.InvariantCulture) : ParseDuration(v).ToString("c", CultureInfo.InvariantCulture)),
        new("--sendfile", "BERTH_SENDFILE", "Berth:SendFile", "true|false",
            "send whole blobs on plain-HTTP connections with the kernel's sendfile (no copy through the server); default true", ParseBool),
        new("--log-level", "BERTH_LOG_LEVEL", "Logging:LogLevel:Default", "LEVEL", "Trace, Debug, Information, Warning or Error; default Information", ParseLogLevel),
    ];

    public const string ConfigFlag = "--config";

    /// <summary>Password of the first administrator <c>admin</c>, used when the data folder has no administrator.</summary>
    public const string AdminPasswordEnvironment = "BERTH_ADMIN_PASSWORD";

    private static readonly HashSet<string> HostArguments = new(StringComparer.OrdinalIgnoreCase) { "--environment", "--contentRoot", "--applicationName" };
    public const string ConfigEnvironment = "BERTH_CONFIG";

    /// <summary>Builds the configuration values from the command line, the environment and an optional JSON config file.</summary>
    public static Dictionary<string, string?> Resolve(IReadOnlyList<string> args, Func<string, string?> getEnvironment)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var rawConfiguration = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name, value;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    throw new CommandLineException($"unexpected argument '{arg}' (options start with --; see berth serve --help)");
                }

                // The name first: a mistyped last flag is an unknown option, not one that "needs a value".
                if (!IsKnown(name))
                {
                    throw new CommandLineException($"unknown option '{name}' (see berth serve --help)");
                }

                if (i + 1 >= args.Count)
                {
                    throw new CommandLineException($"option {arg} needs a value");
                }

                value = args[++i];
            }

            if (HostArguments.Contains(name))
            {
                // Generic-host switches (the test host passes these); handled by ASP.NET, not by Berth.
                continue;
            }

            if (name.Length > 2 && char.IsUpper(name[2]))
            {
                // A raw configuration key such as --Berth:MaxPageSize=10 (power users and the test host).
                rawConfiguration[name[2..]] = value;
                continue;
            }

            if (name != ConfigFlag && All.All(o => o.Flag != name))
            {
                throw new CommandLineException($"unknown option '{name}' (see berth serve --help)");
            }

            flags[name] = value;
        }

        var file = new Dictionary<string, string>(StringComparer.Ordinal);
        var configPath = flags.GetValueOrDefault(ConfigFlag) ?? getEnvironment(ConfigEnvironment);
        if (!string.IsNullOrEmpty(configPath))
        {
            file = ReadConfigFile(configPath);
        }

        var result = new Dictionary<string, string?>(rawConfiguration, StringComparer.OrdinalIgnoreCase);

        // The first administrator's password comes from the environment only: never a flag (visible in ps).
        if (getEnvironment(AdminPasswordEnvironment) is { Length: > 0 } adminPassword)
        {
            result["Berth:AdminPassword"] = adminPassword;
        }

        foreach (var option in All)
        {
            var raw = flags.GetValueOrDefault(option.Flag) ?? getEnvironment(option.Environment) ?? file.GetValueOrDefault(option.Flag[2..]);
            if (string.IsNullOrEmpty(raw))
            {
                continue;
            }

            try
            {
                result[option.ConfigKey] = option.Convert is null ? raw : option.Convert(raw);
            }
            catch (FormatException ex)
            {
                throw new CommandLineException($"{option.Flag}: {ex.Message}");
            }
        }

        return result;
    }

    private static bool IsKnown(string name) =>
        HostArguments.Contains(name) || (name.Length > 2 && char.IsUpper(name[2])) || name == ConfigFlag || All.Any(o => o.Flag == name);

    private static Dictionary<string, string> ReadConfigFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new CommandLineException(Directory.Exists(path) ? $"config file '{path}' is a folder, not a file" : $"config file '{path}' does not exist");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandLineException($"config file '{path}' cannot be read: {ex.Message}");
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CommandLineException($"config file '{path}' must hold one JSON object, such as {{\"data\": \"/var/lib/berth\"}}");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (All.All(o => o.Flag[2..] != property.Name))
                {
                    throw new CommandLineException($"config file '{path}': unknown key '{property.Name}'");
                }

                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Array => string.Join(',', property.Value.EnumerateArray().Select(e => e.ToString())),
                    JsonValueKind.Object or JsonValueKind.Null => throw new CommandLineException(
                        $"config file '{path}': '{property.Name}' must be a string, a number, true/false or an array"),
                    _ => property.Value.GetRawText(),
                };
            }

            return values;
        }
        catch (JsonException ex)
        {
            throw new CommandLineException($"config file '{path}' is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Parses <c>1048576</c>, <c>512K</c>, <c>4M</c>, <c>10G</c> (powers of 1024).</summary>
    public static long ParseSize(string text)
    {
        var t = text.Trim().TrimEnd('B', 'b').TrimEnd('i');
        long multiplier = 1;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            multiplier = char.ToUpperInvariant(t[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => throw new FormatException($"'{text}' is not a size (use e.g. 1048576, 512K, 4M, 10G)"),
            };
            t = t[..^1];
        }

        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"'{text}' is not a size (use e.g. 1048576, 512K, 4M, 10G)");
        }

        if (value > long.MaxValue / multiplier)
        {
            throw new FormatException($"'{text}' is too large a size");
        }

        return value * multiplier;
    }

    /// <summary>A quota: <c>10GiB</c>, <c>500MiB</c>, <c>1.5T</c>, a number of bytes; <c>0</c> or <c>none</c> for none (answered as 0).</summary>
    public static long ParseQuota(string text) =>
        text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? 0
        : Core.Quotas.ByteSize.TryParse(text, out var bytes) ? bytes
        : throw new FormatException($"'{text}' is not a size (use e.g. 10GiB, 500MiB, or none)");

    /// <summary>The largest <c>--max-manifest-size</c>: a manifest is read whole into memory and stored in the database.</summary>
    public const long MaxManifestSize = 64L << 20;

    /// <summary><see cref="ParseSize"/> for <c>--max-manifest-size</c>: at least 1 byte, at most <see cref="MaxManifestSize"/>.</summary>
    public static long ParseManifestSize(string text)
    {
        var size = ParseSize(text);
        return size is > 0 and <= MaxManifestSize
            ? size
            : throw new FormatException($"'{text}' is out of range: a manifest limit is from 1 byte to 64M (manifests are read whole and kept in the database)");
    }

    /// <summary>
    /// Parses <c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>: a positive whole number and a unit, at most
    /// <see cref="MaxDuration"/> (a longer one is a mistake, and would not fit in the calendar).
    /// </summary>
    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim();
        if (t.Length >= 2 && long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            var unit = t[^1] switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                _ => TimeSpan.Zero,
            };
            if (unit > TimeSpan.Zero)
            {
                return value <= MaxDuration.Ticks / unit.Ticks
                    ? TimeSpan.FromTicks(value * unit.Ticks)
                    : throw new FormatException($"'{text}' is too long a duration (at most {MaxDuration.TotalDays:0} days)");
            }
        }

        throw new FormatException($"'{text}' is not a duration (use e.g. 90s, 30m, 24h, 7d)");
    }

    /// <summary>An absolute http(s) URL without query or fragment (the token realm is built on it).</summary>
    internal static string ParsePublicUrl(string value) =>
        Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0 && uri.Query.Length == 0 && uri.Fragment.Length == 0
            ? value.Trim()
            : throw new FormatException($"'{value}' is not an http:// or https:// URL such as https://registry.example.com");

    internal static string ParseLogLevel(string value) =>
        Enum.TryParse<LogLevel>(value.Trim(), ignoreCase: true, out var level) && Enum.IsDefined(level) && !int.TryParse(value, CultureInfo.InvariantCulture, out _)
            ? level.ToString()
            : throw new FormatException($"'{value}' is not a log level (Trace, Debug, Information, Warning, Error, Critical or None)");

    /// <summary>The longest duration any option takes: 1,000 years.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(365_250);

    internal static string ParseBool(string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "yes" or "1" or "on" => "true",
        "false" or "no" or "0" or "off" => "false",
        _ => throw new FormatException($"'{value}' is not true or false"),
    };
}

/// <summary>A command-line mistake; printed without a stack trace.</summary>
internal sealed class CommandLineException(string message) : Exception(message);
