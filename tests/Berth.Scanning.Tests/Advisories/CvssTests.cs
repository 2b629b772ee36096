using Berth.Scanning.Advisories;
using Berth.Scanning.Findings;

namespace Berth.Scanning.Tests.Advisories;

public sealed class CvssTests
{
    // Scores from the CVSS v3.1 specification's examples and FIRST's calculator.
    [Theory]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)] // CVE-2014-6271 (Shellshock)
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5)] // CVE-2014-0160 (Heartbleed)
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1)] // CVE-2013-1937 (phpMyAdmin XSS)
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5)]
    [InlineData("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8)]
    [InlineData("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:L/I:L/A:N", 5.5)] // PR:H under changed scope weighs 0.5
    [InlineData("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0)]
    [InlineData("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", 6.5)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8)] // temporal metrics do not change the base
    public void V3_BaseScores(string vector, double expected)
    {
        Assert.True(Cvss.TryScore(vector, out var score));
        Assert.Equal(expected, score.Value.Score, 1);
    }

    [Theory]
    [InlineData("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5)]
    [InlineData("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0)]
    [InlineData("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3)]
    [InlineData("AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2)]
    [InlineData("AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0)]
    [InlineData("(AV:N/AC:L/Au:N/C:N/I:N/A:P)", 5.0)]
    public void V2_BaseScores(string vector, double expected)
    {
        Assert.True(Cvss.TryScore(vector, out var score));
        Assert.Equal("2.0", score.Value.Version);
        Assert.Equal(expected, score.Value.Score, 1);
    }

    // Scores as FIRST's CVSS v4.0 calculator gives them.
    [Theory]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3)]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0)]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 6.9)]
    [InlineData("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5)]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0)]
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A", 7.3)]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1)] // threat metric lowers the score
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/CR:H/IR:L/AR:H", 7.2)] // security requirements
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/CR:M/IR:L/AR:L", 5.5)]
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/CR:L/IR:L/AR:H", 7.1)]
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/S:P/AU:Y/R:A/V:C/RE:M/U:Clear", 7.3)] // supplemental metrics do not score
    public void V4_Scores(string vector, double expected)
    {
        Assert.True(Cvss.TryScore(vector, out var score));
        Assert.Equal("4.0", score.Value.Version);
        Assert.Equal(expected, score.Value.Score, 1);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("CVSS:3.1/")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")] // A missing
    [InlineData("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")] // bad value
    [InlineData("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")] // duplicate
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N")] // SA missing
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/ZZ:1")]
    [InlineData("CVSS:9.9/AV:N")]
    [InlineData("garbage")]
    [InlineData("AV:N/AC:L/Au:N/C:P/I:P")]
    public void Malformed_IsFalse_NeverThrows(string? vector) => Assert.False(Cvss.TryScore(vector, out _));

    [Theory]
    [InlineData(9.0, "3.1", Severity.Critical)]
    [InlineData(8.9, "3.1", Severity.High)]
    [InlineData(7.0, "4.0", Severity.High)]
    [InlineData(6.9, "3.1", Severity.Medium)]
    [InlineData(4.0, "3.1", Severity.Medium)]
    [InlineData(3.9, "3.1", Severity.Low)]
    [InlineData(0.1, "3.1", Severity.Low)]
    [InlineData(0.0, "3.1", Severity.Unknown)]
    [InlineData(10.0, "2.0", Severity.High)] // v2 has no Critical band
    [InlineData(6.9, "2.0", Severity.Medium)]
    [InlineData(3.9, "2.0", Severity.Low)]
    public void RatingBands(double score, string version, Severity expected) =>
        Assert.Equal(expected, new CvssScore(version, score, "v").Severity);
}
