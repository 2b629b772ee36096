// Two namespaces for ArchitectureTests: First uses Second only inside a method body (no signature names it).
namespace Berth.Tests.Fixtures.First
{
    internal static class User
    {
        public static int Use() => new Second.Used().GetHashCode();
    }
}

namespace Berth.Tests.Fixtures.Second
{
    internal sealed class Used;
}
