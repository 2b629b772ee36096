using System.Text;
using System.Text.Json;
using Berth.Scanning.Findings;
using Berth.Scanning.Reports;
using static Berth.Scanning.Tests.Reports.ReportFixture;

namespace Berth.Scanning.Tests.Reports;

public sealed class ReportFormatsTests
{
    [Theory]
    [InlineData("table", ReportFormat.Table)]
    [InlineData("JSON", ReportFormat.Json)]
    [InlineData("sarif", ReportFormat.Sarif)]
    [InlineData("cyclonedx", ReportFormat.CycloneDx)]
    [InlineData(" spdx-json ", ReportFormat.SpdxJson)]
    public void TryParse_KnownNames(string text, ReportFormat expected)
    {
        Assert.True(ReportFormats.TryParse(text, out var format));
        Assert.Equal(expected, format);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("spdx")]
    [InlineData("template")]
    public void TryParse_Unknown_False(string? text) => Assert.False(ReportFormats.TryParse(text, out _));

    [Fact]
    public void Write_EveryFormat_ToAStreamLeftOpen()
    {
        foreach (var name in ReportFormats.Names)
        {
            Assert.True(ReportFormats.TryParse(name, out var format));
            using var stream = new MemoryStream();

            ReportFormats.Write(format, Report(), stream, new ReportWriteOptions("1.0.0", Serial, [Severity.High]));

            Assert.True(stream.CanWrite, name);
            var bytes = stream.ToArray();
            Assert.False(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble), name);
            if (format == ReportFormat.Table)
            {
                Assert.StartsWith(OsTarget + "\n", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
                Assert.Contains("Total: 5 (HIGH: 1)", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
            }
            else
            {
                using var doc = JsonDocument.Parse(bytes);
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            }
        }
    }
}
