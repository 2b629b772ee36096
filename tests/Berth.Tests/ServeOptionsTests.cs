using System.Net;

namespace Berth.Tests;

public sealed class ServeOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Resolve_NoArguments_LeavesDefaultsToSettings()
    {
        var settings = ServeOptions.Resolve([], Env());

        Assert.Empty(settings);
        var defaults = new ServeSettings();
        Assert.Equal("http://*:5000", defaults.Listen);
        Assert.Equal("data", defaults.Data);
    }

    [Fact]
    public void Resolve_ListenAndDataFlags_MapToConfiguration()
    {
        var settings = ServeOptions.Resolve(["--listen", "http://127.0.0.1:5000", "--data", "/srv/berth"], Env());

        Assert.Equal("http://127.0.0.1:5000", settings["Berth:Listen"]);
        Assert.Equal("/srv/berth", settings["Berth:Data"]);
    }

    [Fact]
    public void Resolve_EnvironmentVariables_AreUsedWhenNoFlag()
    {
        var settings = ServeOptions.Resolve([], Env(("BERTH_LISTEN", "http://0.0.0.0:6000"), ("BERTH_DATA", "/var/lib/berth")));

        Assert.Equal("http://0.0.0.0:6000", settings["Berth:Listen"]);
        Assert.Equal("/var/lib/berth", settings["Berth:Data"]);
    }

    [Fact]
    public void Resolve_FlagEnvironmentAndFile_FlagWinsThenEnvironmentThenFile()
    {
        var file = Path.Combine(_dir, "berth.json");
        File.WriteAllText(file, """{ "listen": "http://127.0.0.1:7000", "data": "/from/file", "upload-expiry": "12h" }""");

        var settings = ServeOptions.Resolve(["--config", file, "--listen=http://127.0.0.1:9000"], Env(("BERTH_DATA", "/from/env")));

        Assert.Equal("http://127.0.0.1:9000", settings["Berth:Listen"]);
        Assert.Equal("/from/env", settings["Berth:Data"]);
        Assert.Equal("12:00:00", settings["Berth:UploadExpiry"]);
    }

    [Fact]
    public void Resolve_ConfigFileFromEnvironment_IsRead()
    {
        var file = Path.Combine(_dir, "berth.json");
        File.WriteAllText(file, """{ "listen": ["http://127.0.0.1:7000", "http://[::1]:7000"] }""");

        var settings = ServeOptions.Resolve([], Env(("BERTH_CONFIG", file)));

        Assert.Equal("http://127.0.0.1:7000,http://[::1]:7000", settings["Berth:Listen"]);
    }

    [Theory]
    [InlineData("--bogus", "x", "unknown option")]
    [InlineData("--upload-expiry", "soon", "not a duration")]
    [InlineData("--max-blob-size", "lots", "not a size")]
    [InlineData("--log-level", "Verbose", "not a log level")]
    [InlineData("--log-level", "3", "not a log level")]
    [InlineData("--public-url", "registry.example.com", "not an http:// or https:// URL")]
    [InlineData("--public-url", "ftp://registry.example.com", "not an http:// or https:// URL")]
    [InlineData("--public-url", "https://registry.example.com/?x=1", "not an http:// or https:// URL")]
    [InlineData("--upload-expiry", "9999999999d", "too long a duration")] // was an uncaught overflow (a stack trace)
    [InlineData("--upload-expiry", "2147483647d", "too long a duration")]
    [InlineData("--audit-retention", "99999999h", "too long a duration")]
    [InlineData("--max-blob-size", "9999999999T", "too large a size")]
    [InlineData("--max-manifest-size", "10G", "out of range")] // did not fit the int setting: every manifest request failed
    [InlineData("--max-manifest-size", "0", "out of range")]
    [InlineData("--default-quota", "lots", "not a size")]
    [InlineData("--default-quota", "-1G", "not a size")]
    [InlineData("--default-quota", "99999999PiB", "not a size")]
    [InlineData("--gc-grace", "0", "not a duration")] // a grace window of nothing would let a push's blobs go
    [InlineData("--gc-grace", "0s", "not a duration")]
    [InlineData("--gc-grace", "500ms", "not a duration")]
    [InlineData("--gc-interval", "often", "not a duration")]
    public void Resolve_BadInput_ThrowsCommandLineExceptionNamingTheProblem(string flag, string value, string expected)
    {
        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve([flag, value], Env()));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10GiB", "10737418240")]
    [InlineData("500MiB", "524288000")]
    [InlineData("0", "0")]
    [InlineData("none", "0")]
    public void Resolve_DefaultQuota_IsBytes(string value, string expected)
    {
        Assert.Equal(expected, ServeOptions.Resolve(["--default-quota", value], Env())["Berth:DefaultQuotaBytes"]);
        Assert.Equal(expected, ServeOptions.Resolve([], Env(("BERTH_DEFAULT_QUOTA", value)))["Berth:DefaultQuotaBytes"]);
    }

    [Theory]
    [InlineData("--gc-grace", "1s", "Berth:GcGrace", "00:00:01")]
    [InlineData("--gc-grace", "2h", "Berth:GcGrace", "02:00:00")]
    [InlineData("--gc-interval", "1d", "Berth:GcInterval", "1.00:00:00")]
    [InlineData("--gc-interval", "0", "Berth:GcInterval", "00:00:00")]
    public void Resolve_GcSettings_AreDurations(string flag, string value, string key, string expected) =>
        Assert.Equal(expected, ServeOptions.Resolve([flag, value], Env())[key]);

    [Fact]
    public void Resolve_GcGraceFromTheEnvironment_IsUsed() =>
        Assert.Equal("00:30:00", ServeOptions.Resolve([], Env(("BERTH_GC_GRACE", "30m")))["Berth:GcGrace"]);

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--Bogus")]
    public void Resolve_UnknownFlagLastWithoutValue_IsAnUnknownOptionNotAMissingValue(string flag)
    {
        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--data", "/srv/berth", flag], Env()));

        Assert.Contains(flag == "--bogus" ? "unknown option '--bogus'" : "needs a value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_PositionalArgument_IsRefused()
    {
        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["now"], Env()));

        Assert.Contains("unexpected argument 'now'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("debug", "Debug")]
    [InlineData("Warning", "Warning")]
    public void Resolve_LogLevel_IsNormalised(string value, string expected) =>
        Assert.Equal(expected, ServeOptions.Resolve(["--log-level", value], Env())["Logging:LogLevel:Default"]);

    [Theory]
    [InlineData("[1, 2]", "must hold one JSON object")]
    [InlineData("""{ "data": { "path": "/x" } }""", "'data' must be a string")]
    [InlineData("""{ "data": null }""", "'data' must be a string")]
    public void Resolve_ConfigFileOfTheWrongShape_IsOneClearError(string json, string expected)
    {
        var file = Path.Combine(_dir, "berth.json");
        File.WriteAllText(file, json);

        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--config", file], Env()));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ConfigFileThatIsAFolder_IsOneClearError()
    {
        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--config", _dir], Env()));

        Assert.Contains("is a folder, not a file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_FlagWithoutValue_Throws()
    {
        Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--data"], Env()));
    }

    [Fact]
    public void Resolve_ConfigFileWithUnknownKey_Throws()
    {
        var file = Path.Combine(_dir, "berth.json");
        File.WriteAllText(file, """{ "lisen": "http://127.0.0.1:7000" }""");

        var ex = Assert.Throws<CommandLineException>(() => ServeOptions.Resolve(["--config", file], Env()));

        Assert.Contains("lisen", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4M", 4L * 1024 * 1024)]
    [InlineData("512K", 512L * 1024)]
    [InlineData("10G", 10L * 1024 * 1024 * 1024)]
    [InlineData("1048576", 1048576L)]
    [InlineData("4MiB", 4L * 1024 * 1024)]
    public void ParseSize_Suffixes_AreBinaryMultiples(string text, long expected) =>
        Assert.Equal(expected, ServeOptions.ParseSize(text));

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    public void ParseDuration_Units_AreUnderstood(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ServeOptions.ParseDuration(text));

    [Fact]
    public void ParseDuration_TheLongestAllowed_IsAThousandYears() =>
        Assert.Equal(TimeSpan.FromDays(365_250), ServeOptions.ParseDuration("365250d"));

    [Fact]
    public void ParseManifestSize_64M_IsTheLargestAllowed() =>
        Assert.Equal(64L << 20, ServeOptions.ParseManifestSize("64M"));

    [Fact]
    public void ParseListen_SeveralAddresses_ParsesSchemeAddressAndPort()
    {
        var list = BerthServer.ParseListen("http://127.0.0.1:5000, https://[::1]:5443,http://localhost:8080,http://0.0.0.0:9000", ipv6: true);

        Assert.Collection(list,
            a => Assert.Equal((IPAddress.Loopback, 5000, false), (a.Address, a.Port, a.Https)),
            a => Assert.Equal((IPAddress.IPv6Loopback, 5443, true), (a.Address, a.Port, a.Https)),
            a => Assert.Equal((IPAddress.Loopback, 8080, false), (a.Address, a.Port, a.Https)),
            a => Assert.Equal((IPAddress.Any, 9000, false), (a.Address, a.Port, a.Https)));
    }

    [Theory]
    [InlineData("http://*:5000")]
    [InlineData("http://+:5000")]
    [InlineData("http://[::]:5000")]
    public void ParseListen_EveryAddressWithIpv6_IsDualStackIpv6Any(string value)
    {
        var listen = Assert.Single(BerthServer.ParseListen(value, ipv6: true));

        // Kestrel opens [::] dual-stack: IPv6 and IPv4 clients both connect.
        Assert.Equal(IPAddress.IPv6Any, listen.Address);
        Assert.Equal("http://[::]:5000 (every IPv6 and IPv4 address)", listen.Display);
    }

    [Fact]
    public void ParseListen_EveryAddressWithoutIpv6_FallsBackToIpv4Any()
    {
        var listen = Assert.Single(BerthServer.ParseListen("http://*:5000", ipv6: false));

        Assert.Equal(IPAddress.Any, listen.Address);
        Assert.Equal("http://0.0.0.0:5000", listen.Display);
    }

    [Fact]
    public void ParseListen_Default_ListensOnEveryAddressOfThisHost()
    {
        var listen = Assert.Single(BerthServer.ParseListen(new ServeSettings().Listen));

        Assert.Equal(System.Net.Sockets.Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, listen.Address);
        Assert.Equal(5000, listen.Port);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("127.0.0.1:5000")]
    [InlineData("http://registry.example:5000")]
    [InlineData("")]
    public void ParseListen_Invalid_Throws(string value) =>
        Assert.Throws<CommandLineException>(() => BerthServer.ParseListen(value));

    [Fact]
    public void Help_ListsEveryOptionWithItsEnvironmentVariable()
    {
        var help = Cli.ServeHelp();

        foreach (var option in ServeOptions.All)
        {
            Assert.Contains(option.Flag, help, StringComparison.Ordinal);
            Assert.Contains(option.Environment, help, StringComparison.Ordinal);
        }

        Assert.Contains("--config", help, StringComparison.Ordinal);
    }
}
