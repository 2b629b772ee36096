using Berth.Testing.Servers;

// Classes marked [RequiresServer] (the scale-out tests on PostgreSQL and S3) are skipped when their server is not
// reachable, and fail when CI is set; every other class runs exactly as under xunit's own framework.
[assembly: TestFramework(ServerAwareTestFramework.TypeName, ServerAwareTestFramework.AssemblyName)]
