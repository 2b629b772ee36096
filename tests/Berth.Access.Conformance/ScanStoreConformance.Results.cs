using Berth.Core.Metadata;
using Berth.Core.Scanning;
using Berth.Oci;

namespace Berth.Access.Conformance;

/// <summary><see cref="IScanResultStore"/>: results per digest, the inventory walk, the queue and its claims.</summary>
public abstract partial class ScanStoreConformance
{
    [Fact]
    public async Task ScanResults_UpsertGetManyDelete_RoundTripEveryField()
    {
        Assert.Null(await Results.GetAsync(D(1), Ct));
        var inventory = "{\"packages\":[" + string.Join(",", Enumerable.Range(0, 3000).Select(i => $"{{\"name\":\"pkg{i}\",\"version\":\"1.{i}\"}}")) + "]}"; // ~100 KB
        var done = Done(D(1), inventory, version: 7, critical: 2) with { Findings = "[{\"id\":\"CVE-2024-0001\"}]", WorstIds = "CVE-2024-0001, CVE-2024-0002" };
        await Results.UpsertAsync(done, Ct);
        await Results.UpsertAsync(new ScanResult(D(2), ScanStatus.Failed, "layer sha256:ab… is truncated", null, null, null, null, default, null, Clock.GetUtcNow()), Ct);
        await Results.UpsertAsync(new ScanResult(D(3), ScanStatus.Unsupported, null, 7, Clock.GetUtcNow(), null, null, default, null, Clock.GetUtcNow()), Ct);

        var read = await Results.GetAsync(D(1), Ct);
        Assert.NotNull(read);
        Assert.Equal((ScanStatus.Done, 7L, Clock.GetUtcNow()), (read.Status, read.DatabaseVersion!.Value, read.ScannedAt!.Value));
        Assert.Equal(inventory, read.Inventory);
        Assert.Equal(done.Findings, read.Findings);
        Assert.Equal(new SeverityCounts(1, 2, 3, 4, 2), read.Counts);
        Assert.Equal(12, read.Counts.Total);
        Assert.Equal("CVE-2024-0001, CVE-2024-0002", read.WorstIds);
        Assert.Null(read.ClaimedBy);
        Assert.Equal("layer sha256:ab… is truncated", (await Results.GetAsync(D(2), Ct))!.Error);

        var many = await Results.GetManyAsync([D(1), D(3), D(4), D(1)], Ct);
        Assert.Equal([D(1), D(3)], many.Select(r => r.Digest).OrderBy(d => d == D(1) ? 0 : 1));
        Assert.Empty(await Results.GetManyAsync([], Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Results.GetManyAsync(Enumerable.Range(0, ScanLimits.MaxDigestsPerQuery + 1).Select(D).ToList(), Ct));

        // Replacing is whole: a later scan's counts and texts replace the earlier ones.
        await Results.UpsertAsync(Done(D(1), "{}", version: 8), Ct);
        read = await Results.GetAsync(D(1), Ct);
        Assert.Equal(("{}", 0, (string?)null), (read!.Inventory, read.Counts.Critical, read.WorstIds));

        Assert.Equal(DeleteResult.Deleted, await Results.DeleteAsync(D(1), Ct));
        Assert.Equal(DeleteResult.NotFound, await Results.DeleteAsync(D(1), Ct));
        Assert.Null(await Results.GetAsync(D(1), Ct));

        await Assert.ThrowsAsync<ArgumentException>(() => Results.UpsertAsync(Done(D(5)) with { WorstIds = new string('C', ScanLimits.MaxShortText + 1) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Results.UpsertAsync(Done(D(5)) with { Counts = new SeverityCounts(0, 0, -1, 0, 0) }, Ct));
    }

    [Fact]
    public async Task ScanResults_ListInventories_WalksFinishedScansByDigestInKeysetPages()
    {
        for (var i = 0; i < 25; i++)
        {
            await Results.UpsertAsync(Done(D(i), $"{{\"n\":{i}}}", version: i), Ct);
        }

        await Results.UpsertAsync(new ScanResult(D(100), ScanStatus.Failed, "boom", null, null, null, null, default, null, Clock.GetUtcNow()), Ct);
        await Results.EnqueueAsync(D(101), Clock.GetUtcNow(), TimeSpan.FromMinutes(10), Ct);

        var all = new List<StoredInventory>();
        Digest? after = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 10);
            var page = await Results.ListInventoriesAsync(after, 10, Ct);
            all.AddRange(page.Items);
            if (!page.HasMore)
            {
                break;
            }

            Assert.Equal(10, page.Items.Count);
            after = page.Items[^1].Digest;
        }

        Assert.Equal(Enumerable.Range(0, 25).Select(D).OrderBy(d => d.ToString(), StringComparer.Ordinal), all.Select(s => s.Digest));
        var five = all.Single(s => s.Digest == D(5));
        Assert.Equal(("{\"n\":5}", 5L), (five.Inventory, five.DatabaseVersion!.Value));
    }

    [Fact]
    public async Task ScanQueue_EnqueueClaimLeaseAndRescan()
    {
        var lease = TimeSpan.FromMinutes(10);
        Assert.Equal(ScanEnqueueResult.Queued, await Results.EnqueueAsync(D(1), Clock.GetUtcNow(), lease, Ct));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ScanEnqueueResult.Queued, await Results.EnqueueAsync(D(2), Clock.GetUtcNow(), lease, Ct));
        Assert.Equal(ScanEnqueueResult.AlreadyQueued, await Results.EnqueueAsync(D(1), Clock.GetUtcNow(), lease, Ct));
        Assert.Equal(ScanStatus.Queued, (await Results.GetAsync(D(1), Ct))!.Status);
        Assert.Equal(Start, (await Results.GetAsync(D(1), Ct))!.QueuedAt); // a repeated enqueue keeps its place

        Assert.Equal([D(1), D(2)], (await Results.ListQueueAsync(Clock.GetUtcNow(), lease, 10, Ct)).Select(q => q.Digest));

        Assert.True(await Results.TryClaimAsync(D(1), "node-a", Clock.GetUtcNow(), lease, Ct));
        Assert.False(await Results.TryClaimAsync(D(1), "node-b", Clock.GetUtcNow(), lease, Ct));
        Assert.False(await Results.TryClaimAsync(D(9), "node-b", Clock.GetUtcNow(), lease, Ct)); // never queued
        var claimed = (await Results.GetAsync(D(1), Ct))!;
        Assert.Equal((ScanStatus.Scanning, "node-a", Clock.GetUtcNow()), (claimed.Status, claimed.ClaimedBy, claimed.ClaimedAt!.Value));
        Assert.Equal(ScanEnqueueResult.AlreadyQueued, await Results.EnqueueAsync(D(1), Clock.GetUtcNow(), lease, Ct)); // being scanned
        Assert.Equal([D(2)], (await Results.ListQueueAsync(Clock.GetUtcNow(), lease, 10, Ct)).Select(q => q.Digest));

        Assert.Equal(D(2), await Results.ClaimNextAsync("node-b", Clock.GetUtcNow(), lease, Ct));
        Assert.Null(await Results.ClaimNextAsync("node-b", Clock.GetUtcNow(), lease, Ct));

        // node-a dies: after the lease its claim can be taken over, once.
        Clock.Advance(lease + TimeSpan.FromSeconds(1));
        var stale = await Results.ListQueueAsync(Clock.GetUtcNow(), lease, 10, Ct);
        Assert.Equal([(D(1), ScanStatus.Scanning, "node-a"), (D(2), ScanStatus.Scanning, "node-b")], stale.Select(q => (q.Digest, q.Status, q.ClaimedBy)));
        Assert.Equal(D(1), await Results.ClaimNextAsync("node-c", Clock.GetUtcNow(), lease, Ct));
        Assert.False(await Results.TryClaimAsync(D(1), "node-d", Clock.GetUtcNow(), lease, Ct));

        // The finished scan ends the claim; a rescan queues it again and keeps the data readable meanwhile.
        await Results.UpsertAsync(Done(D(1), "{\"x\":1}", critical: 1) with { ClaimedBy = "node-c", ClaimedAt = Clock.GetUtcNow() }, Ct);
        var done = (await Results.GetAsync(D(1), Ct))!;
        Assert.Equal((ScanStatus.Done, (string?)null), (done.Status, done.ClaimedBy));
        Assert.Equal(Start, done.QueuedAt);
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ScanEnqueueResult.Queued, await Results.EnqueueAsync(D(1), Clock.GetUtcNow(), lease, Ct));
        var requeued = (await Results.GetAsync(D(1), Ct))!;
        Assert.Equal((ScanStatus.Queued, "{\"x\":1}", 1, Clock.GetUtcNow()), (requeued.Status, requeued.Inventory, requeued.Counts.Critical, requeued.QueuedAt!.Value));
    }

    [Fact]
    public async Task ScanQueue_ConcurrentClaims_EachDigestGoesToOneNode()
    {
        var lease = TimeSpan.FromMinutes(10);
        for (var i = 0; i < 6; i++)
        {
            await Results.EnqueueAsync(D(i), Clock.GetUtcNow().AddMilliseconds(i), lease, Ct);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(n =>
            Task.Run(() => Results.ClaimNextAsync("node-" + n, Clock.GetUtcNow(), lease, Ct))));
        var won = claims.Where(c => c is not null).Select(c => c!.Value).ToList();
        Assert.Equal(6, won.Count);
        Assert.Equal(6, won.Distinct().Count());

        await Results.EnqueueAsync(D(50), Clock.GetUtcNow(), lease, Ct);
        var tries = await Task.WhenAll(Enumerable.Range(0, 16).Select(n =>
            Task.Run(() => Results.TryClaimAsync(D(50), "node-" + n, Clock.GetUtcNow(), lease, Ct))));
        Assert.Single(tries, t => t);
    }

    [Fact]
    public async Task ScanQueue_CompleteAndRenew_OnlyByTheNodeThatHoldsTheClaim()
    {
        var lease = TimeSpan.FromMinutes(10);
        await Results.EnqueueAsync(D(1), Clock.GetUtcNow(), lease, Ct);
        Assert.False(await Results.CompleteAsync(Done(D(1)), "node-a", Ct)); // queued, not claimed
        Assert.True(await Results.TryClaimAsync(D(1), "node-a", Clock.GetUtcNow(), lease, Ct));

        // node-a renews in time: its claim is not stale at the old lease end.
        Clock.Advance(TimeSpan.FromMinutes(8));
        Assert.True(await Results.RenewClaimAsync(D(1), "node-a", Clock.GetUtcNow(), Ct));
        Clock.Advance(TimeSpan.FromMinutes(8));
        Assert.False(await Results.TryClaimAsync(D(1), "node-b", Clock.GetUtcNow(), lease, Ct));

        // node-a goes quiet past its lease; node-b takes over. node-a's late result and renewal are refused.
        Clock.Advance(lease + TimeSpan.FromSeconds(1));
        Assert.True(await Results.TryClaimAsync(D(1), "node-b", Clock.GetUtcNow(), lease, Ct));
        Assert.False(await Results.RenewClaimAsync(D(1), "node-a", Clock.GetUtcNow(), Ct));
        Assert.False(await Results.CompleteAsync(Done(D(1), "{\"by\":\"a\"}"), "node-a", Ct));
        var scanning = (await Results.GetAsync(D(1), Ct))!;
        Assert.Equal((ScanStatus.Scanning, "node-b", (string?)null), (scanning.Status, scanning.ClaimedBy, scanning.Inventory));

        Assert.True(await Results.CompleteAsync(Done(D(1), "{\"by\":\"b\"}", critical: 3), "node-b", Ct));
        var done = (await Results.GetAsync(D(1), Ct))!;
        Assert.Equal((ScanStatus.Done, (string?)null, "{\"by\":\"b\"}", 3), (done.Status, done.ClaimedBy, done.Inventory, done.Counts.Critical));
        Assert.False(await Results.CompleteAsync(Done(D(1)), "node-b", Ct)); // once
        Assert.False(await Results.CompleteAsync(Done(D(2)), "node-b", Ct)); // no such row
    }
}
