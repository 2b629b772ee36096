using Berth.Scanning.Findings;
using Berth.Scanning.Inventory;
using Berth.Scanning.Reports;
using Berth.Scanning.Tests.Reports;

namespace Berth.Scanning.Tests.Sbom;

public sealed class LargeInventoryTests
{
    // Counts what reaches the stream: many writes, none of them the whole document.
    private sealed class CountingStream : Stream
    {
        public long Total { get; private set; }

        public int Writes { get; private set; }

        public int Largest { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Total;

        public override long Position { get => Total; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Total += buffer.Length;
            Writes++;
            Largest = Math.Max(Largest, buffer.Length);
        }
    }

    private static ScanReport Large(int count)
    {
        var packages = Enumerable.Range(0, count)
            .Select(i => new InstalledPackage(Ecosystems.Npm, $"pkg-{i:D6}", "1.0.0", null, null, "node-pkg", $"app/node_modules/pkg-{i:D6}/package.json", null, ["MIT"]))
            .ToList();
        var findings = packages.Where((_, i) => i % 10 == 0)
            .Select(p => new Finding($"CVE-2024-{p.Name[4..]}", $"GHSA-{p.Name[4..]}", [], p, "1.0.1", Severity.High, null, null, null, "title", null, ["https://example.com/" + p.Name]))
            .ToList();
        return new ScanReport("big:1", ImageFacts.None, new ImageInventory(null, packages), findings, ReportFixture.Now);
    }

    [Fact]
    public void EveryJsonWriter_LargeReport_IsWrittenInPieces()
    {
        var report = Large(20_000);
        foreach (var format in new[] { ReportFormat.Json, ReportFormat.Sarif, ReportFormat.CycloneDx, ReportFormat.SpdxJson })
        {
            var stream = new CountingStream();

            ReportFormats.Write(format, report, stream, new ReportWriteOptions("1.0.0", ReportFixture.Serial));

            Assert.True(stream.Writes > 5, $"{format}: {stream.Writes} writes");
            Assert.True(stream.Largest < stream.Total / 4, $"{format}: largest write {stream.Largest} of {stream.Total}");
        }
    }
}
