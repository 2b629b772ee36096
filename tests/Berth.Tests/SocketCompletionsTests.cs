namespace Berth.Tests;

/// <summary>
/// Socket completions run inline only on the embedded default: a provider's network client (Npgsql, the AWS SDK) must
/// not run its continuations on the runtime's socket threads (SocketCompletions' doc comment says why).
/// </summary>
public sealed class SocketCompletionsTests
{
    internal static Dictionary<string, string?> Settings(string? storage, string? metadata)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase) { ["Berth:Data"] = "/tmp/data" };
        if (storage is not null)
        {
            settings[ProviderCatalog.StorageKey] = storage;
        }

        if (metadata is not null)
        {
            settings[ProviderCatalog.MetadataKey] = metadata;
        }

        return settings;
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("filesystem", "sqlite")]
    [InlineData("FileSystem", "SQLite")]
    public void InlineFor_EmbeddedDefault_True(string? storage, string? metadata) =>
        Assert.True(SocketCompletions.InlineFor(Settings(storage, metadata)));

    [Theory]
    [InlineData("s3://bucket/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1", null)]
    [InlineData("s3", "sqlite")]
    [InlineData(null, "postgres://berth@db.example:5432/berth")]
    [InlineData("filesystem", "Host=db.example;Database=berth;Username=berth")]
    [InlineData("s3://bucket", "postgres://berth@db.example/berth")]
    [InlineData("azure://container/prefix", "sqlite")]
    public void InlineFor_ANetworkProvider_False(string? storage, string? metadata) =>
        Assert.False(SocketCompletions.InlineFor(Settings(storage, metadata)));

    [Fact]
    public void InlineFor_AValueNoProviderTakes_False() =>
        Assert.False(SocketCompletions.InlineFor(Settings("ftp://nowhere", null)));

    [Fact]
    public void Apply_EmbeddedDefaultAndNoVariable_SetsItToOne()
    {
        var environment = new Dictionary<string, string>();

        SocketCompletions.Apply(Settings(null, null), name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.Equal("1", Assert.Single(environment, e => e.Key == SocketCompletions.Variable).Value);
    }

    [Fact]
    public void Apply_NetworkProvider_LeavesTheVariableUnset()
    {
        var environment = new Dictionary<string, string>();

        SocketCompletions.Apply(Settings(null, "postgres://berth@db.example/berth"), name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.Empty(environment);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("1", "postgres://berth@db.example/berth")]
    public void Apply_VariableAlreadySet_ExplicitChoiceWins(string explicitValue, string? metadata)
    {
        var environment = new Dictionary<string, string> { [SocketCompletions.Variable] = explicitValue };

        SocketCompletions.Apply(Settings(null, metadata), name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.Equal(explicitValue, environment[SocketCompletions.Variable]);
    }
}

/// <summary>Thread-pool spinning is turned off exactly where socket completions go to the pool (ThreadPoolSpinning says why).</summary>
public sealed class ThreadPoolSpinningTests
{
    [Theory]
    [InlineData("s3://bucket/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1", "postgres://berth@db.example/berth")]
    [InlineData(null, "postgres://berth@db.example:5432/berth")]
    [InlineData("azure://container/prefix", "sqlite")]
    public void NetworkProviders_TurnSpinningOff(string? storage, string? metadata)
    {
        var set = new Dictionary<string, object?>();
        Assert.True(ThreadPoolSpinning.Apply(SocketCompletionsTests.Settings(storage, metadata), _ => null, (k, v) => set[k] = v));
        Assert.Equal(0, set[ThreadPoolSpinning.Switch]);
    }

    [Fact]
    public void EmbeddedDefault_LeavesSpinningAlone()
    {
        var set = new Dictionary<string, object?>();
        Assert.False(ThreadPoolSpinning.Apply(SocketCompletionsTests.Settings(null, null), _ => null, (k, v) => set[k] = v));
        Assert.Empty(set);
    }

    [Fact]
    public void TheEnvironmentWins()
    {
        var set = new Dictionary<string, object?>();
        var environment = new Dictionary<string, string?> { [ThreadPoolSpinning.Variable] = "70" };
        Assert.False(ThreadPoolSpinning.Apply(SocketCompletionsTests.Settings("s3://bucket", "postgres://berth@db/berth"), k => environment.GetValueOrDefault(k), (k, v) => set[k] = v));
        Assert.Empty(set);
    }
}
