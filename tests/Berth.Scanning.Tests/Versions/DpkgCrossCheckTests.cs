using System.Text.Json;
using Berth.Scanning.Tests.Matching;
using Berth.Scanning.Versions;

namespace Berth.Scanning.Tests.Versions;

/// <summary>The dpkg ordering against dpkg itself, on thousands of pairs.</summary>
public sealed class DpkgCrossCheckTests
{
    [Fact]
    public void DebianComparer_AgreesWithDpkgCompareVersions_OnThousandsOfPairs()
    {
        Assert.True(VulnDbTestData.HasProgram("dpkg"), "dpkg is needed for this cross-check");

        // Real versions: the bookworm packages and every version the Debian records name.
        var real = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in VulnDbTestData.BookwormPackages())
        {
            real.Add(p.Version);
            real.Add(p.SourceVersion);
        }

        foreach (var file in Directory.EnumerateFiles(VulnDbTestData.PathOf("debian"), "*.json", SearchOption.AllDirectories).Take(400))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var affected in doc.RootElement.GetProperty("affected").EnumerateArray())
            {
                if (affected.TryGetProperty("versions", out var versions))
                {
                    foreach (var v in versions.EnumerateArray().Take(5))
                    {
                        real.Add(v.GetString()!);
                    }
                }

                if (affected.TryGetProperty("ranges", out var ranges))
                {
                    foreach (var r in ranges.EnumerateArray())
                    {
                        foreach (var e in r.GetProperty("events").EnumerateArray())
                        {
                            if (e.TryGetProperty("fixed", out var f) && r.GetProperty("type").GetString() == "ECOSYSTEM")
                            {
                                real.Add(f.GetString()!);
                            }
                        }
                    }
                }
            }
        }

        var realList = real.Where(v => v != "0").OrderBy(v => v, StringComparer.Ordinal).ToList();
        var rnd = new Random(20261206);
        var pairs = new List<(string A, string B)>();

        // Real against real (random pairs), and each real version against a close variant of itself.
        for (var i = 0; i < 1500; i++)
        {
            pairs.Add((realList[rnd.Next(realList.Count)], realList[rnd.Next(realList.Count)]));
        }

        string[] suffixes = ["~", "~rc1", "+b1", "+deb12u1", "~deb12u1", "a", ".0", "-1", "+", "~~", ".1~bpo12+1", "ubuntu1"];
        foreach (var v in realList.Take(600))
        {
            pairs.Add((v, v + suffixes[rnd.Next(suffixes.Length)]));
        }

        // Generated tricky ones: epochs, tildes, pluses, letters, leading zeros, long digit runs.
        string[] pieces = ["0", "1", "2", "9", "10", "01", "00", "123456789012345678901", ".", ".", "+", "~", "~~", "a", "b", "z", "A", "Z", "rc", "dfsg", "deb12u", "+really"];
        string Gen()
        {
            var epoch = rnd.Next(5) switch { 0 => "1:", 1 => "0:", 2 => "2:", _ => "" };
            var up = rnd.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var n = rnd.Next(0, 5);
            for (var k = 0; k < n; k++)
            {
                up += pieces[rnd.Next(pieces.Length)];
            }

            var rev = rnd.Next(3) switch
            {
                0 => "",
                1 => "-" + rnd.Next(4),
                _ => "-" + rnd.Next(3) + pieces[rnd.Next(pieces.Length)] + rnd.Next(3),
            };
            return epoch + up + rev;
        }

        for (var i = 0; i < 1100; i++)
        {
            var a = Gen();
            // Half the time a near neighbour, so equal prefixes exercise the later rules.
            var b = rnd.Next(2) == 0 ? Gen() : a + pieces[rnd.Next(pieces.Length)] + rnd.Next(3);
            pairs.Add((a, b));
        }

        pairs.Add(("1.0", "1.0"));
        pairs.Add(("1.0~", "1.0"));
        pairs.Add(("1:1.0", "1.0"));

        var valid = pairs.Where(p => DebianVersionComparer.Instance.IsValid(p.A) && DebianVersionComparer.Instance.IsValid(p.B)).ToList();
        Assert.True(valid.Count >= 3000, $"only {valid.Count} valid pairs");

        var file2 = Path.Combine(Path.GetTempPath(), $"berth-dpkg-pairs-{Environment.ProcessId}.txt");
        File.WriteAllLines(file2, valid.Select(p => p.A + " " + p.B));
        try
        {
            var output = VulnDbTestData.Bash($$"""
                while read -r a b; do
                  if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1
                  elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0
                  else echo 1; fi
                done < '{{file2}}'
                """);
            var results = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(valid.Count, results.Length);
            var disagreements = new List<string>();
            for (var i = 0; i < valid.Count; i++)
            {
                var ours = Math.Sign(DebianVersionComparer.Instance.Compare(valid[i].A, valid[i].B));
                if (ours.ToString(System.Globalization.CultureInfo.InvariantCulture) != results[i])
                {
                    disagreements.Add($"{valid[i].A} vs {valid[i].B}: dpkg {results[i]}, ours {ours}");
                }
            }

            Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {valid.Count} disagree:\n" + string.Join('\n', disagreements.Take(30)));
        }
        finally
        {
            File.Delete(file2);
        }
    }
}
