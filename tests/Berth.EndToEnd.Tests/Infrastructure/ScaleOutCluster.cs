using System.Text;
using Berth.Testing.Servers;

namespace Berth.EndToEnd.Tests.Infrastructure;

/// <summary>
/// <c>berth serve</c> nodes as behind a load balancer: one throwaway PostgreSQL database (<see cref="TestPostgres"/>),
/// one throwaway radosgw bucket (<see cref="TestS3"/>) and one shared <c>--token-key-dir</c>. A class fixture of a
/// <c>[RequiresServer]</c> class: nothing is created until <see cref="EnsureStartedAsync"/>, so a class skipped for want
/// of its servers never connects to them. Disposal stops every node, then drops the database and every bucket.
/// </summary>
public abstract class ScaleOutCluster : IAsyncLifetime
{
    /// <summary>How long creating a database or a bucket may take: a server that accepts connections but never answers fails the class, not the run.</summary>
    private static readonly TimeSpan SetUpTimeout = TimeSpan.FromMinutes(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<BerthProcess> _nodes = [];
    private readonly List<TestS3.TestBucket> _buckets = [];
    private readonly string _name;
    private TestPostgres.TestDatabase? _database;
    private TestS3.TestBucket? _bucket;
    private TempDirectory? _keys;
    private bool _started;
    private Exception? _failure;

    /// <param name="name">For the database's and bucket's names.</param>
    protected ScaleOutCluster(string name) => _name = name;

    public TestPostgres.TestDatabase Database => _database ?? throw NotStarted();

    /// <summary>The bucket every node started without another one stores its blobs in.</summary>
    public TestS3.TestBucket Bucket => _bucket ?? throw NotStarted();

    /// <summary>The signing keys' folder every node shares (<c>--token-key-dir</c>).</summary>
    public string KeyFolder => _keys?.Path ?? throw NotStarted();

    /// <summary>Every node started so far, in order.</summary>
    public IReadOnlyList<BerthProcess> Nodes
    {
        get
        {
            lock (_nodes)
            {
                return [.. _nodes];
            }
        }
    }

    /// <summary>Creates the database, the bucket and the key folder, then <see cref="StartNodesAsync"/>; once.</summary>
    public async Task EnsureStartedAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_started)
            {
                return;
            }

            // A set-up that failed once fails the class's other tests at once, instead of each waiting for it again.
            if (_failure is not null)
            {
                throw new InvalidOperationException("the cluster could not be set up: " + _failure.Message, _failure);
            }

            try
            {
                await SetUpAsync();
            }
            catch (Exception ex)
            {
                _failure = ex;
                throw;
            }

            _started = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SetUpAsync()
    {
        _database = await WithinAsync(TestPostgres.CreateDatabaseAsync(_name), $"PostgreSQL ({TestPostgres.EndpointVariable}) created no database");
        _bucket = await CreateBucketAsync();
        _keys = new TempDirectory($"berth-{_name}-keys");
        await StartNodesAsync();
    }

    /// <summary>The nodes the class's tests share, started one after the other (the first creates the administrator and the signing key).</summary>
    protected abstract Task StartNodesAsync();

    /// <summary>Another throwaway bucket, deleted at disposal (unless a test deleted it first).</summary>
    public async Task<TestS3.TestBucket> CreateBucketAsync()
    {
        var bucket = await WithinAsync(TestS3.CreateBucketAsync(_name), $"S3 at {TestS3.Endpoint} created no bucket");
        lock (_buckets)
        {
            _buckets.Add(bucket);
        }

        return bucket;
    }

    /// <summary>
    /// Starts a node on the cluster's database and key folder with <c>--storage</c> <paramref name="storage"/> (the
    /// cluster's bucket when null) and <paramref name="arguments"/> after them; stopped at disposal.
    /// </summary>
    public Task<BerthProcess> StartNodeAsync(string? storage = null, params string[] arguments) => StartNodeOnAsync(Database.Uri, storage, arguments);

    /// <summary>As <see cref="StartNodeAsync"/> with <c>--metadata</c> <paramref name="metadata"/> (the cluster's database reached another way).</summary>
    public async Task<BerthProcess> StartNodeOnAsync(Uri metadata, string? storage = null, params string[] arguments)
    {
        var node = await BerthProcess.StartWithEnvironmentAsync(
            Bucket.Environment,
            ["--metadata", metadata.ToString(), "--storage", storage ?? Bucket.StorageUri(), "--token-key-dir", KeyFolder, .. arguments]);
        lock (_nodes)
        {
            _nodes.Add(node);
        }

        return node;
    }

    /// <summary>Runs <paramref name="test"/>; a failure carries the end of every node's log.</summary>
    public async Task WithLogsAsync(Func<Task> test)
    {
        try
        {
            await test();
        }
        catch (Exception ex)
        {
            var logs = new StringBuilder();
            foreach (var node in Nodes)
            {
                logs.Append("\n---- node ").Append(node.Host).Append(" ----\n").Append(node.LogTail(30));
            }

            throw new InvalidOperationException(ex.Message + logs, ex);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var node in Nodes.Reverse())
        {
            await node.DisposeAsync();
        }

        _keys?.Dispose();
        foreach (var bucket in _buckets)
        {
            try
            {
                await bucket.DisposeAsync();
            }
            catch (Amazon.S3.AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // a test deleted it already
            }
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _gate.Dispose();
    }

    private static async Task<T> WithinAsync<T>(Task<T> work, string failure)
    {
        try
        {
            return await work.WaitAsync(SetUpTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{failure} within {SetUpTimeout.TotalSeconds:0} s: the server accepts connections but does not answer");
        }
    }

    private static InvalidOperationException NotStarted() => new("the cluster is not started: call EnsureStartedAsync first");
}
