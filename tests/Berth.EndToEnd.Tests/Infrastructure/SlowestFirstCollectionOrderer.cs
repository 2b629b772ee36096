using Berth.EndToEnd.Tests.Images;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Berth.EndToEnd.Tests.Infrastructure.SlowestFirstCollectionOrderer", "Berth.EndToEnd.Tests")]

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Starts the Debian image collection first: its fixture spends a minute or two in debootstrap (mostly waiting on the
/// mirror and dpkg), and every other collection can run beside it instead of after it.
/// </summary>
public sealed class SlowestFirstCollectionOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName == DebianImageCollection.Name ? 0 : 1).ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
