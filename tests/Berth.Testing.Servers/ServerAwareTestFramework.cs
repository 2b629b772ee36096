using System.ComponentModel;
using System.Reflection;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.Testing.Servers;

/// <summary>
/// The xunit test framework that honours <see cref="RequiresServerAttribute"/>: a test project whose classes need a
/// server declares <c>[assembly: TestFramework(ServerAwareTestFramework.TypeName, ServerAwareTestFramework.AssemblyName)]</c>.
/// (xunit 2 cannot skip a test once it runs, so the decision is taken at discovery, once per class.)
/// </summary>
public sealed class ServerAwareTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    public const string TypeName = "Berth.Testing.Servers.ServerAwareTestFramework";
    public const string AssemblyName = "Berth.Testing.Servers";

    protected override ITestFrameworkDiscoverer CreateDiscoverer(IAssemblyInfo assemblyInfo) =>
        new ServerAwareDiscoverer(assemblyInfo, SourceInformationProvider, DiagnosticMessageSink,
            Environment.GetEnvironmentVariable, ServerRequirement.IsReachable);
}

/// <summary>Discovers tests as xunit does, then replaces those of a class whose server is unreachable by a skipped or failing case.</summary>
public sealed class ServerAwareDiscoverer(
    IAssemblyInfo assemblyInfo,
    ISourceInformationProvider sourceProvider,
    IMessageSink diagnosticMessageSink,
    Func<string, string?> environment,
    Func<string, bool> isReachable)
    : XunitTestFrameworkDiscoverer(assemblyInfo, sourceProvider, diagnosticMessageSink)
{
    private readonly Dictionary<Type, ServerDecision> _decisions = [];

    /// <summary>The decision for a test class: the first of its requirements that is not met, else Run.</summary>
    public ServerDecision DecideFor(Type testClass)
    {
        ArgumentNullException.ThrowIfNull(testClass);
        lock (_decisions)
        {
            if (!_decisions.TryGetValue(testClass, out var decision))
            {
                decision = testClass.GetCustomAttributes<RequiresServerAttribute>(inherit: true)
                    .Select(requirement => ServerRequirement.Decide(requirement, environment, isReachable))
                    .FirstOrDefault(d => d.Verdict != ServerVerdict.Run) ?? new ServerDecision(ServerVerdict.Run, null);
                _decisions[testClass] = decision;
            }

            return decision;
        }
    }

    protected override bool FindTestsForMethod(ITestMethod testMethod, bool includeSourceInformation, IMessageBus messageBus,
        ITestFrameworkDiscoveryOptions discoveryOptions)
    {
        ArgumentNullException.ThrowIfNull(testMethod);
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        var decision = DecideFor(testMethod.TestClass.Class.ToRuntimeType());
        if (decision.Verdict == ServerVerdict.Run
            || !testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Any())
        {
            return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
        }

        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        ITestCase testCase = decision.Verdict == ServerVerdict.Skip
            ? new ServerSkippedTestCase(DiagnosticMessageSink, display, displayOptions, testMethod, decision.Reason!)
            : new ExecutionErrorTestCase(DiagnosticMessageSink, display, displayOptions, testMethod, decision.Reason!);
        return ReportDiscoveredTestCase(testCase, includeSourceInformation, messageBus);
    }
}

/// <summary>A test reported as skipped because its server is not reachable (serializable, so runners can hand it back).</summary>
public sealed class ServerSkippedTestCase : XunitTestCase
{
    private string _reason = "";

    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ServerSkippedTestCase()
    {
    }

    public ServerSkippedTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay,
        TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod, string reason)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
        _reason = reason;
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _reason;

    public override void Serialize(IXunitSerializationInfo data)
    {
        ArgumentNullException.ThrowIfNull(data);
        base.Serialize(data);
        data.AddValue("ServerReason", _reason);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        ArgumentNullException.ThrowIfNull(data);
        _reason = data.GetValue<string>("ServerReason");
        base.Deserialize(data);
    }
}
