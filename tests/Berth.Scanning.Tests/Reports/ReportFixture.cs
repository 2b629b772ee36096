using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;

namespace Berth.Scanning.Tests.Reports;

/// <summary>A hand-built image: Debian 12 with OpenSSL, glibc and util-linux packages, and one package per language ecosystem.</summary>
internal static class ReportFixture
{
    public const string Artifact = "localhost:5000/shop/api:v1.0";
    public const string OsTarget = "localhost:5000/shop/api:v1.0 (debian 12)";

    public static readonly DateTimeOffset Now = new(2026, 3, 14, 15, 9, 26, TimeSpan.Zero);
    public static readonly Guid Serial = Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");

    public static readonly Digest Layer1 = D('1');
    public static readonly Digest Layer2 = D('2');
    public static readonly Digest Diff1 = D('a');
    public static readonly Digest Diff2 = D('b');
    public static readonly Digest Config = D('c');
    public static readonly Digest Manifest = D('e');

    public static readonly OsInfo Debian = new("debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm");

    public static readonly InstalledPackage LibSsl = Deb("libssl3", "3.0.11-1~deb12u2", "openssl", null, ["Apache-2.0"]);
    public static readonly InstalledPackage OpenSsl = Deb("openssl", "3.0.11-1~deb12u2", "openssl", null, ["Apache-2.0"]);
    public static readonly InstalledPackage LibC = Deb("libc6", "2.36-9+deb12u4", "glibc", null, ["GPL-2+ with linking exception"]);
    public static readonly InstalledPackage BsdUtils = Deb("bsdutils", "1:2.38.1-5+b1", "util-linux", "2.38.1-5", null);

    public static readonly InstalledPackage Traverse = new(Ecosystems.Npm, "@babel/traverse", "7.22.0", null, null, "node-pkg",
        "app/node_modules/@babel/traverse/package.json", Layer2.ToString(), ["MIT"]);
    public static readonly InstalledPackage Lodash = new(Ecosystems.Npm, "lodash", "4.17.20", null, null, "node-pkg",
        "app/node_modules/lodash/package.json", Layer2.ToString(), ["MIT"]);
    public static readonly InstalledPackage Jinja = new(Ecosystems.PyPI, "Jinja2", "3.1.2", null, null, "python-pkg",
        "usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA", Layer2.ToString(), ["BSD-3-Clause"]);
    public static readonly InstalledPackage XNet = new(Ecosystems.Go, "golang.org/x/net", "v0.17.0", null, null, "gobinary",
        "usr/local/bin/app", Layer2.ToString());
    public static readonly InstalledPackage SystemTextJson = new(Ecosystems.NuGet, "System.Text.Json", "8.0.0", null, null, "dotnet-core",
        "app/app.deps.json", Layer2.ToString());
    public static readonly InstalledPackage Log4j = new(Ecosystems.Maven, "org.apache.logging.log4j:log4j-core", "2.14.1", null, null, "jar",
        "app/lib/app.jar", Layer2.ToString(), ["Apache-2.0"]);

    public static ImageInventory Inventory { get; } = new(Debian,
        [LibSsl, OpenSsl, LibC, BsdUtils, Traverse, Lodash, Jinja, XNet, SystemTextJson, Log4j]);

    public static ImageFacts Image { get; } = new(
        ImageId: Config,
        ManifestDigest: Manifest,
        RepoTags: [Artifact],
        RepoDigests: ["localhost:5000/shop/api@" + Manifest],
        LayerDigests: [Layer1, Layer2],
        DiffIds: [Diff1, Diff2],
        Os: "linux",
        Architecture: "amd64",
        Created: new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));

    public static Finding SslMedium { get; } = F("CVE-2024-0727", "DSA-5621-1", LibSsl, "3.0.13-1~deb12u1", Severity.Medium,
        "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5, "openssl: denial of service via null dereference");

    public static Finding SslHigh { get; } = F("CVE-2024-2511", "DSA-5678-1", LibSsl, "3.0.14-1~deb12u1", Severity.High,
        null, null, "openssl: Unbounded memory growth with session handling in TLSv1.3");

    public static Finding SslLow { get; } = F("CVE-2023-5678", "CVE-2023-5678", LibSsl, null, Severity.Low,
        null, null, "openssl: Generating excessively long X9.42 DH keys");

    public static Finding OpenSslMedium { get; } = SslMedium with { Package = OpenSsl };

    public static Finding GlibcUnknown { get; } = F("CVE-2010-4756", "CVE-2010-4756", LibC, null, Severity.Unknown,
        null, null, "glibc: glob implementation can cause excessive CPU and memory consumption");

    public static Finding Log4Shell { get; } = new("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", ["CVE-2021-44228"], Log4j, "2.15.0",
        Severity.Critical, "cvss_v3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0,
        "Remote code injection in Log4j", new DateTimeOffset(2021, 12, 10, 0, 0, 0, TimeSpan.Zero),
        ["https://nvd.nist.gov/vuln/detail/CVE-2021-44228", "https://logging.apache.org/log4j/2.x/security.html"]);

    public static Finding LodashHigh { get; } = new("CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", ["CVE-2021-23337"], Lodash, "4.17.21",
        Severity.High, "cvss_v3", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, "Command Injection in lodash",
        new DateTimeOffset(2021, 2, 15, 0, 0, 0, TimeSpan.Zero), ["https://github.com/advisories/GHSA-35jh-r3h4-6jhm"]);

    public static Finding JinjaMedium { get; } = new("CVE-2024-22195", "GHSA-h5c8-rqwp-cp95", ["CVE-2024-22195"], Jinja, "3.1.3",
        Severity.Medium, "cvss_v3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4, "Jinja vulnerable to HTML attribute injection",
        null, ["https://github.com/advisories/GHSA-h5c8-rqwp-cp95"]);

    public static Finding XNetUnknown { get; } = new("CVE-2023-45288", "GO-2024-2687", ["CVE-2023-45288"], XNet, "0.23.0",
        Severity.Unknown, null, null, null, "HTTP/2 CONTINUATION flood in net/http", null, ["https://go.dev/issue/65051"]);

    public static IReadOnlyList<Finding> AllFindings { get; } =
        [SslLow, Log4Shell, SslMedium, OpenSslMedium, GlibcUnknown, LodashHigh, SslHigh, JinjaMedium, XNetUnknown];

    public static ScanReport Report(IReadOnlyList<Finding>? findings = null, ImageInventory? inventory = null) =>
        new(Artifact, Image, inventory ?? Inventory, findings ?? AllFindings, Now);

    private static InstalledPackage Deb(string name, string version, string? source, string? sourceVersion, IReadOnlyList<string>? licenses) =>
        new(Ecosystems.Debian, name, version, source, sourceVersion, "debian", "var/lib/dpkg/status", Layer1.ToString(), licenses);

    private static Finding F(string id, string advisory, InstalledPackage p, string? fixedVersion, Severity severity,
        string? vector, double? score, string title) =>
        new(id, advisory, advisory == id ? [] : [id], p, fixedVersion, severity, vector is null ? "debian_urgency" : "cvss_v3",
            vector, score, title, new DateTimeOffset(2024, 1, 26, 9, 15, 0, TimeSpan.Zero),
            ["https://security-tracker.debian.org/tracker/" + id]);

    private static Digest D(char c) => Digest.TryParse("sha256:" + new string(c, 64), out var d) ? d : throw new InvalidOperationException();
}
