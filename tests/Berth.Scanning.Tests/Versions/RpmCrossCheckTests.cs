using System.Text;
using Berth.Scanning.Tests.Matching;
using Berth.Scanning.Versions;

namespace Berth.Scanning.Tests.Versions;

/// <summary>The RPM ordering against rpm's own <c>rpm.vercmp</c> (one rpm process for all pairs).</summary>
public sealed class RpmCrossCheckTests
{
    [Fact]
    public void RpmComparer_AgreesWithRpmVercmp_OnThousandsOfPairs()
    {
        if (!VulnDbTestData.HasProgram("rpm"))
        {
            // CI installs rpm, and there a missing rpm is a failure, never a silent skip.
            Assert.True(Environment.GetEnvironmentVariable("CI") is null, "rpm is not installed (apt-get install -y rpm) and CI is set");
            return;
        }

        var rnd = new Random(4242);
        string[] pieces = ["0", "1", "2", "10", "010", "99", ".", ".", "_", "+", "~", "^", "a", "b", "rc", "el9", "el9_4", "fc39", "git", "Z", "999999999999999999999"];
        string Gen()
        {
            var epoch = rnd.Next(5) switch { 0 => "1:", 1 => "0:", _ => "" };
            var s = rnd.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var n = rnd.Next(0, 5);
            for (var k = 0; k < n; k++)
            {
                s += pieces[rnd.Next(pieces.Length)];
            }

            var rel = rnd.Next(3) == 0 ? "" : "-" + rnd.Next(40) + (rnd.Next(2) == 0 ? ".el9" : pieces[rnd.Next(pieces.Length)]);
            return epoch + s + rel;
        }

        var pairs = new List<(string A, string B)>
        {
            ("1.0~rc1", "1.0"), ("1.0^", "1.0"), ("1.0^git1", "1.0.1"), ("1:3.0.7-27.el9", "3.0.8-1.el9"), ("3.0.7-27.el9", "3.0.7-27.el9_4"),
        };
        for (var i = 0; i < 3000; i++)
        {
            var a = Gen();
            var b = rnd.Next(2) == 0 ? Gen() : a + pieces[rnd.Next(pieces.Length)] + rnd.Next(3);
            pairs.Add((a, b));
        }

        var lua = new StringBuilder("local t = {\n");
        foreach (var (a, b) in pairs)
        {
            lua.Append("{\"").Append(a).Append("\",\"").Append(b).Append("\"},\n");
        }

        lua.Append("}\nfor _, p in ipairs(t) do io.write(rpm.vercmp(p[1], p[2]), \"\\n\") end\n");
        var file = Path.Combine(Path.GetTempPath(), $"berth-rpm-pairs-{Environment.ProcessId}.lua");
        File.WriteAllText(file, lua.ToString());
        try
        {
            var output = VulnDbTestData.Bash($"rpm --eval \"%{{lua: dofile('{file}')}}\"");
            var results = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(pairs.Count, results.Length);
            var disagreements = new List<string>();
            for (var i = 0; i < pairs.Count; i++)
            {
                var ours = Math.Sign(RpmVersionComparer.Instance.Compare(pairs[i].A, pairs[i].B));
                if (ours.ToString(System.Globalization.CultureInfo.InvariantCulture) != results[i].Trim())
                {
                    disagreements.Add($"{pairs[i].A} vs {pairs[i].B}: rpm {results[i]}, ours {ours}");
                }
            }

            Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {pairs.Count} disagree:\n" + string.Join('\n', disagreements.Take(30)));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
