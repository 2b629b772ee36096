using Berth.EndToEnd.Tests.Docker;
using Berth.EndToEnd.Tests.Images;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Berth.EndToEnd.Tests.Infrastructure.SlowestFirstCollectionOrderer", "Berth.EndToEnd.Tests")]

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Starts the Docker lab and the Debian image collections first: their fixtures wait a minute or two for the run's
/// Debian root filesystem (debootstrap, mostly waiting on the mirror and dpkg; made once and shared by both), and
/// every other collection can run beside them instead of after them.
/// </summary>
public sealed class SlowestFirstCollectionOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName switch { DockerCollection.Name => 0, DebianImageCollection.Name => 1, _ => 2 })
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
