using System.Net;
using System.Net.Sockets;
using Berth.Testing.Servers;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.Testing.Servers.Tests;

public sealed class ServerRequirementTests
{
    private static readonly RequiresServerAttribute Postgres = new("PostgreSQL", "BERTH_TEST_POSTGRES_ENDPOINT", "localhost:5432");

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Decide_ReachableServer_Runs()
    {
        var decision = ServerRequirement.Decide(Postgres, Env(("CI", "true")), _ => true);

        Assert.Equal(ServerVerdict.Run, decision.Verdict);
        Assert.Null(decision.Reason);
    }

    [Fact]
    public void Decide_UnreachableOutsideCi_SkipsNamingServerEndpointAndVariable()
    {
        var decision = ServerRequirement.Decide(Postgres, Env(), _ => false);

        Assert.Equal(ServerVerdict.Skip, decision.Verdict);
        Assert.Contains("PostgreSQL", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("localhost:5432", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("BERTH_TEST_POSTGRES_ENDPOINT", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("1")]
    [InlineData("false")] // any value counts: CI providers set it to different things, and skipping in CI is the danger
    public void Decide_UnreachableInCi_Fails(string ci)
    {
        var decision = ServerRequirement.Decide(Postgres, Env(("CI", ci)), _ => false);

        Assert.Equal(ServerVerdict.Fail, decision.Verdict);
        Assert.Contains("CI", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_EndpointVariableSet_ProbesThatEndpointNotTheDefault()
    {
        var probed = new List<string>();

        ServerRequirement.Decide(Postgres, Env(("BERTH_TEST_POSTGRES_ENDPOINT", " db.test:6543 ")), e => { probed.Add(e); return true; });

        Assert.Equal(["db.test:6543"], probed);
    }

    [Fact]
    public void IsReachable_ListeningPort_True()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Assert.True(ServerRequirement.IsReachable($"127.0.0.1:{port}"));
    }

    [Fact]
    public void IsReachable_ClosedPort_False()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        Assert.False(ServerRequirement.IsReachable($"127.0.0.1:{port}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("localhost")]
    [InlineData("localhost:")]
    [InlineData("localhost:0")]
    [InlineData("localhost:70000")]
    [InlineData("localhost:-1")]
    [InlineData(":5432")]
    public void IsReachable_MalformedEndpoint_FalseNotThrow(string endpoint)
    {
        Assert.False(ServerRequirement.IsReachable(endpoint));
    }

    [Fact]
    public void Discover_UnreachableOutsideCi_EveryTestSkippedWithReason()
    {
        var cases = Discover(typeof(NeedsServerSuite), Env(), _ => false);

        Assert.Equal(3, cases.Count);
        Assert.All(cases, c => Assert.IsType<ServerSkippedTestCase>(c));
        Assert.All(cases, c => Assert.Contains("FakeDb is not reachable at 127.0.0.1:1", c.SkipReason, StringComparison.Ordinal));
    }

    [Fact]
    public void Discover_UnreachableInCi_EveryTestFailsNotSkipped()
    {
        var cases = Discover(typeof(NeedsServerSuite), Env(("CI", "true")), _ => false);

        Assert.Equal(3, cases.Count);
        Assert.All(cases, c => Assert.IsType<ExecutionErrorTestCase>(c));
        Assert.All(cases, c => Assert.Null(c.SkipReason));
        Assert.All(cases, c => Assert.Contains("never skips in CI", ((ExecutionErrorTestCase)c).ErrorMessage, StringComparison.Ordinal));
    }

    [Fact]
    public void Discover_Reachable_NormalTestCases()
    {
        var cases = Discover(typeof(NeedsServerSuite), Env(("CI", "true")), _ => true);

        // xunit's own discovery: the theory's two data rows are two cases (a skipped or failing method is one case).
        Assert.Equal(4, cases.Count);
        Assert.All(cases, c => Assert.Null(c.SkipReason));
        Assert.DoesNotContain(cases, c => c is ServerSkippedTestCase or ExecutionErrorTestCase);
    }

    [Fact]
    public void Discover_ClassWithoutRequirement_NeverProbes()
    {
        var probes = 0;

        var cases = Discover(typeof(PlainSuite), Env(("CI", "true")), _ => { probes++; return false; });

        Assert.Single(cases);
        Assert.Equal(0, probes);
    }

    [Fact]
    public void ServerSkippedTestCase_SerializeRoundTrip_KeepsReason()
    {
        var skipped = Assert.IsType<ServerSkippedTestCase>(Discover(typeof(NeedsServerSuite), Env(), _ => false)[0]);

        var copy = SerializationHelper.Deserialize<ServerSkippedTestCase>(SerializationHelper.Serialize(skipped));

        Assert.Equal(skipped.SkipReason, copy.SkipReason);
        Assert.Equal(skipped.UniqueID, copy.UniqueID);
    }

    private static List<ITestCase> Discover(Type type, Func<string, string?> environment, Func<string, bool> isReachable)
    {
        var assembly = Reflector.Wrap(type.Assembly);
        using var sources = new NoSourceInformation();
        using var discoverer = new ServerAwareDiscoverer(assembly, sources, new NullMessageSink(), environment, isReachable);
        using var sink = new CollectingSink();
        discoverer.Find(type.FullName!, includeSourceInformation: false, sink, new DefaultOptions());
        Assert.True(sink.Finished.Wait(TimeSpan.FromSeconds(30)), "discovery did not finish");
        return [.. sink.TestCases];
    }

    private sealed class CollectingSink : LongLivedMarshalByRefObject, IMessageSink, IDisposable
    {
        public List<ITestCase> TestCases { get; } = [];

        public ManualResetEventSlim Finished { get; } = new();

        public bool OnMessage(IMessageSinkMessage message)
        {
            if (message is ITestCaseDiscoveryMessage discovered)
            {
                lock (TestCases)
                {
                    TestCases.Add(discovered.TestCase);
                }
            }
            else if (message is IDiscoveryCompleteMessage)
            {
                Finished.Set();
            }

            return true;
        }

        public void Dispose() => Finished.Dispose();
    }

    private sealed class NoSourceInformation : LongLivedMarshalByRefObject, ISourceInformationProvider
    {
        public ISourceInformation GetSourceInformation(ITestCase testCase) => null!;

        public void Dispose()
        {
        }
    }

    private sealed class DefaultOptions : ITestFrameworkDiscoveryOptions
    {
        public TValue GetValue<TValue>(string name) => default!;

        public void SetValue<TValue>(string name, TValue value)
        {
        }
    }

    /// <summary>A suite as a provider's test project declares it (never run here: this project keeps xunit's framework).</summary>
    [RequiresServer("FakeDb", "BERTH_TEST_FAKEDB_ENDPOINT_UNSET", "127.0.0.1:1")]
    public sealed class NeedsServerSuite : AbstractSuite
    {
        [Fact]
        public void Own() => Assert.True(true);
    }

    public abstract class AbstractSuite
    {
        [Fact]
        public void Inherited() => Assert.True(true);

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        public void InheritedTheory(int value) => Assert.True(value > 0);
    }

    public sealed class PlainSuite
    {
        [Fact]
        public void Plain() => Assert.True(true);
    }
}
