namespace Berth.Scanning.Reports;

/// <summary>
/// What an SBOM needs beyond the report: a unique id and the tool's version. The caller supplies the id (a fresh
/// <see cref="Guid.NewGuid"/> in production, a fixed one in tests) so output is reproducible.
/// </summary>
/// <param name="SerialNumber">CycloneDX <c>serialNumber</c> (urn:uuid) and the unique part of SPDX's <c>documentNamespace</c>.</param>
/// <param name="ToolVersion">Berth's version, named in the tool entries.</param>
/// <param name="DocumentNamespaceBase">The URI SPDX document namespaces start with (the registry's own URL in a server);
/// the default uses the reserved ".invalid" domain, which says the URI identifies and never resolves.</param>
public sealed record SbomOptions(Guid SerialNumber, string ToolVersion, string DocumentNamespaceBase = "https://berth.invalid/spdx/");
