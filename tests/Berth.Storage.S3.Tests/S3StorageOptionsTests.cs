using Berth.Storage.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Storage.S3.Tests;

/// <summary>
/// How the S3 options are put together (URI over section, environment under both) and the one line each mistake of
/// form gives at start-up. No server needed.
/// </summary>
public sealed class S3StorageOptionsTests
{
    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["Berth:Storage:S3:AccessKeyId"] = "AKIDEXAMPLE",
        ["Berth:Storage:S3:SecretAccessKey"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    };

    private static S3StorageOptions Resolve(string? uri, Dictionary<string, string?>? section = null, Dictionary<string, string>? environment = null)
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(section ?? Keys).Build();
        services.AddS3Storage(configuration, uri is null ? null : new Uri(uri), name => environment?.GetValueOrDefault(name));
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<S3StorageOptions>>().Value;
    }

    private static string Failure(string? uri, Dictionary<string, string?>? section = null, Dictionary<string, string>? environment = null)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(uri, section, environment));
        var failure = Assert.Single(ex.Failures);
        Assert.DoesNotContain('\n', failure);
        Assert.DoesNotContain("wJalrXUtnFEMI", failure, StringComparison.Ordinal);
        return failure;
    }

    [Fact]
    public void Resolve_FullUri_EveryPartIsTaken()
    {
        var options = Resolve("s3://registry/team%20a/images/?endpoint=http://127.0.0.1:7480&region=us-east-1&path-style=true&redirect=true");

        Assert.Equal(
            ("registry", "team a/images", "http://127.0.0.1:7480", "us-east-1", true, true, "team a/images/"),
            (options.Bucket, options.Prefix, options.Endpoint, options.Region, options.PathStyle, options.Redirect, options.KeyPrefix));
        Assert.Equal(TimeSpan.FromMinutes(20), options.RedirectExpiry);
    }

    [Fact]
    public void Resolve_UriAndSection_TheUriWinsForWhatItStatesTheSectionSuppliesTheRest()
    {
        var section = new Dictionary<string, string?>(Keys)
        {
            ["Berth:Storage:S3:Bucket"] = "from-section",
            ["Berth:Storage:S3:Prefix"] = "section-prefix",
            ["Berth:Storage:S3:Endpoint"] = "http://section.example:9000",
            ["Berth:Storage:S3:Region"] = "eu-west-1",
            ["Berth:Storage:S3:PathStyle"] = "true",
            ["Berth:Storage:S3:RedirectExpiry"] = "00:05:00",
        };

        var options = Resolve("s3://from-uri?region=us-east-2", section);

        Assert.Equal(
            ("from-uri", "", "http://section.example:9000", "us-east-2", true, TimeSpan.FromMinutes(5)),
            (options.Bucket, options.Prefix, options.Endpoint, options.Region, options.PathStyle, options.RedirectExpiry));
        Assert.Equal("", options.KeyPrefix);
    }

    [Fact]
    public void Resolve_NoUri_TheSectionAlone()
    {
        var section = new Dictionary<string, string?>(Keys) { ["Berth:Storage:S3:Bucket"] = "only-section", ["Berth:Storage:S3:Region"] = "us-east-1" };

        var options = Resolve(null, section);

        Assert.Equal(("only-section", "us-east-1", "AKIDEXAMPLE"), (options.Bucket, options.Region, options.AccessKeyId));
    }

    [Fact]
    public void Resolve_NoKeysInTheSection_TakesThemAndTheRegionFromTheEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = "env-key",
            ["AWS_SECRET_ACCESS_KEY"] = "env-secret",
            ["AWS_SESSION_TOKEN"] = "env-token",
            ["AWS_REGION"] = "ap-south-1",
        };

        var options = Resolve("s3://bucket-name", [], environment);

        Assert.Equal(("env-key", "env-secret", "env-token", "ap-south-1"), (options.AccessKeyId, options.SecretAccessKey, options.SessionToken, options.Region));
    }

    [Fact]
    public void Resolve_KeysInTheSection_TheEnvironmentsKeysAreIgnored()
    {
        var environment = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "env-key", ["AWS_SECRET_ACCESS_KEY"] = "env-secret" };

        var options = Resolve("s3://bucket-name?region=us-east-1", null, environment);

        Assert.Equal(("AKIDEXAMPLE", null), (options.AccessKeyId, options.SessionToken));
    }

    [Fact]
    public void Resolve_NoKeysAnywhere_IsValid_TheSdkDefaultChainSignsIn()
    {
        var options = Resolve("s3://bucket-name?region=us-east-1", []);

        Assert.Null(options.AccessKeyId);
        Assert.Null(options.SecretAccessKey);
    }

    public static TheoryData<string?, string> BadLocations => new()
    {
        { "s3:///prefix?region=us-east-1", "storage: s3: --storage: the URI names no bucket (s3://BUCKET/PREFIX)" },
        { null, "storage: s3: --storage: no bucket (s3://BUCKET/PREFIX, or Berth:Storage:S3:Bucket)" },
        { "s3://bucket-name/p?region=us-east-1&colour=blue", "storage: s3: --storage: unknown query key 'colour' (known: endpoint, region, path-style, redirect)" },
        { "s3://bucket-name/p?region=us-east-1&path-style=maybe", "storage: s3: --storage: path-style=maybe is not true or false" },
        { "s3://bucket-name/p?region=us-east-1&redirect=2", "storage: s3: --storage: redirect=2 is not true or false" },
        { "s3://AKID:secret@bucket-name/p?region=us-east-1", "storage: s3: --storage: the URI holds credentials; give them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or in Berth:Storage:S3 instead" },
        { "s3://bucket-name/p?region=us-east-1#frag", "storage: s3: --storage: the URI has a #fragment; remove it" },
        { "s3://Bucket_Name/p?region=us-east-1", "storage: s3: --storage: 'Bucket_Name' is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)" },
        { "s3://ab/p?region=us-east-1", "storage: s3: --storage: 'ab' is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)" },
        { "s3://bucket-name/a/../b?region=us-east-1", "storage: s3: --storage: prefix 'a/../b' is not usable (at most 512 characters, no control characters, no . or .. segments)" },
        { "s3://bucket-name/p?region=us-east-1&endpoint=localhost:7480", "storage: s3: --storage: endpoint 'localhost:7480' is not an http:// or https:// URL of a server (scheme, host and port only)" },
        { "s3://bucket-name/p?region=us-east-1&endpoint=ftp://host", "storage: s3: --storage: endpoint 'ftp://host' is not an http:// or https:// URL of a server (scheme, host and port only)" },
        { "s3://bucket-name/p?region=us-east-1&endpoint=http://host:7480/path", "storage: s3: --storage: endpoint 'http://host:7480/path' is not an http:// or https:// URL of a server (scheme, host and port only)" },
        { "s3://bucket-name/p?endpoint=http://127.0.0.1:7480", "storage: s3: --storage: no region (region=R in the URI, Berth:Storage:S3:Region, or AWS_REGION; us-east-1 for most S3-compatible servers)" },
        { "s3://bucket-name/p?region=us east", "storage: s3: --storage: region 'us east' is not a region name" },
    };

    [Theory]
    [MemberData(nameof(BadLocations))]
    public void Validate_MistakeInTheLocation_OneLineNamingStorage(string? uri, string expected)
    {
        Assert.Equal(expected, Failure(uri));
    }

    [Fact]
    public void Validate_OnlyTheKeyId_OneLine()
    {
        var failure = Failure("s3://bucket-name?region=us-east-1", new() { ["Berth:Storage:S3:AccessKeyId"] = "AKIDEXAMPLE" });

        Assert.Equal("storage: s3: --storage: an access key id without a secret access key (set both, or neither: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)", failure);
    }

    [Fact]
    public void Validate_OnlyTheSecretFromTheEnvironment_OneLineWithoutTheSecret()
    {
        var failure = Failure("s3://bucket-name?region=us-east-1", [], new() { ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG" });

        Assert.Equal("storage: s3: --storage: a secret access key without an access key id (set both, or neither: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)", failure);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("8.00:00:00")]
    public void Validate_RedirectExpiryOutOfRange_OneLine(string expiry)
    {
        var section = new Dictionary<string, string?>(Keys) { ["Berth:Storage:S3:RedirectExpiry"] = expiry };

        Assert.StartsWith("storage: s3: --storage: redirect expiry ", Failure("s3://bucket-name?region=us-east-1", section), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_UploadLockLease_DefaultThirtySecondsAndTheSectionSetsIt()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Resolve("s3://bucket-name?region=us-east-1").UploadLockLease);

        var section = new Dictionary<string, string?>(Keys) { ["Berth:Storage:S3:UploadLockLease"] = "00:00:05" };
        Assert.Equal(TimeSpan.FromSeconds(5), Resolve("s3://bucket-name?region=us-east-1", section).UploadLockLease);
    }

    [Theory]
    [InlineData("00:00:01")]
    [InlineData("-00:00:30")]
    [InlineData("01:00:01")]
    public void Validate_UploadLockLeaseOutOfRange_OneLine(string lease)
    {
        var section = new Dictionary<string, string?>(Keys) { ["Berth:Storage:S3:UploadLockLease"] = lease };

        Assert.StartsWith("storage: s3: --storage: upload lock lease ", Failure("s3://bucket-name?region=us-east-1", section), StringComparison.Ordinal);
    }
}
