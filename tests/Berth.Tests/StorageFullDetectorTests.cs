using System.Net;
using Amazon.S3;
using Berth.Core.Storage;
using Berth.Metadata.Postgres;
using Berth.Metadata.Sqlite;
using Berth.Storage.Azure;
using Berth.Storage.S3;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Berth.Tests;

/// <summary>Each provider's "out of room" error is recognised as the storage being full (507), and nothing else is.</summary>
public sealed class StorageFullDetectorTests
{
    [Fact]
    public void Sqlite_RealSqliteFull_Recognised()
    {
        // A real SQLITE_FULL: the database may not grow past its page limit, as when the disk has no room for it.
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "CREATE TABLE t (v BLOB); PRAGMA max_page_count = 8;";
            setup.ExecuteNonQuery();
        }

        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO t VALUES (zeroblob(4096))";
        var full = Assert.Throws<SqliteException>(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                insert.ExecuteNonQuery();
            }
        });

        Assert.Equal(SqliteStorageFull.ErrorCode, full.SqliteErrorCode);
        Assert.True(new SqliteStorageFull().IsStorageFull(full));
        Assert.False(new SqliteStorageFull().IsStorageFull(new SqliteException("busy", 5)));
    }

    [Fact]
    public void Postgres_DiskFull_Recognised()
    {
        var detector = new PostgresStorageFull();
        Assert.True(detector.IsStorageFull(new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull)));
        Assert.False(detector.IsStorageFull(new PostgresException("duplicate", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation)));
    }

    [Theory]
    [InlineData("QuotaExceeded", HttpStatusCode.Forbidden, true)] // Ceph radosgw bucket or user quota
    [InlineData("XMinioStorageFull", HttpStatusCode.InsufficientStorage, true)]
    [InlineData("XMinioAdminBucketQuotaExceeded", HttpStatusCode.BadRequest, true)]
    [InlineData("SomethingElse", HttpStatusCode.InsufficientStorage, true)]
    [InlineData("AccessDenied", HttpStatusCode.Forbidden, false)]
    [InlineData("EntityTooLarge", HttpStatusCode.BadRequest, false)] // one object over 5 GiB: not a full store
    public void S3_QuotaCodes_Recognised(string code, HttpStatusCode status, bool full)
    {
        var exception = new AmazonS3Exception("refused") { ErrorCode = code, StatusCode = status };
        Assert.Equal(full, new S3StorageFull().IsStorageFull(exception));
        Assert.Equal(full, new StorageFullClassifier([new S3StorageFull()]).IsStorageFull(new IOException("wrapped", exception)));
    }

    [Fact]
    public void Azure_InsufficientStorage_Recognised()
    {
        Assert.True(new AzureStorageFull().IsStorageFull(new global::Azure.RequestFailedException(507, "full")));
        Assert.False(new AzureStorageFull().IsStorageFull(new global::Azure.RequestFailedException(403, "AuthorizationFailure")));
    }
}
