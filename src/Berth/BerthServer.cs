using System.Net;
using Berth.Api;
using Berth.Api.Hosting;
using Berth.Auth.Jwt;
using Berth.Core;
using Berth.Core.Registry;
using Berth.Metadata.Sqlite;
using Berth.Storage.FileSystem;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Berth;

/// <summary>The composition root: picks the providers and wires the web server. The only place that knows them all.</summary>
public static partial class BerthServer
{
    /// <summary>Builds the server from already-resolved configuration values (see <see cref="ServeOptions"/>).</summary>
    public static WebApplication Build(IDictionary<string, string?> settings)
    {
        // Configuration comes from flags, environment and --config (ServeOptions), never from files the host would watch:
        // by default the host watches its content root (the working directory) recursively for appsettings changes, which
        // with the default ./data meant an inotify watch on every blob folder and an event for every write to a blob.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        ServerStartup.QuietHostErrorsWhileStarting(builder.Logging);

        var services = builder.Services;
        services.AddOptions<ServeSettings>().Bind(builder.Configuration.GetSection(RegistryOptions.Section));
        services.AddBerthCore(builder.Configuration);
        services.AddBerthApi(builder.Configuration);

        // Providers from configuration (--storage, --metadata): an unknown one stops here, before anything listens. The
        // embedded defaults live in the data folder; a provider's own section (bound when it registers) overrides them.
        var storage = ProviderCatalog.Resolve(ProviderKind.Storage, builder.Configuration[ProviderCatalog.StorageKey]);
        var metadata = ProviderCatalog.Resolve(ProviderKind.Metadata, builder.Configuration[ProviderCatalog.MetadataKey]);
        services.AddOptions<FileSystemStorageOptions>().Configure<IOptions<ServeSettings>>((o, s) => o.RootPath = s.Value.Data);
        services.AddOptions<SqliteMetadataOptions>().Configure<IOptions<ServeSettings>>((o, s) => o.DatabasePath = Path.Combine(s.Value.Data, "berth.db"));
        storage.Register(services, builder.Configuration);
        metadata.Register(services, builder.Configuration);
        services.AddOptions<RegistryTokenOptions>().PostConfigure<IOptions<ServeSettings>>((o, s) =>
        {
            if (string.IsNullOrEmpty(o.KeyFolder))
            {
                o.KeyFolder = Path.Combine(s.Value.Data, "keys");
            }
        });

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            // Small bodies only; blob uploads and manifest PUTs raise their own limit once authorized (RequestBodyLimits).
            kestrel.Limits.MaxRequestBodySize = RequestBodyLimits.DefaultMaxBytes;

            // Let up to 1 MiB of a response be in flight per connection before the writer waits for the socket
            // (default 64 KiB): large blob pulls then make fewer, larger sends and fewer wake-ups.
            kestrel.Limits.MaxResponseBufferSize = 1024 * 1024;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(30));
            var serve = context.Configuration.GetSection(RegistryOptions.Section).Get<ServeSettings>() ?? new ServeSettings();
            foreach (var listen in ParseListen(serve.Listen))
            {
                kestrel.Listen(listen.Address, listen.Port, endpoint =>
                {
                    endpoint.Protocols = HttpProtocols.Http1;
                    if (!listen.Https && serve.SendFile && OperatingSystem.IsLinux())
                    {
                        endpoint.UseFileSend();
                    }

                    if (listen.Https)
                    {
                        endpoint.Protocols = HttpProtocols.Http1AndHttp2;
                        endpoint.UseHttps(ServerStartup.LoadCertificate(serve));
                    }
                });
            }
        });

        // Kestrel's endpoints (and so the TLS files) are configured while the application is built: check them first.
        ServerStartup.CheckTls(builder.Configuration.GetSection(RegistryOptions.Section).Get<ServeSettings>() ?? new ServeSettings());
        var app = builder.Build();
        app.UseBerthApi();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Berth");
            var serve = app.Services.GetRequiredService<IOptions<ServeSettings>>().Value;
            LogStarted(logger, string.Join(", ", ParseListen(serve.Listen).Select(l => l.Display)), Path.GetFullPath(serve.Data), storage.Provider.Type, metadata.Provider.Type);
        });
        return app;
    }

    internal sealed record ListenAddress(string Url, IPAddress Address, int Port, bool Https)
    {
        /// <summary>The address as listened on: <c>http://[::]:5000</c> (IPv6 and IPv4), <c>https://127.0.0.1:5443</c>.</summary>
        public string Display => $"{(Https ? "https" : "http")}://{(Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{Port}"
            + (Address.Equals(IPAddress.IPv6Any) ? " (every IPv6 and IPv4 address)" : string.Empty);
    }

    /// <summary>
    /// Parses <c>--listen</c>. <c>*</c> and <c>+</c> mean every address: <c>[::]</c>, which Kestrel opens dual-stack
    /// (IPv6 and IPv4), or <c>0.0.0.0</c> when the host has no IPv6 (<paramref name="ipv6"/>, default: whether the
    /// operating system supports it).
    /// </summary>
    internal static IReadOnlyList<ListenAddress> ParseListen(string value, bool? ipv6 = null)
    {
        var any = (ipv6 ?? System.Net.Sockets.Socket.OSSupportsIPv6) ? "[::]" : "0.0.0.0";
        var list = new List<ListenAddress>();
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var text = raw.Replace("://*:", $"://{any}:", StringComparison.Ordinal).Replace("://+:", $"://{any}:", StringComparison.Ordinal);
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.AbsolutePath != "/")
            {
                throw new CommandLineException($"listen address '{raw}' must look like http://HOST:PORT or https://HOST:PORT");
            }

            IPAddress address;
            if (uri.Host is "localhost")
            {
                address = IPAddress.Loopback;
            }
            else if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out address!))
            {
                throw new CommandLineException($"listen address '{raw}': use an IP address (* for every address, 0.0.0.0 for every IPv4 one, [::] for IPv6 and IPv4) or localhost");
            }

            list.Add(new ListenAddress(raw, address, uri.Port, uri.Scheme == "https"));
        }

        if (list.Count == 0)
        {
            throw new CommandLineException("no listen address given");
        }

        return list;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Berth registry listening on {Listen}; data folder {Data} (storage {Storage}, metadata {Metadata})")]
    private static partial void LogStarted(ILogger logger, string listen, string data, string storage, string metadata);
}
