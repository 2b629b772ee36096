using System.Diagnostics;
using System.Security.Cryptography;
using Berth.Testing.Servers;

namespace Berth.Storage.S3.Tests;

/// <summary>The start-up and <c>/readyz</c> check: one line for each way the bucket can be out of reach, never a secret.</summary>
[RequiresServer("S3 (radosgw)", "BERTH_TEST_S3", "127.0.0.1:7480")]
public sealed class S3StorageProbeTests(S3TestBucket bucket) : IClassFixture<S3TestBucket>, IAsyncLifetime
{
    private readonly string _prefix = "probe/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public Task InitializeAsync() => bucket.EnsureCreatedAsync();

    public Task DisposeAsync() => bucket.DeleteAllAsync(_prefix + "/");

    private async Task<string?> ProbeAsync(Action<S3StorageOptions>? configure = null)
    {
        var options = bucket.Options(_prefix);
        configure?.Invoke(options);
        using var s3 = new S3Bucket(S3Bucket.CreateClient(options), options, ownsClient: true);
        var probe = new S3StorageProbe(s3);
        Assert.Equal("--storage", probe.Setting);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var message = await probe.ProbeAsync(timeout.Token);
        if (message is not null)
        {
            Assert.DoesNotContain('\n', message);
            Assert.DoesNotContain(options.SecretAccessKey ?? "-", message, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
        }

        return message;
    }

    [Fact]
    public async Task Probe_BucketThereAndWritable_IsNullAndLeavesNothingBehind()
    {
        Assert.Null(await ProbeAsync());

        Assert.Empty(await bucket.KeysAsync(_prefix + "/"));
    }

    [Fact]
    public async Task Probe_MissingBucket_SaysItDoesNotExist()
    {
        var message = await ProbeAsync(o => o.Bucket = "berth-missing-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));

        Assert.Matches($"^bucket 'berth-missing-[0-9a-f]+' at {S3TestBucket.Endpoint} does not exist$", message);
    }

    [Fact]
    public async Task Probe_WrongSecret_SaysTheCredentialsAreRefused()
    {
        var message = await ProbeAsync(o => o.SecretAccessKey = "not-the-secret-key");

        Assert.StartsWith($"the credentials are refused by bucket '{bucket.Name}' at {S3TestBucket.Endpoint}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_UnknownKey_SaysTheCredentialsAreRefused()
    {
        var message = await ProbeAsync(o => o.AccessKeyId = "NOSUCHKEY");

        Assert.StartsWith($"the credentials are refused by bucket '{bucket.Name}' at {S3TestBucket.Endpoint}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_NothingListensAtTheEndpoint_SaysItDoesNotAnswer_Quickly()
    {
        var watch = Stopwatch.StartNew();

        var message = await ProbeAsync(o => o.Endpoint = "http://127.0.0.1:1");

        Assert.StartsWith("the S3 endpoint http://127.0.0.1:1 does not answer (", message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }
}
