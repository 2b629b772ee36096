using Berth.Metadata.Postgres;
using Berth.Metadata.Sqlite;
using Berth.Storage.Azure;
using Berth.Storage.FileSystem;
using Berth.Storage.S3;

namespace Berth;

/// <summary>What a provider catalog entry is for: where blobs live, or where metadata and access control live.</summary>
public enum ProviderKind
{
    Storage,
    Metadata,
}

/// <summary>
/// The providers this build knows, by type name and URI scheme, and how each registers itself. The composition root
/// (<see cref="BerthServer"/>) picks one of each from <c>Berth:Storage:Type</c> and <c>Berth:Metadata:Type</c>
/// (<c>--storage</c>, <c>--metadata</c>); the functional tests pick theirs through the same catalog. A new provider
/// is one line here and one <c>Add…(IConfiguration)</c> extension in its own project.
/// </summary>
public static class ProviderCatalog
{
    /// <summary>Configuration key of the blob storage provider: a type name (<c>filesystem</c>) or a URI (<c>s3://bucket/prefix</c>).</summary>
    public const string StorageKey = "Berth:Storage:Type";

    /// <summary>Configuration key of the metadata provider: a type name (<c>sqlite</c>) or a URI (<c>postgres://host/db</c>).</summary>
    public const string MetadataKey = "Berth:Metadata:Type";

    /// <summary>One provider: its type name, the URI schemes that select it, and its registration.</summary>
    /// <param name="Register">
    /// Adds the provider's services; its options bind from its own configuration section. The URI is the configuration
    /// value when it was one (<c>s3://bucket/prefix</c>: where the provider stores), else null.
    /// </param>
    /// <param name="RegisterConnectionString">
    /// For a provider that also takes a key=value connection string as the value (<c>Host=…;Database=…</c>): its
    /// registration given that string. Null for the others.
    /// </param>
    public sealed record Provider(ProviderKind Kind, string Type, IReadOnlyList<string> Schemes, Action<IServiceCollection, IConfiguration, Uri?> Register,
        Action<IServiceCollection, IConfiguration, string>? RegisterConnectionString = null);

    /// <summary>A provider as chosen by a configuration value, with the URI or connection string when the value was one.</summary>
    public sealed record Choice(Provider Provider, Uri? Location, string? ConnectionString = null)
    {
        /// <summary>Adds the chosen provider's services.</summary>
        public void Register(IServiceCollection services, IConfiguration configuration)
        {
            if (ConnectionString is not null && Provider.RegisterConnectionString is { } register)
            {
                register(services, configuration, ConnectionString);
            }
            else
            {
                Provider.Register(services, configuration, Location);
            }
        }
    }

    /// <summary>Every provider, the default of each kind first.</summary>
    public static readonly IReadOnlyList<Provider> All =
    [
        new(ProviderKind.Storage, "filesystem", [], (services, configuration, _) => services.AddFileSystemStorage(configuration)),
        new(ProviderKind.Metadata, "sqlite", [], (services, configuration, _) => services.AddSqliteMetadata(configuration)),
        new(ProviderKind.Metadata, "postgres", ["postgres", "postgresql"], (services, configuration, uri) => services.AddPostgresMetadata(configuration, uri),
            (services, configuration, connectionString) => services.AddPostgresMetadata(configuration, null, connectionString)),
        new(ProviderKind.Storage, "s3", ["s3"], (services, configuration, uri) => services.AddS3Storage(configuration, uri)),
        new(ProviderKind.Storage, "azure", ["azure"], (s, c, uri) => s.AddAzureBlobStorage(c, uri)),
    ];

    /// <summary>The option that sets a kind's provider, as errors name it.</summary>
    public static string Flag(ProviderKind kind) => kind == ProviderKind.Storage ? "--storage" : "--metadata";

    /// <summary>
    /// Reads a configuration value as a type name (case-insensitive) or a URI whose scheme names the provider; empty
    /// means the default. False with one line in <paramref name="error"/> for anything else, never a fallback.
    /// </summary>
    public static bool TryResolve(ProviderKind kind, string? value, out Choice choice, out string error)
    {
        var providers = All.Where(p => p.Kind == kind).ToList();
        var name = kind == ProviderKind.Storage ? "storage" : "metadata";
        var known = string.Join(", ", providers.Select(p => p.Type).Concat(providers.SelectMany(p => p.Schemes.Select(s => s + "://…"))));
        choice = null!;
        error = string.Empty;
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            choice = new Choice(providers[0], null);
            return true;
        }

        // The value is echoed in the error: control characters (a pasted newline) would break its one line.
        var shown = HidePassword(string.Concat(text.Select(c => char.IsControl(c) ? '?' : c)));
        if (PostgresConnectionStrings.LooksLikeConnectionString(text))
        {
            // Host=…;Database=…: a connection string for the provider that takes one; never echoed (it may hold a password).
            var taker = providers.FirstOrDefault(p => p.RegisterConnectionString is not null);
            if (taker is null)
            {
                error = $"{Flag(kind)}: a key=value connection string, but no {name} provider takes one (known: {known})";
                return false;
            }

            choice = new Choice(taker, null, text);
            return true;
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            {
                error = $"{Flag(kind)} {shown}: not a {name} type or a URI (known: {known})";
                return false;
            }

            var byScheme = providers.FirstOrDefault(p => p.Schemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase));
            if (byScheme is null)
            {
                error = $"{Flag(kind)} {shown}: no {name} provider for {uri.Scheme}:// URIs in this build (known: {known})";
                return false;
            }

            choice = new Choice(byScheme, uri);
            return true;
        }

        var byType = providers.FirstOrDefault(p => string.Equals(p.Type, text, StringComparison.OrdinalIgnoreCase));
        if (byType is null)
        {
            error = $"{Flag(kind)} {shown}: unknown {name} type (known: {known})";
            return false;
        }

        choice = new Choice(byType, null);
        return true;
    }

    /// <summary><c>scheme://user:secret@host/…</c> as <c>scheme://user:***@host/…</c>: an error line must not print a password.</summary>
    internal static string HidePassword(string value)
    {
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return value;
        }

        var start = scheme + 3;
        var end = value.IndexOfAny(['/', '?', '#'], start);
        var authority = end < 0 ? value[start..] : value[start..end];
        var at = authority.LastIndexOf('@');
        var colon = at < 0 ? -1 : authority.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 || colon > at ? value : value[..(start + colon + 1)] + "***" + value[(start + at)..];
    }

    /// <summary><see cref="TryResolve"/> for the server.</summary>
    /// <exception cref="CommandLineException">The value names no provider (exit code 2).</exception>
    internal static Choice Resolve(ProviderKind kind, string? value) =>
        TryResolve(kind, value, out var choice, out var error) ? choice : throw new CommandLineException(error);
}
