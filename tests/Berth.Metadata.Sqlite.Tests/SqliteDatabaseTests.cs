using Berth.Core.Storage;
using Berth.Metadata.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Metadata.Sqlite.Tests;

/// <summary>SQLite-specific behaviour of <see cref="SqliteDatabase"/> that the conformance suite cannot see.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "berth-sqlite-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_folder, "berth.db");

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Dispose_DuringAWrite_WaitsForTheWriteToCommit()
    {
        var database = Open();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var write = Task.Run(() => database.WriteAsync((c, _) =>
        {
            c.Command("INSERT INTO repositories (name, created_at) VALUES ('during/dispose', 0)").ExecuteNonQuery();
            entered.Set();
            release.Wait();
            return (true, true);
        }, CancellationToken.None));
        entered.Wait();

        var dispose = Task.Run(database.Dispose);
        await Task.WhenAny(dispose, Task.Delay(250)); // let Dispose reach the write in progress
        release.Set();

        Assert.True(await write);
        await dispose;
        using var reopened = Open();
        Assert.Equal(1L, reopened.Read(c => (long)c.Command("SELECT COUNT(*) FROM repositories WHERE name = 'during/dispose'").ExecuteScalar()!));
    }

    [Fact]
    public async Task WriteAsync_AfterDispose_ThrowsObjectDisposedException()
    {
        var database = Open();
        database.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => database.WriteAsync((_, _) => (true, true), CancellationToken.None));
        Assert.Throws<ObjectDisposedException>(() => database.Read(_ => true));
    }

    [Fact]
    public void Dispose_Twice_IsHarmless()
    {
        var database = Open();

        database.Dispose();
        database.Dispose();

        using var reopened = Open();
        Assert.Equal(0L, reopened.Read(c => (long)c.Command("SELECT COUNT(*) FROM repositories").ExecuteScalar()!));
    }

    [Fact]
    public async Task Open_NewDatabase_FileAndItsWalAreOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var database = Open();
        await database.WriteAsync((c, _) =>
        {
            c.Command("INSERT INTO repositories (name, created_at) VALUES ('x', 0)").ExecuteNonQuery();
            return (true, true);
        }, CancellationToken.None);

        // SQLite would create berth.db 0644 (less the umask) and gives -wal and -shm the database's mode.
        Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(_folder));
        foreach (var file in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm" })
        {
            Assert.True(File.Exists(file), file);
            Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Open_ExistingDatabase_KeepsItsData()
    {
        using (var first = Open())
        {
            await first.WriteAsync((c, _) =>
            {
                c.Command("INSERT INTO repositories (name, created_at) VALUES ('kept', 0)").ExecuteNonQuery();
                return (true, true);
            }, CancellationToken.None);
        }

        using var second = Open();
        Assert.Equal(1L, second.Read(c => (long)c.Command("SELECT COUNT(*) FROM repositories WHERE name = 'kept'").ExecuteScalar()!));
    }

    [Fact]
    public async Task WriteAsync_RollbackRequested_StoresNothing()
    {
        using var database = Open();

        await database.WriteAsync((c, _) =>
        {
            c.Command("INSERT INTO repositories (name, created_at) VALUES ('rolled/back', 0)").ExecuteNonQuery();
            return (false, false);
        }, CancellationToken.None);

        Assert.Equal(0L, database.Read(c => (long)c.Command("SELECT COUNT(*) FROM repositories").ExecuteScalar()!));
    }

    [Fact]
    public async Task WriteAsync_Throwing_RollsBackAndTheNextWriteWorks()
    {
        using var database = Open();

        await Assert.ThrowsAsync<InvalidOperationException>(() => database.WriteAsync<bool>((c, _) =>
        {
            c.Command("INSERT INTO repositories (name, created_at) VALUES ('thrown', 0)").ExecuteNonQuery();
            throw new InvalidOperationException("boom");
        }, CancellationToken.None));
        await database.WriteAsync((c, _) =>
        {
            c.Command("INSERT INTO repositories (name, created_at) VALUES ('next', 0)").ExecuteNonQuery();
            return (true, true);
        }, CancellationToken.None);

        Assert.Equal("next", database.Read(c => (string)c.Command("SELECT group_concat(name) FROM repositories").ExecuteScalar()!));
    }

    /// <summary>What start-up does: the migrator creates and migrates the file, then the database opens it.</summary>
    private SqliteDatabase Open()
    {
        var options = Options.Create(new SqliteMetadataOptions { DatabasePath = DatabasePath });
        new SqliteMigrator(options).Migrate();
        return new SqliteDatabase(options);
    }
}
