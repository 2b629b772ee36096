using System.Runtime.CompilerServices;
using Berth.Core.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Testing;

/// <summary>
/// The whole server in memory (TestServer) on a fresh temporary data folder, with a controllable clock.
/// Dispose to delete the folder.
/// </summary>
public sealed class BerthApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private bool _started;

    public BerthApplication(IDictionary<string, string?>? settings = null, string? dataPath = null)
    {
        DataPath = dataPath ?? Path.Combine(Path.GetTempPath(), "berth-test-" + Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Berth:Data"] = DataPath,
            ["Berth:AdminPassword"] = AdminPassword,
            ["Berth:AutoCreateProjects"] = "true",
            ["Berth:Auth:Passwords:Iterations"] = "1000", // PBKDF2 work kept small in tests; the default is 600,000

            // No storage reserve unless a test asks for one: the default (at least 1 GiB) would refuse every upload of
            // every functional test on a CI machine whose disk is nearly full.
            ["Berth:Storage:FileSystem:ReserveBytes"] = "0",
        };
        foreach (var (key, value) in ProviderSettings(Environment.GetEnvironmentVariable))
        {
            _settings[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        Storage = _settings.GetValueOrDefault(ProviderCatalog.StorageKey) ?? DefaultStorage;
        Metadata = _settings.GetValueOrDefault(ProviderCatalog.MetadataKey) ?? DefaultMetadata;

        // "postgres" without a connection, "s3" without a bucket: a schema and a key prefix of this data folder in the
        // test process's database and bucket on the test servers (tests/servers/up.sh), so every test server starts
        // empty as it does on the defaults, and a second server on the same folder shares them.
        _sharedPostgres = string.Equals(Metadata, "postgres", StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(_settings.GetValueOrDefault("Berth:Metadata:Postgres:ConnectionString"));
        _sharedS3 = string.Equals(Storage, "s3", StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(_settings.GetValueOrDefault("Berth:Storage:S3:Bucket"));
        if (_sharedPostgres || _sharedS3)
        {
            foreach (var (key, value) in SharedTestBackends.Acquire(DataPath, _sharedPostgres, _sharedS3))
            {
                _settings[key] = value;
            }
        }
    }

    private readonly bool _sharedPostgres;
    private readonly bool _sharedS3;

    /// <summary>Environment variable choosing the blob storage provider of every functional test server: a type or URI as <c>--storage</c> takes it; unset: <c>filesystem</c> in the temporary data folder.</summary>
    public const string StorageEnvironment = "BERTH_TEST_STORAGE";

    /// <summary>Environment variable choosing the metadata provider of every functional test server: a type or URI as <c>--metadata</c> takes it; unset: <c>sqlite</c> in the temporary data folder.</summary>
    public const string MetadataEnvironment = "BERTH_TEST_METADATA";

    private const string DefaultStorage = "filesystem";
    private const string DefaultMetadata = "sqlite";

    /// <summary>The storage provider this server runs on (<see cref="StorageEnvironment"/>, or a test's own setting).</summary>
    public string Storage { get; }

    /// <summary>The metadata provider this server runs on (<see cref="MetadataEnvironment"/>, or a test's own setting).</summary>
    public string Metadata { get; }

    /// <summary>
    /// The provider settings <see cref="StorageEnvironment"/> and <see cref="MetadataEnvironment"/> ask for, checked
    /// through the server's own <see cref="ProviderCatalog"/>: an unknown value stops the test run with one line naming
    /// the variable, never a silent fall-back to the defaults.
    /// </summary>
    /// <exception cref="InvalidOperationException">A variable names no provider of this build.</exception>
    public static IReadOnlyDictionary<string, string?> ProviderSettings(Func<string, string?> getEnvironment)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, kind, key) in new[]
        {
            (StorageEnvironment, ProviderKind.Storage, ProviderCatalog.StorageKey),
            (MetadataEnvironment, ProviderKind.Metadata, ProviderCatalog.MetadataKey),
        })
        {
            var value = getEnvironment(variable);
            if (value is null)
            {
                continue;
            }

            if (!ProviderCatalog.TryResolve(kind, value, out var choice, out var error))
            {
                throw new InvalidOperationException($"{variable}={value}: {error}");
            }

            result[key] = choice.Location?.OriginalString ?? choice.ConnectionString ?? choice.Provider.Type;
        }

        return result;
    }

    /// <summary>
    /// Runs <paramref name="sql"/> in this server's metadata database, whichever provider it runs on (SQLite or
    /// PostgreSQL), and answers the first column of the first row: for tests that look behind the API. Write the SQL
    /// both dialects take, with parameters as <c>@name</c> (named with the <c>@</c> in <paramref name="args"/>).
    /// </summary>
    public async Task<object?> QueryScalarAsync(string sql, params (string Name, object? Value)[] args)
    {
        if (Services.GetService<Berth.Metadata.Sqlite.SqliteDatabase>() is { } sqlite)
        {
            return await sqlite.WriteAsync((c, _) =>
            {
                var value = c.Command(sql, args).ExecuteScalar();
                return (value is DBNull ? null : value, false);
            }, CancellationToken.None);
        }

        return await Services.GetRequiredService<Berth.Metadata.Postgres.PostgresDatabase>().ReadAsync(async (c, ct) =>
        {
            await using var command = Berth.Metadata.Postgres.PostgresDatabase.Command(c, sql, args);
            var value = await command.ExecuteScalarAsync(ct);
            return value is DBNull ? null : value;
        }, CancellationToken.None);
    }

    /// <summary>Runs <paramref name="sql"/> once per row of arguments in one transaction of the metadata database (as <see cref="QueryScalarAsync"/>): bulk set-up straight into the tables.</summary>
    public async Task ExecuteManyAsync(string sql, IEnumerable<(string Name, object? Value)[]> rows)
    {
        if (Services.GetService<Berth.Metadata.Sqlite.SqliteDatabase>() is { } sqlite)
        {
            await sqlite.WriteAsync((c, _) =>
            {
                foreach (var args in rows)
                {
                    c.Command(sql, args).ExecuteNonQuery();
                }

                return (true, true);
            }, CancellationToken.None);
            return;
        }

        await Services.GetRequiredService<Berth.Metadata.Postgres.PostgresDatabase>().WriteAsync(async (c, tx, ct) =>
        {
            foreach (var args in rows)
            {
                await using var command = Berth.Metadata.Postgres.PostgresDatabase.Command(c, sql, args);
                command.Transaction = tx;
                await command.ExecuteNonQueryAsync(ct);
            }

            return (true, true);
        }, CancellationToken.None);
    }

    /// <summary>User name of the administrator the server creates on first start.</summary>
    public const string AdminUser = "admin";

    /// <summary>Its password (setting <c>Berth:AdminPassword</c>, as <c>BERTH_ADMIN_PASSWORD</c> sets it).</summary>
    public const string AdminPassword = "test-admin-password";

    /// <summary>
    /// Credentials <see cref="WebApplicationFactory{TEntryPoint}.CreateClient()"/> sends as Basic auth; by default the
    /// administrator, so tests of the registry itself run with every permission (projects are auto-created on push).
    /// Null: clients are anonymous.
    /// </summary>
    public (string User, string Secret)? DefaultCredentials { get; init; } = (AdminUser, AdminPassword);

    /// <summary>A client without credentials.</summary>
    public HttpClient CreateAnonymousClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = null;
        return client;
    }

    /// <summary>A client that sends Basic auth with <paramref name="user"/> and <paramref name="secret"/> (a password or an access token).</summary>
    public HttpClient CreateClient(string user, string secret)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = Basic(user, secret);
        return client;
    }

    /// <summary>The Basic <c>Authorization</c> header value for the credentials.</summary>
    public static System.Net.Http.Headers.AuthenticationHeaderValue Basic(string user, string secret) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + secret)));

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        if (DefaultCredentials is { } credentials)
        {
            client.DefaultRequestHeaders.Authorization = Basic(credentials.User, credentials.Secret);
        }
    }

    /// <summary>The temporary data folder (blobs, uploads, berth.db).</summary>
    public string DataPath { get; }

    /// <summary>The clock every service sees; starts at 2026-01-01T00:00:00Z and moves only when told.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Replaces services after the server registered its own (e.g. an <c>IRegistryAuthorizer</c>); set before first use.</summary>
    public Action<IServiceCollection>? ConfigureTestServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Clock);
            services.AddSingleton<IStartupFilter>(new ClientAddressFilter());
            services.AddSingleton<IStartupFilter>(new BodyProbeFilter(_bodyProbes));
        });
        if (ConfigureTestServices is { } configure)
        {
            builder.ConfigureTestServices(configure);
        }
    }

    /// <summary>
    /// Request header that sets the client's address in tests (the in-memory server has no sockets); without it a
    /// request comes from 127.0.0.1.
    /// </summary>
    public const string ClientAddressHeader = "X-Test-Client-Address";

    /// <summary>A client whose requests come from <paramref name="address"/>, with the default credentials.</summary>
    public HttpClient CreateClientFrom(string address)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add(ClientAddressHeader, address);
        return client;
    }

    /// <summary>
    /// Request header naming a probe: the server counts the bytes it reads of that request's body, as
    /// <see cref="BodyBytesRead"/> reports them. (The in-memory transport takes a client's whole body whether or not
    /// the server reads it, so only the server side can tell.)
    /// </summary>
    public const string BodyProbeHeader = "X-Test-Body-Probe";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StrongBox<long>> _bodyProbes = new(StringComparer.Ordinal);

    /// <summary>Bytes the server read of the bodies of requests sent with <see cref="BodyProbeHeader"/> <paramref name="probe"/>.</summary>
    public long BodyBytesRead(string probe) => _bodyProbes.TryGetValue(probe, out var count) ? Interlocked.Read(ref count.Value) : 0;

    private sealed class BodyProbeFilter(System.Collections.Concurrent.ConcurrentDictionary<string, StrongBox<long>> probes) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (context.Request.Headers.TryGetValue(BodyProbeHeader, out var probe))
                {
                    context.Request.Body = new CountingReadStream(context.Request.Body, probes.GetOrAdd(probe.ToString(), _ => new StrongBox<long>()));
                }

                return following(context);
            });
            next(app);
        };
    }

    private sealed class CountingReadStream(Stream inner, StrongBox<long> count) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            Interlocked.Add(ref count.Value, read);
            return read;
        }
    }

    private sealed class ClientAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(
                    context.Request.Headers.TryGetValue(ClientAddressHeader, out var value) ? value.ToString() : "127.0.0.1");
                return following(context);
            });
            next(app);
        };
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        _started = true;
        return host;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _started)
        {
            _started = false; // the base class calls back into Dispose(true) from DisposeAsync
            // With minimal hosting the host is stopped twice at once (by this factory and by the program's own RunAsync,
            // which then disposes the services). Write pending pull times now, so shutdown has nothing left to write.
            Services.GetRequiredService<PullRecorder>().FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
            Services.GetRequiredService<Berth.Application.Audit.AuditRecorder>().FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(DataPath, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
            }

            if (_sharedPostgres || _sharedS3)
            {
                SharedTestBackends.Release(DataPath, _sharedPostgres, _sharedS3);
            }
        }
    }
}
