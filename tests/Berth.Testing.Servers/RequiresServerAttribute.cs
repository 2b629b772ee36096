namespace Berth.Testing.Servers;

/// <summary>
/// Marks a test class whose tests need a server (PostgreSQL, S3, Azurite…). The test assembly opts in with
/// <c>[assembly: Xunit.TestFramework(ServerAwareTestFramework.TypeName, ServerAwareTestFramework.AssemblyName)]</c>.
/// When the server does not accept a TCP connection at its endpoint, every test of the class is reported as skipped
/// with the reason, unless the environment variable <c>CI</c> is set: then every test fails with the reason, so a
/// server suite is never silently skipped in CI. When the server is reachable the tests run as usual.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = true)]
public sealed class RequiresServerAttribute : Attribute
{
    /// <param name="server">What the server is, for the message (<c>PostgreSQL</c>).</param>
    /// <param name="endpointVariable">The environment variable that holds its <c>host:port</c>.</param>
    /// <param name="defaultEndpoint">The <c>host:port</c> to try when the variable is not set.</param>
    public RequiresServerAttribute(string server, string endpointVariable, string defaultEndpoint)
    {
        Server = server;
        EndpointVariable = endpointVariable;
        DefaultEndpoint = defaultEndpoint;
    }

    public string Server { get; }

    public string EndpointVariable { get; }

    public string DefaultEndpoint { get; }
}
