using Berth.Core.Scanning;

namespace Berth.Access.Conformance;

/// <summary><see cref="IAdvisoryStore"/>: imports and their counts, the replacement rule, lookups, withdrawn records, serialised imports.</summary>
public abstract partial class ScanStoreConformance
{
    [Fact]
    public async Task Advisories_EmptyDatabase_StatusIsVersionZero()
    {
        var status = await Advisories.GetStatusAsync(Ct);
        Assert.Equal(0, status.Version);
        Assert.Null(status.UpdatedAt);
        Assert.Equal(0, status.Records);
        Assert.Empty(status.Sources);
        Assert.Empty(status.Ecosystems);
        Assert.Null(status.Running);
        Assert.Empty(await Advisories.FindAsync("Debian:12", "openssl", Ct));
    }

    [Fact]
    public async Task Advisories_Import_CountsStatusAndFindByEcosystemWithRelease()
    {
        var import = await ImportAsync("debian-osv",
            Osv("DSA-1", "2024-01-01T00:00:00Z", packages: [("Debian:12", "openssl"), ("Debian:11", "openssl")]),
            Osv("DSA-2", "2024-01-02T00:00:00.5Z", packages: [("Debian:12", "openssl")]),
            Osv("GHSA-w", "2024-01-03T00:00:00Z", withdrawn: "2024-02-01T00:00:00Z", packages: [("Debian:12", "openssl")]),
            Osv("DSA-3", "2024-01-04T00:00:00Z", packages: [("Debian:12", "curl")]));

        Assert.Equal(AdvisoryImportStatus.Finished, import.Status);
        Assert.Equal((4L, 0L, 0L, 1L), (import.Added, import.Updated, import.Unchanged, import.Withdrawn));
        Assert.Equal(import.Id, import.Version);

        var hits = await Advisories.FindAsync("Debian:12", "openssl", Ct);
        Assert.Equal(["DSA-1", "DSA-2"], hits.Select(h => h.Id)); // the withdrawn record is stored but never matched
        Assert.All(hits, h => Assert.Equal("openssl", h.LookupName));
        Assert.Contains("\"id\":\"DSA-2\"", hits[1].Json, StringComparison.Ordinal);
        Assert.Contains("\"fixed\":\"1.10\"", hits[1].Json, StringComparison.Ordinal); // versions stay strings
        Assert.Equal(["DSA-1"], (await Advisories.FindAsync("Debian:11", "openssl", Ct)).Select(h => h.Id));
        Assert.Empty(await Advisories.FindAsync("Debian", "openssl", Ct)); // the release is part of the ecosystem
        Assert.Empty(await Advisories.FindAsync("Debian:12", "OpenSSL", Ct)); // Debian names compare exactly

        var withdrawn = await Advisories.GetAsync("GHSA-w", Ct);
        Assert.NotNull(withdrawn);
        Assert.Equal(DateTimeOffset.Parse("2024-02-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), withdrawn.Withdrawn);
        Assert.Equal([new AdvisoryPackage("Debian:12", "openssl")], withdrawn.Packages);
        Assert.Null(await Advisories.GetAsync("nope", Ct));

        var status = await Advisories.GetStatusAsync(Ct);
        Assert.Equal(import.Id, status.Version);
        Assert.Equal(Clock.GetUtcNow(), status.UpdatedAt);
        Assert.Equal(4, status.Records);
        Assert.Equal(1, status.WithdrawnRecords);
        var source = Assert.Single(status.Sources);
        Assert.Equal("debian-osv", source.Source);
        Assert.Equal(4, source.Records);
        Assert.Equal(import.Id, source.LastImport!.Id);
        Assert.Equal([new AdvisoryEcosystemCount("Debian:11", 1), new AdvisoryEcosystemCount("Debian:12", 3)], status.Ecosystems);
        Assert.Null(status.Running);
    }

    [Fact]
    public async Task Advisories_Reimport_OlderKeepsStoredNewerReplacesAndReindexes()
    {
        var first = await ImportAsync("a",
            Osv("R-1", "2024-05-01T00:00:00Z", summary: "first", packages: [("PyPI", "requests")]),
            Osv("R-2", "2024-05-01T00:00:00Z", summary: "same", packages: [("PyPI", "urllib3")]),
            Osv("R-3", "2024-05-01T00:00:00Z", summary: "live", packages: [("npm", "left-pad")]));

        Clock.Advance(TimeSpan.FromMinutes(5));
        var second = await ImportAsync("b",
            Osv("R-1", "2024-04-01T00:00:00Z", summary: "older", packages: [("PyPI", "other")]),       // older: ignored
            Osv("R-2", "2024-05-01T00:00:00Z", summary: "same", packages: [("PyPI", "urllib3")]),      // identical: unchanged
            Osv("R-3", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", "gone", ("npm", "right-pad")), // newer and withdrawn
            Osv("R-4", "2024-06-01T00:00:00Z", packages: [("PyPI", "requests")]));

        Assert.Equal((1L, 1L, 2L, 1L), (second.Added, second.Updated, second.Unchanged, second.Withdrawn));
        Assert.True(second.Version > first.Version);
        Assert.Contains("\"summary\":\"first\"", (await Advisories.GetAsync("R-1", Ct))!.Json, StringComparison.Ordinal);
        Assert.Equal(["R-1", "R-4"], (await Advisories.FindAsync("PyPI", "requests", Ct)).Select(h => h.Id));
        Assert.Empty(await Advisories.FindAsync("PyPI", "other", Ct));
        Assert.Empty(await Advisories.FindAsync("npm", "left-pad", Ct)); // its index moved with the newer text
        Assert.Empty(await Advisories.FindAsync("npm", "right-pad", Ct)); // and it is withdrawn

        // Per source: the records each source wrote last, and each source's latest import.
        var status = await Advisories.GetStatusAsync(Ct);
        Assert.Equal(second.Id, status.Version);
        Assert.Equal([("a", 2L), ("b", 2L)], status.Sources.Select(s => (s.Source, s.Records)));
        Assert.Equal([first.Id, second.Id], status.Sources.Select(s => s.LastImport!.Id));

        // Same modified time with another text replaces (the later import wins a tie).
        Clock.Advance(TimeSpan.FromMinutes(5));
        var third = await ImportAsync("a", Osv("R-2", "2024-05-01T00:00:00Z", summary: "corrected", packages: [("PyPI", "urllib3")]));
        Assert.Equal((0L, 1L, 0L), (third.Added, third.Updated, third.Unchanged));
        Assert.Contains("corrected", (await Advisories.FindAsync("PyPI", "urllib3", Ct))[0].Json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Advisories_PyPiAndNuGetNames_AreComparedNormalised()
    {
        await ImportAsync("pypa",
            Osv("PYSEC-1", "2024-01-01T00:00:00Z", packages: [("PyPI", "Zope.Interface")]),
            Osv("PYSEC-2", "2024-01-01T00:00:00Z", packages: [("PyPI", "ruamel_yaml")]),
            Osv("GHSA-n", "2024-01-01T00:00:00Z", packages: [("NuGet", "Newtonsoft.Json")]));

        var hit = Assert.Single(await Advisories.FindAsync("PyPI", "zope-interface", Ct));
        Assert.Equal(("zope-interface", "PYSEC-1"), (hit.LookupName, hit.Id));
        Assert.Equal("PYSEC-2", Assert.Single(await Advisories.FindAsync("PyPI", "Ruamel.-_YAML", Ct)).Id);
        Assert.Equal("GHSA-n", Assert.Single(await Advisories.FindAsync("NuGet", "newtonsoft.json", Ct)).Id);
        Assert.Equal(["PYSEC-2", "PYSEC-1"], (await Advisories.FindManyAsync("PyPI", ["ZOPE_interface", "ruamel.yaml"], Ct)).Select(h => h.Id));
    }

    [Fact]
    public async Task Advisories_OddNames_RoundTripAndMatchOnlyThemselves()
    {
        string[] names = ["org.apache.logging.log4j:log4j-core", "github.com/foo/bar/v2", "@scope/pkg", "naïve-ünïcödé", "it's \"quoted\"", "100%_like", "a\\b", "名前", "x OR 1=1; --"];
        await ImportAsync("odd", names.Select((n, i) => Osv("ODD-" + i, "2024-01-01T00:00:00Z", packages: [("Maven", n)])).ToArray());

        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal("ODD-" + i, Assert.Single(await Advisories.FindAsync("Maven", names[i], Ct)).Id);
        }

        Assert.Empty(await Advisories.FindAsync("Maven", "100%", Ct)); // no LIKE anywhere
        Assert.Empty(await Advisories.FindAsync("Maven", "100a_like", Ct));
        Assert.Empty(await Advisories.FindAsync("Maven", "name\0with-nul", Ct));
        Assert.Equal(names.Length, (await Advisories.FindManyAsync("Maven", names, Ct)).Count);
    }

    [Fact]
    public async Task Advisories_FindMany_ThousandsOfNamesInOneCall_FindsEveryHitOnce()
    {
        var records = Enumerable.Range(0, 1200).Select(i => Osv($"GO-{i:D5}", "2024-01-01T00:00:00Z", packages: [("Go", $"example.com/m{i:D5}"), ("Go", $"example.com/shared{i % 3}")])).ToArray();
        await ImportAsync("go", records);

        // 3,000 names (and duplicates): every module that has a record, plus 1,800 without one.
        var names = Enumerable.Range(0, 3000).Select(i => $"example.com/m{i:D5}").Concat(["example.com/m00001", "example.com/shared1"]).ToList();
        var hits = await Advisories.FindManyAsync("Go", names, Ct);

        Assert.Equal(1200 + 400, hits.Count); // one hit per (name, record): the shared module is named by 400 records
        Assert.Equal(hits.OrderBy(h => h.LookupName, StringComparer.Ordinal).ThenBy(h => h.Id, StringComparer.Ordinal).Select(h => (h.LookupName, h.Id)),
            hits.Select(h => (h.LookupName, h.Id)));
        Assert.Equal(hits.Count, hits.DistinctBy(h => (h.LookupName, h.Id)).Count()); // no duplicates
        Assert.Empty(await Advisories.FindManyAsync("Go", [], Ct));
        Assert.Empty(await Advisories.FindManyAsync("npm", names, Ct));
    }

    [Fact]
    public async Task Advisories_InterruptedImport_LeavesDataUsableVersionUnchangedAndShowsRunning()
    {
        var finished = await ImportAsync("first", Osv("A-1", "2024-01-01T00:00:00Z", packages: [("npm", "lodash")]));
        Clock.Advance(TimeSpan.FromMinutes(1));
        var start = await Advisories.BeginImportAsync("second", "admin", Clock.GetUtcNow(), TimeSpan.FromHours(1), Ct);
        Assert.Equal(AdvisoryImportStepStatus.Done, (await Advisories.AddBatchAsync(start.Import.Id, [Osv("A-2", "2024-01-01T00:00:00Z", packages: [("npm", "lodash")])], Clock.GetUtcNow(), Ct)).Status);

        // The importer dies here. Matching goes on with every stored record; the version is the last finished import's.
        Assert.Equal(["A-1", "A-2"], (await Advisories.FindAsync("npm", "lodash", Ct)).Select(h => h.Id));
        var status = await Advisories.GetStatusAsync(Ct);
        Assert.Equal(finished.Version, status.Version);
        Assert.NotNull(status.Running);
        Assert.Equal((start.Import.Id, "second", 1L), (status.Running.Id, status.Running.Source, status.Running.Added));
        Assert.Equal(AdvisoryImportStatus.Running, status.Sources.Single(s => s.Source == "second").LastImport!.Status);

        // A second import is refused while the first is live, and starts once it has been idle past the stale time.
        var busy = await Advisories.BeginImportAsync("third", "admin", Clock.GetUtcNow().AddMinutes(59), TimeSpan.FromHours(1), Ct);
        Assert.Equal(AdvisoryImportStartStatus.Busy, busy.Status);
        Assert.Equal(start.Import.Id, busy.Import.Id);
        var third = await Advisories.BeginImportAsync("third", "admin", Clock.GetUtcNow().AddMinutes(61), TimeSpan.FromHours(1), Ct);
        Assert.Equal(AdvisoryImportStartStatus.Started, third.Status);
        Assert.True(third.Import.Id > start.Import.Id);

        var late = await Advisories.AddBatchAsync(start.Import.Id, [Osv("A-3", "2024-01-01T00:00:00Z", packages: [("npm", "lodash")])], Clock.GetUtcNow(), Ct);
        Assert.Equal(AdvisoryImportStepStatus.NotRunning, late.Status);
        Assert.Equal(AdvisoryImportStatus.Abandoned, late.Import!.Status);
        Assert.Equal(AdvisoryImportStepStatus.NotRunning, (await Advisories.FinishImportAsync(start.Import.Id, Clock.GetUtcNow(), Ct)).Status);
        Assert.Null(await Advisories.GetAsync("A-3", Ct));

        Assert.Equal(AdvisoryImportStepStatus.Done, (await Advisories.FinishImportAsync(third.Import.Id, Clock.GetUtcNow(), Ct)).Status);
        Assert.Equal(AdvisoryImportStepStatus.NotRunning, (await Advisories.FinishImportAsync(third.Import.Id, Clock.GetUtcNow(), Ct)).Status);
        Assert.Equal(third.Import.Id, (await Advisories.GetStatusAsync(Ct)).Version);
        Assert.Equal(AdvisoryImportStepStatus.NotFound, (await Advisories.FinishImportAsync(999_999, Clock.GetUtcNow(), Ct)).Status);
        Assert.Equal(AdvisoryImportStepStatus.NotFound, (await Advisories.AddBatchAsync(999_999, [], Clock.GetUtcNow(), Ct)).Status);
        Assert.Null(await Advisories.GetImportAsync(999_999, Ct));
    }

    [Fact]
    public async Task Advisories_ConcurrentBegins_StartExactlyOne()
    {
        var starts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => Advisories.BeginImportAsync("s" + i, "admin", Clock.GetUtcNow(), TimeSpan.FromHours(1), Ct))));

        var started = Assert.Single(starts, s => s.Status == AdvisoryImportStartStatus.Started);
        Assert.All(starts.Where(s => s.Status == AdvisoryImportStartStatus.Busy), s => Assert.Equal(started.Import.Id, s.Import.Id));
    }

    [Fact]
    public async Task Advisories_LargeRecord_RoundTripsAndOversizeIsRefused()
    {
        var big = Osv("BIG-1", "2024-01-01T00:00:00Z", summary: new string('x', AdvisoryLimits.MaxRecordBytes - 2000), packages: [("npm", "big")]);
        await ImportAsync("big", big);
        Assert.Equal(big.Json, Assert.Single(await Advisories.FindAsync("npm", "big", Ct)).Json);

        Assert.Throws<FormatException>(() => Osv("BIG-2", "2024-01-01T00:00:00Z", summary: new string('x', AdvisoryLimits.MaxRecordBytes), packages: [("npm", "big")]));
        var start = await Advisories.BeginImportAsync("big", "admin", Clock.GetUtcNow(), TimeSpan.FromHours(1), Ct);
        var forged = big with { Id = "BIG-3", Json = new string('y', AdvisoryLimits.MaxRecordBytes + 1) };
        await Assert.ThrowsAsync<ArgumentException>(() => Advisories.AddBatchAsync(start.Import.Id, [forged], Clock.GetUtcNow(), Ct));
        Assert.Null(await Advisories.GetAsync("BIG-3", Ct));
    }

    [Fact]
    public async Task Advisories_SameIdTwiceInOneBatch_LaterNewerWins()
    {
        var import = await ImportAsync("dup",
            Osv("D-1", "2024-01-01T00:00:00Z", summary: "one", packages: [("npm", "a")]),
            Osv("D-1", "2024-02-01T00:00:00Z", summary: "two", packages: [("npm", "b")]),
            Osv("D-1", "2024-01-15T00:00:00Z", summary: "three", packages: [("npm", "c")]));

        Assert.Equal((1L, 1L, 1L), (import.Added, import.Updated, import.Unchanged));
        Assert.Contains("\"summary\":\"two\"", (await Advisories.GetAsync("D-1", Ct))!.Json, StringComparison.Ordinal);
        Assert.Single(await Advisories.FindAsync("npm", "b", Ct));
        Assert.Empty(await Advisories.FindAsync("npm", "a", Ct));
    }
}
