using Berth.Core.Scanning;

namespace Berth.Application.Scanning;

/// <summary>An inventory matched against the advisory database: the findings document and its short forms, as stored in a <see cref="ScanResult"/>.</summary>
public sealed record ScanMatch(string FindingsJson, SeverityCounts Counts, string? WorstIds, int FindingCount);
