using System.Text;
using System.Text.Json.Nodes;
using Berth.Core.Scanning;
using Berth.Oci;
using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Results;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Testing;

/// <summary>
/// Stored scan results for tests of what reads them (the API, the CLI): a small Debian 12 inventory and findings in the
/// stored form (<see cref="ScanDocuments"/>), written straight into the server's <see cref="IScanResultStore"/>.
/// </summary>
public static class TestScans
{
    public static readonly DateTimeOffset ScannedAt = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static InstalledPackage OpenSsl { get; } = new("Debian", "libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2", "debian",
        "var/lib/dpkg/status", "sha256:" + new string('a', 64), ["Apache-2.0"]);

    public static InstalledPackage Zlib { get; } = new("Debian", "zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1", "debian",
        "var/lib/dpkg/status", "sha256:" + new string('a', 64), ["Zlib"]);

    public static InstalledPackage Requests { get; } = new("PyPI", "requests", "2.31.0", null, null, "python-pkg",
        "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "sha256:" + new string('b', 64), ["Apache-2.0"]);

    public static ImageInventory Inventory { get; } = new(new OsInfo("debian", "12.5", "Debian GNU/Linux 12 (bookworm)", "bookworm"), [OpenSsl, Zlib, Requests]);

    /// <summary>One CRITICAL (fixed), one HIGH without a fix and one MEDIUM in a Python package.</summary>
    public static IReadOnlyList<Finding> Findings { get; } =
    [
        new("CVE-2024-0001", "DSA-0001-1", [], OpenSsl, "3.0.13-1~deb12u1", Severity.Critical, "debian", null, 9.8, "openssl: remote code execution", null, []),
        new("CVE-2024-0002", "CVE-2024-0002", [], Zlib, null, Severity.High, "debian", null, 7.5, "zlib: heap overflow in inflate", null, []),
        new("CVE-2024-0003", "GHSA-xxxx-yyyy-zzzz", ["GHSA-xxxx-yyyy-zzzz"], Requests, "2.32.0", Severity.Medium, "ghsa", null, 5.6, "requests: leaks credentials on redirect", null, []),
    ];

    /// <summary>A finished scan of <paramref name="digest"/> against database <paramref name="version"/> with <see cref="Findings"/> (or <paramref name="findings"/>).</summary>
    public static ScanResult Done(string digest, long? version = 3, IReadOnlyList<Finding>? findings = null)
    {
        var list = findings ?? Findings;
        var image = new ImageFacts(Os: "linux", Architecture: "amd64", ManifestDigest: Digest.Parse(digest));
        int Count(Severity s) => list.Count(f => f.Severity == s);
        var worst = string.Join(", ", list.OrderByDescending(f => f.Severity).Take(3).Select(f => f.VulnerabilityId));
        return new ScanResult(Digest.Parse(digest), ScanStatus.Done, null, version, ScannedAt, ScanDocuments.WriteInventory(image, Inventory),
            ScanDocuments.WriteFindings(list), new SeverityCounts(Count(Severity.Unknown), Count(Severity.Low), Count(Severity.Medium), Count(Severity.High), Count(Severity.Critical)),
            worst.Length == 0 ? null : worst, ScannedAt);
    }

    /// <summary>A scan of <paramref name="digest"/> in <paramref name="status"/> with no data (queued, scanning) or an error (failed, unsupported).</summary>
    public static ScanResult InState(string digest, ScanStatus status, string? error = null) =>
        new(Digest.Parse(digest), status, error, null, status is ScanStatus.Failed or ScanStatus.Unsupported ? ScannedAt : null, null, null, default, null, ScannedAt);

    /// <summary>Writes <paramref name="result"/> into the server's store.</summary>
    public static Task StoreAsync(this IServiceProvider services, ScanResult result) =>
        services.GetRequiredService<IScanResultStore>().UpsertAsync(result, CancellationToken.None);

    /// <summary>An OCI index over <paramref name="children"/>, each with its platform ("os/arch[/variant]", or null for none, as an attestation has "unknown/unknown").</summary>
    public static TestManifest PlatformIndex(params (TestManifest Child, string? Platform)[] children)
    {
        var manifests = new JsonArray();
        foreach (var (child, platform) in children)
        {
            var descriptor = child.Descriptor().ToJson();
            if (platform is not null)
            {
                var parts = platform.Split('/');
                var json = new JsonObject { ["architecture"] = parts[1], ["os"] = parts[0] };
                if (parts.Length > 2)
                {
                    json["variant"] = parts[2];
                }

                descriptor["platform"] = json;
            }

            manifests.Add(descriptor);
        }

        var body = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = TestImages.OciIndex, ["manifests"] = manifests };
        return new TestManifest(TestImages.OciIndex, Encoding.UTF8.GetBytes(body.ToJsonString()), [], children.Select(c => c.Child).ToList());
    }
}
