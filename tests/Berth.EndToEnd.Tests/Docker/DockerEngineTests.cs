namespace Berth.EndToEnd.Tests.Docker;

/// <summary>The throw-away engine itself: a daemon that cannot start is a failure with its reason, and leaves nothing behind.</summary>
public sealed class DockerEngineTests
{
    [Fact]
    public async Task StartAsync_DaemonCannotStart_FailsWithItsLogAndRemovesItsFolder()
    {
        var before = Directory.GetDirectories("/tmp", "berth-dockerd-broken-*");

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => DockerEngine.StartAsync("broken", storageDriver: "no-such-driver"));

        Assert.Contains("dockerd (broken) exited", failure.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-driver", failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetDirectories("/tmp", "berth-dockerd-broken-*"));
    }
}
