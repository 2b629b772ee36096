using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Core.Signing;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Access.Conformance;

/// <summary>The signature-trust store of one provider, opened on an empty database, with the project and scan-policy stores of the same database.</summary>
public sealed record TrustStores(IProjectStore Projects, ITrustStore Trust, IScanPolicyStore Policies);

/// <summary>
/// The contract of <see cref="ITrustStore"/> and of the signed-only switch of <see cref="IScanPolicyStore"/> (issue 15).
/// Every provider runs it by deriving a class that opens its stores on a fresh, empty database per test.
/// </summary>
public abstract partial class TrustStoreConformance : IAsyncLifetime
{
    protected static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Not a real key: the stores keep the text as given (the API validates it before it stores it).</summary>
    protected const string KeyPem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";

    protected const string RootPem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";

    private TrustStores? _stores;

    protected FakeTimeProvider Clock { get; } = new(Start);

    protected TrustStores Stores => _stores ?? throw new InvalidOperationException("Not opened.");

    protected ITrustStore Trust => Stores.Trust;

    protected IScanPolicyStore Policies => Stores.Policies;

    protected static CancellationToken Ct => CancellationToken.None;

    protected abstract Task<TrustStores> OpenAsync(TimeProvider clock);

    protected abstract Task CloseAsync();

    public async Task InitializeAsync() => _stores = await OpenAsync(Clock);

    public Task DisposeAsync() => CloseAsync();

    protected static ProjectName P(string name) => ProjectName.Parse(name);

    protected async Task CreateProjectAsync(string name) =>
        Assert.Equal(ProjectCreateStatus.Created, (await Stores.Projects.CreateAsync(P(name), "", ProjectVisibility.Private, Ct)).Status);

    protected TrustEntry Key(string? project, string name, string fingerprint = "SHA256:key") =>
        new(0, project is null ? null : P(project), name, TrustKind.Key, KeyPem, [], fingerprint, "alice", Clock.GetUtcNow());

    protected TrustEntry Root(string? project, string name, params string[] identities) =>
        new(0, project is null ? null : P(project), name, TrustKind.Root, RootPem, identities, "SHA256:root", "bob", Clock.GetUtcNow());

    protected async Task<TrustEntry> AddedAsync(TrustEntry entry)
    {
        var result = await Trust.AddAsync(entry, Ct);
        Assert.Equal(TrustAddStatus.Added, result.Status);
        return result.Entry!;
    }
}
