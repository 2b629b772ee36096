using System.Data.Common;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Berth.Api.Access;
using Berth.Application.Access;
using Berth.Auth.Jwt;
using Berth.Auth.Network;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Core.Access;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Berth;

/// <summary>
/// Starts <c>berth serve</c> so that whatever stops it is one line naming the setting and the cause, with exit code 1,
/// never a stack trace: the listen addresses and TLS files are checked, the data folder prepared and the stores opened
/// before the host starts, and what still fails while it starts (a port in use, a refused administrator password) is
/// put in words. The host's own error log of a failed start (a stack trace) is held back meanwhile.
/// </summary>
internal static partial class ServerStartup
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private static volatile bool s_starting;

    /// <summary>
    /// While <see cref="RunAsync"/> starts the host, the host's "Hosting failed to start" error (the exception with its
    /// stack trace) is not logged: <see cref="RunAsync"/> reports the same failure as one line. Warnings and errors of
    /// the host are logged as before at every other time.
    /// </summary>
    public static void QuietHostErrorsWhileStarting(ILoggingBuilder logging) =>
        logging.AddFilter(HostCategory, level => level >= LogLevel.Warning && !(s_starting && level >= LogLevel.Error));

    /// <summary>
    /// <c>berth serve</c>: builds the server from <paramref name="settings"/> and runs it (<see cref="RunAsync"/>): 0
    /// once stopped, or 1 after one line on <paramref name="error"/>. <paramref name="built"/> sees the server before it
    /// starts (tests).
    /// </summary>
    public static async Task<int> ServeAsync(IDictionary<string, string?> settings, TextWriter error, Action<WebApplication>? built = null)
    {
        WebApplication app;
        try
        {
            app = BerthServer.Build(settings);
        }
        catch (StartupException ex)
        {
            // TLS files are read while the server is built (Kestrel's endpoints are configured then).
            await error.WriteLineAsync($"berth: {OneLine(ex.Message)}");
            return 1;
        }
        catch (InvalidOperationException ex) when (ConfigurationKey().IsMatch(ex.Message))
        {
            // A raw configuration value (--Berth:SendFile=maybe) that does not bind, read for TLS while building.
            await error.WriteLineAsync($"berth: {OneLine(Explain(ex, null))}");
            return 1;
        }

        await using (app)
        {
            built?.Invoke(app);
            return await RunAsync(app, error);
        }
    }

    /// <summary>Checks, opens and starts the server, then runs it until it is stopped: 0, or 1 after one line on <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(WebApplication app, TextWriter error)
    {
        ServeSettings? serve = null;
        try
        {
            serve = ReadOptions<ServeSettings>(app.Services);
            Check(app.Services, serve);
            s_starting = true;
            try
            {
                await app.StartAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new StartupException(Explain(ex, serve), ex);
            }
            finally
            {
                s_starting = false;
            }
        }
        catch (StartupException ex)
        {
            await error.WriteLineAsync($"berth: {OneLine(ex.Message)}");
            if (ex.InnerException is { } inner && IsDebugLogging(app.Configuration))
            {
                await error.WriteLineAsync(inner.ToString());
            }

            return 1;
        }

        try
        {
            await app.WaitForShutdownAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A service that failed to stop (its last write refused by a full disk, say): one line and exit code 1, never
            // an unhandled exception, which the runtime ends with SIGABRT.
            await error.WriteLineAsync($"berth: stopping: {OneLine(ex is AggregateException { InnerExceptions.Count: > 0 } all ? all.InnerExceptions[0].Message : ex.Message)}");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// Everything that can be found wrong before the host starts (TLS was checked while it was built): the data folder, the
    /// settings bound to options, and the stores (the database opened and migrated, the key ring read).
    /// </summary>
    /// <exception cref="StartupException">What is wrong, in one line.</exception>
    internal static void Check(IServiceProvider services, ServeSettings serve)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Berth");
        var data = DataFolder.Prepare(serve.Data, logger);

        // Settings bound to options fail only when first read (a value too large for its type, say): read them now.
        ReadOptions<Core.RegistryOptions>(services);
        ReadOptions<AccessSettings>(services);
        ReadOptions<RegistryTokenOptions>(services);
        ValidateProviderOptions(services);
        try
        {
            services.GetRequiredService<ClientAddressResolver>();
        }
        catch (FormatException ex)
        {
            throw new StartupException($"--trusted-proxies: {ex.Message}", ex);
        }

        OpenStores(services, data);
    }

    /// <summary>
    /// Migrates the metadata store (the one place that does, also for <c>berth admin</c>), then resolves the stores,
    /// so the database is opened, the blob folders created and the signing keys read now, with each failure named
    /// after its setting.
    /// </summary>
    /// <exception cref="StartupException">A store could not be opened.</exception>
    internal static void OpenStores(IServiceProvider services, string data)
    {
        try
        {
            services.GetRequiredService<IMetadataMigrator>().Migrate();
            services.GetRequiredService<IRepositoryIndex>();
            services.GetRequiredService<IProjectStore>();
            services.GetRequiredService<IBlobStore>();
        }
        catch (StartupException ex)
        {
            // A provider that names its own setting (--metadata postgres://…) is not about the data folder.
            throw ex.Message.StartsWith("--", StringComparison.Ordinal) ? ex : new StartupException($"--data {data}: {ex.Message}", ex);
        }
        catch (DbException ex)
        {
            throw new StartupException($"--data {data}: cannot open berth.db: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"--data {data}: {ex.Message}", ex);
        }

        ProbeProviders(services);

        var keys = services.GetRequiredService<IOptions<RegistryTokenOptions>>().Value.KeyFolder;
        try
        {
            services.GetRequiredService<SigningKeyRing>();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new StartupException($"--token-key-dir {keys}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Asks every provider's <see cref="IProviderProbe"/> whether its service answers and is usable (the bucket exists,
    /// the keys are accepted), as <c>/readyz</c> does: the first failure stops the start with its one line.
    /// </summary>
    /// <exception cref="StartupException">A probe failed.</exception>
    internal static void ProbeProviders(IServiceProvider services)
    {
        foreach (var probe in services.GetServices<IProviderProbe>())
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? failure;
            try
            {
                failure = probe.ProbeAsync(timeout.Token).WaitAsync(timeout.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                failure = "no answer within 30 s";
            }

            if (failure is not null)
            {
                throw new StartupException(failure.StartsWith(probe.Setting, StringComparison.Ordinal) ? failure : $"{probe.Setting}: {failure}");
            }
        }
    }

    /// <summary>
    /// TLS is all or nothing: an <c>https://</c> listener needs <c>--tls-cert</c> and <c>--tls-key</c>, and they are
    /// refused without one (they would be silently ignored). The files must hold a certificate and its private key.
    /// </summary>
    /// <exception cref="StartupException">The combination or the files are wrong.</exception>
    internal static void CheckTls(ServeSettings serve)
    {
        var listens = BerthServer.ParseListen(serve.Listen);
        var https = listens.FirstOrDefault(l => l.Https);
        var cert = !string.IsNullOrEmpty(serve.TlsCertificate);
        var key = !string.IsNullOrEmpty(serve.TlsKey);
        if (https is null)
        {
            if (cert || key)
            {
                throw new StartupException(
                    $"{(cert ? "--tls-cert" : "--tls-key")} is given but no --listen address is https:// ({serve.Listen}): add one (e.g. --listen http://*:5000,https://*:5443) or leave TLS out");
            }

            return;
        }

        if (!cert || !key)
        {
            throw new StartupException($"--listen {https.Url} is https: it needs {(cert ? "--tls-key" : key ? "--tls-cert" : "--tls-cert and --tls-key")} (PEM files)");
        }

        LoadCertificate(serve).Dispose();
    }

    /// <summary>The certificate chain and key of <c>--tls-cert</c> and <c>--tls-key</c>.</summary>
    /// <exception cref="StartupException">A file is missing, unreadable, or does not hold what it should.</exception>
    internal static X509Certificate2 LoadCertificate(ServeSettings serve)
    {
        var certPath = serve.TlsCertificate ?? throw new StartupException("--tls-cert is missing");
        var keyPath = serve.TlsKey ?? throw new StartupException("--tls-key is missing");
        var certText = ReadTlsFile("--tls-cert", certPath);
        var keyText = ReadTlsFile("--tls-key", keyPath);
        try
        {
            using var alone = X509Certificate2.CreateFromPem(certText);
        }
        catch (CryptographicException ex)
        {
            throw new StartupException($"--tls-cert {certPath}: not a certificate in PEM form ({ex.Message})", ex);
        }

        try
        {
            return X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new StartupException($"--tls-key {keyPath}: not the private key of the certificate in {certPath}, in PEM form ({ex.Message})", ex);
        }
    }

    private static string ReadTlsFile(string flag, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StartupException($"{flag} {path}: no such file", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"{flag} {path}: cannot be read ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Runs the options validation the providers asked for (<c>ValidateOnStart</c>) now, so that a bad provider setting
    /// is one line before the host starts: each provider's validator words its own failure.
    /// </summary>
    /// <exception cref="StartupException">A provider's options are invalid.</exception>
    internal static void ValidateProviderOptions(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException ex)
        {
            throw new StartupException(string.Join("; ", ex.Failures), ex);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            throw new StartupException(string.Join("; ", ex.InnerExceptions.SelectMany(e => ((OptionsValidationException)e).Failures)), ex);
        }
    }

    private static T ReadOptions<T>(IServiceProvider services)
        where T : class
    {
        try
        {
            return services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (InvalidOperationException ex)
        {
            throw new StartupException(Explain(ex, null), ex);
        }
    }

    /// <summary>One line for what stopped the start: the setting concerned when it can be told, and the cause.</summary>
    internal static string Explain(Exception exception, ServeSettings? serve)
    {
        var ex = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        if (ex is StartupException)
        {
            return ex.Message;
        }

        if ((ex is IOException && ex.InnerException is AddressInUseException or SocketException) || ex is SocketException)
        {
            var url = KestrelAddress().Match(ex.Message) is { Success: true } match ? match.Groups[1].Value : serve?.Listen ?? "?";
            var socket = ex as SocketException ?? ex.InnerException as SocketException ?? ex.InnerException?.InnerException as SocketException;
            var cause = ex.InnerException is AddressInUseException || socket?.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? "the address is already in use (another program listens on that port, or another berth)"
                : socket?.SocketErrorCode switch
                {
                    SocketError.AccessDenied => "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
                    SocketError.AddressNotAvailable => "that address is not one of this machine's",
                    SocketError.AddressFamilyNotSupported => "this machine does not support that address family (IPv6?)",
                    _ => (socket ?? ex.InnerException ?? ex).Message,
                };
            return $"--listen {url}: cannot listen: {cause}";
        }

        if (ex is InvalidOperationException && ConfigurationKey().Match(ex.Message) is { Success: true } key)
        {
            var option = ServeOptions.All.FirstOrDefault(o => string.Equals(o.ConfigKey, key.Groups[1].Value, StringComparison.OrdinalIgnoreCase));
            return $"{option?.Flag ?? key.Groups[1].Value}: not a value this setting can take ({(ex.InnerException ?? ex).Message})";
        }

        return $"could not start: {ex.Message} ({ex.GetType().Name}; --log-level Debug shows where)";
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static bool IsDebugLogging(IConfiguration configuration) =>
        configuration["Logging:LogLevel:Default"] is { } level && (level.Equals("Debug", StringComparison.OrdinalIgnoreCase) || level.Equals("Trace", StringComparison.OrdinalIgnoreCase));

    [GeneratedRegex(@"address (\S+?):? ", RegexOptions.CultureInvariant)]
    private static partial Regex KestrelAddress();

    [GeneratedRegex(@"configuration value (?:'.*' )?at '([^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex ConfigurationKey();
}
