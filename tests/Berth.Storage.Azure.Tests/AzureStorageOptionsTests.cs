using Berth.Core;
using Berth.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure.Tests;

/// <summary>
/// <c>--storage azure://CONTAINER/PREFIX</c> and the <c>Berth:Storage:Azure</c> section as the server binds them, and
/// the validator's one-line answers (no server needed: nothing here touches the network).
/// </summary>
public sealed class AzureStorageOptionsTests
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string Good = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    [Fact]
    public void Add_Uri_SetsContainerAndPrefix_AndConfigurationTheRest()
    {
        var options = Bind("azure://registry/team/prod", new() { ["Berth:Storage:Azure:ConnectionString"] = Good, ["Berth:Storage:Azure:Redirect"] = "true", ["Berth:Storage:Azure:RedirectExpiry"] = "00:05:00" });

        Assert.Equal(("registry", "team/prod", Good, true, TimeSpan.FromMinutes(5)), (options.Container, options.Prefix, options.ConnectionString, options.Redirect, options.RedirectExpiry));
    }

    [Fact]
    public void Add_NoUri_TakesContainerAndPrefixFromConfiguration_RedirectOffAndTwentyMinutesByDefault()
    {
        var options = Bind(null, new() { ["Berth:Storage:Azure:ConnectionString"] = Good, ["Berth:Storage:Azure:Container"] = "blobs", ["Berth:Storage:Azure:Prefix"] = "x" });

        Assert.Equal(("blobs", "x", false, TimeSpan.FromMinutes(20)), (options.Container, options.Prefix, options.Redirect, options.RedirectExpiry));
    }

    [Theory]
    [InlineData("azure://registry", "")]
    [InlineData("azure://registry/", "")]
    [InlineData("azure://registry/a/", "a")]
    [InlineData("azure://registry/a%20b/c", "a b/c")]
    public void Add_UriPrefixForms_AreNormalised(string uri, string prefix)
    {
        Assert.Equal(prefix, Bind(uri, new() { ["Berth:Storage:Azure:ConnectionString"] = Good }).Prefix);
    }

    [Fact]
    public void Add_RegistersTheStoreForBothContractsAndAProbe()
    {
        using var provider = Services("azure://registry/p", new() { ["Berth:Storage:Azure:ConnectionString"] = Good }).BuildServiceProvider();

        var blobs = provider.GetRequiredService<IBlobStore>();
        Assert.IsType<AzureBlobStore>(blobs);
        Assert.Same(blobs, provider.GetRequiredService<IUploadStore>());
        Assert.Equal("--storage", Assert.IsType<AzureStorageProbe>(provider.GetRequiredService<IProviderProbe>()).Setting);
    }

    public static TheoryData<string?, string?, string> Refused => new()
    {
        // uri, connection string, what the one line says
        { "azure://registry/p?endpoint=http://x", Good, "--storage: azure:// URIs take no query parameters (unknown: endpoint)" },
        { "azure://registry/p?foo=1&bar", Good, "(unknown: foo, bar)" },
        { "azure://devstoreaccount1:s3cretkey@registry/p", Good, "take no user, password or port" },
        { "azure://registry:443/p", Good, "take no user, password or port" },
        { "azure://registry/p#x", Good, "take no #fragment" },
        { "azure:///prefix", Good, "no container (--storage azure://CONTAINER/PREFIX" },
        { "azure://Registry/p", Good, "'Registry' is not a container name" },
        { "azure://ab/p", Good, "'ab' is not a container name" },
        { "azure://a--b/p", Good, "'a--b' is not a container name" },
        { "azure://reg_istry/p", Good, "is not a container name" },
        { "azure://registry/a//b", Good, "the prefix 'a//b' has an empty, '.' or '..' segment" },
        { "azure://registry/a/../b", Good, "'..' segment" },
        { null, Good, "no container" },
        { "azure://registry/p", "", "no connection string (set AZURE_STORAGE_CONNECTION_STRING or Berth:Storage:Azure:ConnectionString)" },
        { "azure://registry/p", "AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=not a url", "is malformed" },
        { "azure://registry/p", "this is not a connection string " + Key, "is malformed" },
        { "azure://registry/p", "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=not base64!;BlobEndpoint=http://h/a", "is malformed" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Validate_BadSetting_IsOneLineNamingStorage_WithoutTheKey(string? uri, string? connectionString, string expected)
    {
        var values = new Dictionary<string, string?> { ["Berth:Storage:Azure:ConnectionString"] = connectionString };
        if (uri is null)
        {
            values["Berth:Storage:Azure:Container"] = "";
        }

        var previous = Environment.GetEnvironmentVariable(AzureStorageOptions.ConnectionStringVariable);
        Environment.SetEnvironmentVariable(AzureStorageOptions.ConnectionStringVariable, null);
        try
        {
            var failure = Assert.Single(Assert.Throws<OptionsValidationException>(() => Bind(uri, values)).Failures);

            Assert.StartsWith("storage: azure: ", failure, StringComparison.Ordinal);
            Assert.Contains(expected, failure, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', failure);
            Assert.DoesNotContain(Key, failure, StringComparison.Ordinal);
            Assert.DoesNotContain("not base64", failure, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cret", failure, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AzureStorageOptions.ConnectionStringVariable, previous);
        }
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:01:00")]
    [InlineData("8.00:00:00")]
    public void Validate_RedirectExpiryOutOfRange_IsRefused(string expiry)
    {
        var failure = Assert.Single(Assert.Throws<OptionsValidationException>(() => Bind("azure://registry/p", new()
        {
            ["Berth:Storage:Azure:ConnectionString"] = Good,
            ["Berth:Storage:Azure:RedirectExpiry"] = expiry,
        })).Failures);

        Assert.Equal("storage: azure: Berth:Storage:Azure:RedirectExpiry must be more than zero and at most 7 days", failure);
    }

    [Fact]
    public void Validate_RedirectWithASasConnectionString_IsRefusedForItCannotSign()
    {
        var sas = "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature=sv=2020-08-04&ss=b&srt=sco&sp=rwdl&se=2099-01-01&sig=abc";

        var failure = Assert.Single(Assert.Throws<OptionsValidationException>(() => Bind("azure://registry/p", new()
        {
            ["Berth:Storage:Azure:ConnectionString"] = sas,
            ["Berth:Storage:Azure:Redirect"] = "true",
        })).Failures);

        Assert.Contains("Redirect needs an account key", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SasConnectionStringWithoutRedirect_IsAccepted()
    {
        var sas = "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature=sv=2020-08-04&ss=b&srt=sco&sp=rwdl&se=2099-01-01&sig=abc";

        Assert.Equal(sas, Bind("azure://registry/p", new() { ["Berth:Storage:Azure:ConnectionString"] = sas }).ConnectionString);
    }

    [Fact]
    public void Validate_DevelopmentStorageShortcut_IsAccepted()
    {
        Assert.Equal("registry", Bind("azure://registry", new() { ["Berth:Storage:Azure:ConnectionString"] = "UseDevelopmentStorage=true" }).Container);
    }

    private static AzureStorageOptions Bind(string? uri, Dictionary<string, string?> values)
    {
        using var provider = Services(uri, values).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
    }

    private static ServiceCollection Services(string? uri, Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAzureBlobStorage(configuration, uri is null ? null : new Uri(uri));
        return services;
    }
}
