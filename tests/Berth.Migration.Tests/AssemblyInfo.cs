using Berth.Testing.Servers;

[assembly: TestFramework(ServerAwareTestFramework.TypeName, ServerAwareTestFramework.AssemblyName)]
