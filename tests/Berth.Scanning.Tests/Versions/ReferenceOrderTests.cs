using Berth.Scanning.Tests.Matching;
using Berth.Scanning.Versions;

namespace Berth.Scanning.Tests.Versions;

/// <summary>Maven and PEP 440 orders against pairs ordered by Maven's ComparableVersion and Python's packaging
/// (Versions/ReferenceOrders, see its README).</summary>
public sealed class ReferenceOrderTests
{
    [Theory]
    [InlineData("maven-order.txt", "maven")]
    [InlineData("pep440-order.txt", "pep440")]
    public void Comparer_AgreesWithTheReferenceImplementation(string file, string ordering)
    {
        IVersionComparer comparer = ordering == "maven" ? MavenVersionComparer.Instance : Pep440VersionComparer.Instance;
        var path = Path.Combine(VulnDbTestData.Root, "..", "..", "Berth.Scanning.Tests", "Versions", "ReferenceOrders", file);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count >= 4000);
        var disagreements = new List<string>();
        foreach (var line in lines)
        {
            var p = line.Split(' ');
            Assert.True(comparer.IsValid(p[0]) && comparer.IsValid(p[1]), line);
            var ours = Math.Sign(comparer.Compare(p[0], p[1]));
            if (ours != int.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture))
            {
                disagreements.Add($"{line} (ours {ours})");
            }
        }

        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {lines.Count} disagree:\n" + string.Join('\n', disagreements.Take(25)));
    }
}
