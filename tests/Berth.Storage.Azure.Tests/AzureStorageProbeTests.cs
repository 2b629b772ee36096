using System.Diagnostics;
using Berth.Testing.Servers;
using Microsoft.Extensions.Options;

namespace Berth.Storage.Azure.Tests;

/// <summary>The start-up and <c>/readyz</c> check: one line for each way the account can be unusable, never the key.</summary>
[RequiresServer("Azurite", "BERTH_TEST_AZURITE", "127.0.0.1:10000")]
public sealed class AzureStorageProbeTests(AzuriteContainer azurite) : IClassFixture<AzuriteContainer>
{
    private static readonly string WrongKey = Convert.ToBase64String(new byte[64]);

    [Fact]
    public async Task Probe_ContainerExistsAndKeyAccepted_IsNullAndLeavesNothingBehind()
    {
        var prefix = "probe" + Guid.NewGuid().ToString("N")[..8];
        var probe = new AzureStorageProbe(Options.Create(azurite.Options(prefix)));

        Assert.Null(await probe.ProbeAsync(CancellationToken.None));
        Assert.Null(await probe.ProbeAsync(CancellationToken.None));

        Assert.Equal("--storage", probe.Setting);
        Assert.Empty(await azurite.NamesAsync(prefix + "/"));
    }

    [Fact]
    public async Task Probe_MissingContainer_SaysSoWithTheEndpoint()
    {
        var options = azurite.Options("p");
        options.Container = "berth-missing-" + Guid.NewGuid().ToString("N")[..8];

        var message = await new AzureStorageProbe(Options.Create(options)).ProbeAsync(CancellationToken.None);

        Assert.Equal($"azure: container '{options.Container}' does not exist at http://{AzuriteContainer.Endpoint}/devstoreaccount1", message);
    }

    [Fact]
    public async Task Probe_WrongKey_SaysTheCredentialsWereRefused_WithoutTheKey()
    {
        var options = azurite.Options("p");
        options.ConnectionString = AzuriteContainer.ConnectionString(key: WrongKey);

        var message = await new AzureStorageProbe(Options.Create(options)).ProbeAsync(CancellationToken.None);

        Assert.NotNull(message);
        Assert.StartsWith($"azure: http://{AzuriteContainer.Endpoint}/devstoreaccount1/{azurite.Name} refused the credentials of the connection string (403 ", message, StringComparison.Ordinal);
        AssertOneLineWithoutSecrets(message);
    }

    [Fact]
    public async Task Probe_UnreachableEndpoint_SaysSoWithinTheTimeout()
    {
        var options = azurite.Options("p");
        options.ConnectionString = AzuriteContainer.ConnectionString(endpoint: "127.0.0.1:1");
        var clock = Stopwatch.StartNew();

        var message = await new AzureStorageProbe(Options.Create(options)).ProbeAsync(CancellationToken.None);

        Assert.NotNull(message);
        Assert.StartsWith("azure: cannot reach http://127.0.0.1:1/devstoreaccount1/", message, StringComparison.Ordinal);
        Assert.Contains("refused", message, StringComparison.OrdinalIgnoreCase);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(12));
        AssertOneLineWithoutSecrets(message);
    }

    [Fact]
    public async Task Probe_EndpointThatNeverAnswers_GivesUpWithinAboutTenSeconds()
    {
        // The kernel accepts the connection into the backlog; nothing ever reads the request or answers it.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";
        var options = azurite.Options("p");
        options.ConnectionString = AzuriteContainer.ConnectionString(endpoint: endpoint);
        var clock = Stopwatch.StartNew();

        var message = await new AzureStorageProbe(Options.Create(options)).ProbeAsync(CancellationToken.None);

        Assert.Equal($"azure: cannot reach http://{endpoint}/devstoreaccount1/{azurite.Name}: no answer within 10 s", message);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(12));
    }

    [Fact]
    public async Task Probe_InvalidOptions_AnswersTheValidatorsLineInsteadOfThrowing()
    {
        var options = azurite.Options("p");
        options.ConnectionString = "AccountName=x;AccountKey=" + WrongKey + ";nonsense";

        var message = await new AzureStorageProbe(Options.Create(options)).ProbeAsync(CancellationToken.None);

        Assert.NotNull(message);
        Assert.Contains("connection string", message, StringComparison.Ordinal);
        AssertOneLineWithoutSecrets(message);
    }

    private static void AssertOneLineWithoutSecrets(string message)
    {
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain(WrongKey, message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteContainer.AccountKey, message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }
}
