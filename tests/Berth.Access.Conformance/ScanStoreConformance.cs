using System.Text;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Oci;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Access.Conformance;

/// <summary>The scanning stores of one provider, opened on an empty database, with the project store of the same database.</summary>
public sealed record ScanStores(IProjectStore Projects, IAdvisoryStore Advisories, IScanResultStore Results, IScanPolicyStore Policies);

/// <summary>
/// The contract of the scanning stores (<see cref="IAdvisoryStore"/>, <see cref="IScanResultStore"/>,
/// <see cref="IScanPolicyStore"/>). Every provider runs it by deriving a class that opens its stores on a fresh, empty
/// database per test.
/// </summary>
public abstract partial class ScanStoreConformance : IAsyncLifetime
{
    protected static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private ScanStores? _stores;

    protected FakeTimeProvider Clock { get; } = new(Start);

    protected ScanStores Stores => _stores ?? throw new InvalidOperationException("Not opened.");

    protected IAdvisoryStore Advisories => Stores.Advisories;

    protected IScanResultStore Results => Stores.Results;

    protected IScanPolicyStore Policies => Stores.Policies;

    protected static CancellationToken Ct => CancellationToken.None;

    protected abstract Task<ScanStores> OpenAsync(TimeProvider clock);

    protected abstract Task CloseAsync();

    public async Task InitializeAsync() => _stores = await OpenAsync(Clock);

    public Task DisposeAsync() => CloseAsync();

    protected static ProjectName P(string name) => ProjectName.Parse(name);

    protected async Task CreateProjectAsync(string name) =>
        Assert.Equal(ProjectCreateStatus.Created, (await Stores.Projects.CreateAsync(P(name), "", ProjectVisibility.Private, Ct)).Status);

    /// <summary>An OSV record as JSON text, read through <see cref="AdvisoryRecordReader"/> as the API and CLI do.</summary>
    protected static AdvisoryRecord Osv(string id, string modified, string? withdrawn = null, string summary = "s", params (string Ecosystem, string Name)[] packages)
    {
        var affected = string.Join(",", packages.Select(p =>
            $$"""{"package":{"ecosystem":{{System.Text.Json.JsonSerializer.Serialize(p.Ecosystem)}},"name":{{System.Text.Json.JsonSerializer.Serialize(p.Name)}}},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.10"}]}]}"""));
        var json = $$"""
            {"schema_version":"1.6.0","id":"{{id}}","modified":"{{modified}}",{{(withdrawn is null ? "" : $"\"withdrawn\":\"{withdrawn}\",")}}"summary":{{System.Text.Json.JsonSerializer.Serialize(summary)}},"affected":[{{affected}}]}
            """;
        return AdvisoryRecordReader.Read(Encoding.UTF8.GetBytes(json));
    }

    protected async Task<AdvisoryImport> ImportAsync(string source, params AdvisoryRecord[] records)
    {
        var start = await Advisories.BeginImportAsync(source, "admin", Clock.GetUtcNow(), TimeSpan.FromHours(1), Ct);
        Assert.Equal(AdvisoryImportStartStatus.Started, start.Status);
        var batch = await Advisories.AddBatchAsync(start.Import.Id, records, Clock.GetUtcNow(), Ct);
        Assert.Equal(AdvisoryImportStepStatus.Done, batch.Status);
        var finish = await Advisories.FinishImportAsync(start.Import.Id, Clock.GetUtcNow(), Ct);
        Assert.Equal(AdvisoryImportStepStatus.Done, finish.Status);
        return finish.Import!;
    }

    protected static Digest D(int n) => Digest.Compute(DigestAlgorithm.Sha256, BitConverter.GetBytes(n));

    protected ScanResult Done(Digest digest, string inventory = "{\"packages\":[]}", long version = 1, int critical = 0) =>
        new(digest, ScanStatus.Done, null, version, Clock.GetUtcNow(), inventory, "[]", new SeverityCounts(1, 2, 3, 4, critical), critical > 0 ? "CVE-2024-0001" : null, Clock.GetUtcNow());
}
