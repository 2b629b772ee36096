using Berth.Core.Immutability;
using Berth.Core.Retention;

namespace Berth.Core.Tests.Retention;

/// <summary>Durations, cron schedules and the stored form of rules.</summary>
public sealed class RetentionSettingsTextTests
{
    [Theory]
    [InlineData("30d", 30 * 24 * 3600)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("90m", 90 * 60)]
    [InlineData("45s", 45)]
    [InlineData("3650d", 3650L * 24 * 3600)]
    public void Duration_Valid_Parses(string text, long seconds)
    {
        Assert.True(RetentionDuration.TryParse(text, out var duration, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0d")]
    [InlineData("-1d")]
    [InlineData("30")]
    [InlineData("d")]
    [InlineData("30 d")]
    [InlineData("1w")]
    [InlineData("3651d")]
    [InlineData("99999999999999h")]
    [InlineData("+3d")]
    [InlineData("３d")]
    public void Duration_Invalid_IsRefusedWithAReason(string? text)
    {
        Assert.False(RetentionDuration.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData(30 * 24 * 3600, "30d")]
    [InlineData(36 * 3600, "36h")]
    [InlineData(90 * 60, "90m")]
    [InlineData(61, "61s")]
    public void Duration_Format_IsTheShortestExactForm(long seconds, string expected) =>
        Assert.Equal(expected, RetentionDuration.Format(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData("0 3 * * *", true)]
    [InlineData("*/5 * * * *", true)]
    [InlineData("0 0 3 * * *", false)]
    [InlineData("61 * * * *", false)]
    [InlineData("daily", false)]
    [InlineData("", false)]
    public void Schedule_FiveFieldCronOnly(string text, bool valid) =>
        Assert.Equal(valid, RetentionSchedule.TryParse(text, out _, out _));

    [Fact]
    public void Schedule_Next_IsStrictlyAfterInUtc()
    {
        Assert.True(RetentionSchedule.TryParse("0 3 * * *", out var cron, out _));
        var at = new DateTimeOffset(2026, 12, 5, 3, 0, 0, TimeSpan.Zero);
        Assert.Equal(at.AddDays(1), RetentionSchedule.Next(cron, at));
        Assert.Equal(at, RetentionSchedule.Next(cron, at.AddMinutes(-1)));
    }

    [Fact]
    public void RulesText_WriteRead_RoundTripsEveryCondition()
    {
        IReadOnlyList<RetentionRule> rules =
        [
            new(PatternFilter.TryParse(["api/**", "{a,b}"], ["api/tmp"], out _)!, PatternFilter.TryParse(["v*"], ["latest"], out _)!, false,
                [new RetentionCondition.LatestPushed(10), new RetentionCondition.UsedWithin(TimeSpan.FromDays(30))]),
            new(PatternFilter.All, PatternFilter.All, true, [new RetentionCondition.PushedWithin(TimeSpan.FromHours(1))]),
            new(PatternFilter.All, PatternFilter.All, false, [new RetentionCondition.Always(), new RetentionCondition.LatestUsed(3)]),
        ];

        var read = RetentionRulesText.Read(RetentionRulesText.Write(rules));

        Assert.Equal(rules.Select(r => r.Describe()), read.Select(r => r.Describe()));
        Assert.Equal(rules.SelectMany(r => r.Conditions), read.SelectMany(r => r.Conditions));
        Assert.Equal([false, true, false], read.Select(r => r.Untagged));
        Assert.Empty(RetentionRulesText.Read("[]"));
        Assert.Throws<FormatException>(() => RetentionRulesText.Read("[{\"tags\":1}]"));
    }

    [Fact]
    public void Presets_Resolve_LabWithTheServersGraceAndRefuseUnknown()
    {
        var lab = RetentionPresets.Resolve(new RetentionSettings(RetentionLimits.LabPreset, [], "0 3 * * *", true, DateTimeOffset.UnixEpoch), TimeSpan.FromMinutes(5));
        Assert.Equal(RetentionPolicy.Lab(TimeSpan.FromMinutes(5)).Rules.Select(r => r.Describe()), lab.Rules.Select(r => r.Describe()));
        Assert.Throws<FormatException>(() => RetentionPresets.Resolve(new RetentionSettings("weekly", [], "0 3 * * *", true, DateTimeOffset.UnixEpoch), TimeSpan.Zero));
    }
}
