using System.Net;
using Berth.Testing;

namespace Berth.Api.Tests;

/// <summary>Pushing blobs: POST /blobs/uploads/ (monolithic, session), PATCH, PUT, GET and DELETE of an upload.</summary>
public sealed class UploadTests : RegistryTest
{
    private const string Repository = "project/app";

    private static readonly string UploadPrefix = $"/v2/{Repository}/blobs/uploads/";

    // ---------------------------------------------------------------- monolithic

    [Fact]
    public async Task PostWithDigest_Monolithic_Returns201WithLocationAndDigest()
    {
        var content = TestImages.Bytes(4096, 1);
        var digest = TestImages.Sha256(content);

        using var response = await Client.PostAsync($"{UploadPrefix}?digest={digest}", new ByteArrayContent(content));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{Repository}/blobs/{digest}", response.Headers.Location?.OriginalString);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        using var get = await Client.GetAsync(response.Headers.Location);
        Assert.Equal(content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task PostWithDigest_WrongDigest_Returns400DigestInvalidAndStoresNothing()
    {
        var content = TestImages.Bytes(100, 2);
        var claimed = TestImages.Sha256(TestImages.Bytes(100, 3));

        using var response = await Client.PostAsync($"{UploadPrefix}?digest={claimed}", new ByteArrayContent(content));

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.False(await Client.BlobExistsAsync(Repository, claimed));
        Assert.False(await Client.BlobExistsAsync(Repository, TestImages.Sha256(content)));
        AssertNoBlobFiles();
        AssertNoUploadFiles();
    }

    [Fact]
    public async Task PostWithDigest_EmptyBody_StoresTheEmptyBlob()
    {
        var digest = TestImages.Sha256([]);

        using var response = await Client.PostAsync($"{UploadPrefix}?digest={digest}", new ByteArrayContent([]));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(await Client.BlobExistsAsync(Repository, digest));
    }

    [Fact]
    public async Task PostWithDigest_LargerThanMaxBlobBytes_Returns400SizeInvalidAndStoresNothing()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxBlobBytes"] = "100" });
        using var client = app.CreateClient();
        var content = TestImages.Bytes(101, 4);
        var digest = TestImages.Sha256(content);

        using var response = await client.PostAsync($"{UploadPrefix}?digest={digest}", new ByteArrayContent(content));

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "SIZE_INVALID");
        Assert.False(await client.BlobExistsAsync(Repository, digest));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(app.DataPath, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task PostWithDigest_ExactlyMaxBlobBytes_Returns201()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxBlobBytes"] = "100" });
        using var client = app.CreateClient();

        var digest = await client.PushBlobAsync(Repository, TestImages.Bytes(100, 5));

        Assert.True(await client.BlobExistsAsync(Repository, digest));
    }

    [Fact]
    public async Task PatchBeyondMaxBlobBytes_Returns400SizeInvalidAndStoresNoBlob()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxBlobBytes"] = "100" });
        using var client = app.CreateClient();
        var content = TestImages.Bytes(120, 39);
        var location = await client.StartUploadAsync(Repository);
        (await client.SendAsync(HttpMethod.Patch, location, content[..60], ("Content-Range", "0-59"))).Dispose();

        using var second = await client.SendAsync(HttpMethod.Patch, location, content[60..], ("Content-Range", "60-119"));

        await OciAssert.ErrorAsync(second, HttpStatusCode.BadRequest, "SIZE_INVALID");
        using var put = await client.PutAsync($"{location}?digest={TestImages.Sha256(content)}", null);
        Assert.NotEqual(HttpStatusCode.Created, put.StatusCode);
        Assert.False(await client.BlobExistsAsync(Repository, TestImages.Sha256(content)));
    }

    [Fact]
    public async Task StreamedPatchBeyondMaxBlobBytes_Returns400SizeInvalidAndDropsTheUpload()
    {
        using var app = new BerthApplication(new Dictionary<string, string?> { ["Berth:MaxBlobBytes"] = "100" });
        using var client = app.CreateClient();
        var location = await client.StartUploadAsync(Repository);
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamedContent(TestImages.Bytes(150, 40)) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "SIZE_INVALID");
        using var status = await client.GetAsync(location);
        await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(app.DataPath, "uploads")));
    }

    // ---------------------------------------------------------------- sessions

    [Fact]
    public async Task Post_WithoutDigest_Returns202WithLocationRangeAndUploadUuid()
    {
        using var response = await Client.PostAsync(UploadPrefix, null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location?.OriginalString;
        Assert.NotNull(location);
        Assert.StartsWith(UploadPrefix, location, StringComparison.Ordinal);
        var id = location[UploadPrefix.Length..];
        Assert.NotEmpty(id);
        Assert.Equal(id, response.Header("Docker-Upload-UUID"));
        Assert.Equal("0-0", response.Header("Range"));
    }

    [Fact]
    public async Task Post_Twice_GivesDistinctSessions()
    {
        var first = await Client.StartUploadAsync(Repository);
        var second = await Client.StartUploadAsync(Repository);

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task PostThenPut_WithWholeBody_Returns201AndStoresBlob()
    {
        var content = TestImages.Bytes(3000, 6);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);

        using var response = await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent(content));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{Repository}/blobs/{digest}", response.Headers.Location?.OriginalString);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        await AssertBlobAsync(digest, content);
        AssertNoUploadFiles();
    }

    [Fact]
    public async Task PatchChunks_WithContentRangeInOrder_ThenPut_StoresConcatenation()
    {
        var content = TestImages.Bytes(30, 7);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);

        using (var first = await PatchAsync(location, content[..10], "0-9"))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal("0-9", first.Header("Range"));
            Assert.Equal(location, first.Headers.Location?.OriginalString);
        }

        using (var second = await PatchAsync(location, content[10..30], "10-29"))
        {
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
            Assert.Equal("0-29", second.Header("Range"));
        }

        using var put = await Client.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task PatchChunks_ThenPutWithLastChunk_StoresConcatenation()
    {
        var content = TestImages.Bytes(20, 8);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content[..12], "0-11")).Dispose();

        using var put = await Client.SendAsync(HttpMethod.Put, $"{location}?digest={digest}", content[12..], ("Content-Range", "12-19"));

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Theory]
    [InlineData("bytes 0-9/10")]
    [InlineData("bytes=0-9")]
    [InlineData("0-9/*")]
    public async Task PatchChunk_ContentRangeWithBytesPrefixOrTotal_IsAccepted(string contentRange)
    {
        var location = await Client.StartUploadAsync(Repository);

        using var response = await PatchAsync(location, TestImages.Bytes(10, 9), contentRange);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("0-9", response.Header("Range"));
    }

    [Fact]
    public async Task PatchChunk_OutOfOrder_Returns416WithRangeOfRealOffsetAndKeepsData()
    {
        var content = TestImages.Bytes(30, 10);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content[..10], "0-9")).Dispose();

        using var skipped = await PatchAsync(location, content[20..30], "20-29");

        var error = await OciAssert.ErrorAsync(skipped, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-9", skipped.Header("Range"));
        Assert.Equal(location, skipped.Headers.Location?.OriginalString);
        Assert.Equal(10, error.Detail.GetProperty("uploaded").GetInt64());
        await AssertUploadRangeAsync(location, "0-9");
    }

    [Fact]
    public async Task PatchChunk_Repeated_Returns416WithRangeOfRealOffsetAndUploadCanResume()
    {
        var content = TestImages.Bytes(20, 11);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content[..10], "0-9")).Dispose();

        using (var repeated = await PatchAsync(location, content[..10], "0-9"))
        {
            await OciAssert.ErrorAsync(repeated, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
            Assert.Equal("0-9", repeated.Header("Range"));
        }

        using (var resumed = await PatchAsync(location, content[10..], "10-19"))
        {
            Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        }

        using var put = await Client.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task PatchChunk_ContentRangeLengthDiffersFromContentLength_Returns416AndWritesNothing()
    {
        var location = await Client.StartUploadAsync(Repository);

        using var response = await PatchAsync(location, TestImages.Bytes(10, 12), "0-19");

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-0", response.Header("Range"));
        await AssertUploadLengthAsync(location, 0);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("9-0")]
    [InlineData("-5")]
    [InlineData("0-")]
    [InlineData("a-b")]
    [InlineData("99999999999999999999-99999999999999999999")]
    public async Task PatchChunk_MalformedContentRange_Returns416WithRangeAndWritesNothing(string contentRange)
    {
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, TestImages.Bytes(5, 13), "0-4")).Dispose();

        using var response = await PatchAsync(location, TestImages.Bytes(5, 14), contentRange);

        await OciAssert.ErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-4", response.Header("Range"));
        await AssertUploadRangeAsync(location, "0-4");
    }

    [Fact]
    public async Task PatchStreamed_WithoutContentRange_AppendsEachChunk()
    {
        var content = TestImages.Bytes(5000, 15);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);

        using (var first = await PatchStreamedAsync(location, content[..3000]))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal("0-2999", first.Header("Range"));
        }

        using (var second = await PatchStreamedAsync(location, content[3000..]))
        {
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
            Assert.Equal("0-4999", second.Header("Range"));
        }

        using var put = await Client.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task PatchWithContentLengthButNoContentRange_Appends()
    {
        var location = await Client.StartUploadAsync(Repository);

        using var response = await Client.PatchAsync(location, new ByteArrayContent(TestImages.Bytes(7, 16)));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("0-6", response.Header("Range"));
    }

    [Fact]
    public async Task PutStreamed_WithoutContentLength_CompletesUpload()
    {
        var content = TestImages.Bytes(777, 17);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{location}?digest={digest}") { Content = new StreamedContent(content) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task GetUploadStatus_Returns204WithRangeLocationAndUploadUuid()
    {
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, TestImages.Bytes(10, 18), "0-9")).Dispose();

        using var response = await Client.GetAsync(location);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("0-9", response.Header("Range"));
        Assert.Equal(location, response.Headers.Location?.OriginalString);
        Assert.Equal(location[UploadPrefix.Length..], response.Header("Docker-Upload-UUID"));
    }

    [Fact]
    public async Task DeleteUpload_Returns204ThenUploadIsUnknown()
    {
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, TestImages.Bytes(10, 19), "0-9")).Dispose();

        using (var delete = await Client.DeleteAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using (var status = await Client.GetAsync(location))
        {
            await OciAssert.ErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var patch = await PatchAsync(location, TestImages.Bytes(10, 20), "10-19"))
        {
            await OciAssert.ErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var again = await Client.DeleteAsync(location))
        {
            await OciAssert.ErrorAsync(again, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        AssertNoUploadFiles();
    }

    [Fact]
    public async Task PutUpload_WrongDigest_Returns400DigestInvalidAndStoresNothing()
    {
        var content = TestImages.Bytes(100, 21);
        var wrong = TestImages.Sha256(TestImages.Bytes(100, 22));
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content, "0-99")).Dispose();

        using var response = await Client.PutAsync($"{location}?digest={wrong}", null);

        var error = await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(wrong, error.Detail.GetProperty("expected").GetString());
        Assert.Equal(TestImages.Sha256(content), error.Detail.GetProperty("actual").GetString());
        Assert.False(await Client.BlobExistsAsync(Repository, wrong));
        Assert.False(await Client.BlobExistsAsync(Repository, TestImages.Sha256(content)));
        AssertNoBlobFiles();
        AssertNoUploadFiles();
        Assert.Empty(await Client.GetCatalogAsync());
    }

    [Fact]
    public async Task PutUpload_WithoutDigest_Returns400DigestInvalidAndKeepsSession()
    {
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, TestImages.Bytes(10, 23), "0-9")).Dispose();

        using var response = await Client.PutAsync(location, null);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await AssertUploadRangeAsync(location, "0-9");
    }

    [Fact]
    public async Task PutUpload_AfterCompletion_Returns404BlobUploadUnknown()
    {
        var content = TestImages.Bytes(10, 24);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        (await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent(content))).Dispose();

        using var again = await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent(content));

        await OciAssert.ErrorAsync(again, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task PutUpload_Sha512Digest_CommitsBlobUnderSha512()
    {
        var content = TestImages.Bytes(2048, 25);
        var digest = TestImages.Sha512(content);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content[..1000], "0-999")).Dispose();

        using var put = await Client.SendAsync(HttpMethod.Put, $"{location}?digest={digest}", content[1000..], ("Content-Range", "1000-2047"));

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task PutUpload_Sha512WrongDigest_Returns400DigestInvalid()
    {
        var content = TestImages.Bytes(64, 26);
        var wrong = TestImages.Sha512(TestImages.Bytes(64, 27));
        var location = await Client.StartUploadAsync(Repository);

        using var put = await Client.PutAsync($"{location}?digest={wrong}", new ByteArrayContent(content));

        await OciAssert.ErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        AssertNoBlobFiles();
    }

    [Fact]
    public async Task UploadId_FromAnotherRepository_Returns404BlobUploadUnknownForEveryMethod()
    {
        var content = TestImages.Bytes(10, 28);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        var id = location[UploadPrefix.Length..];
        var foreign = $"/v2/other/repo/blobs/uploads/{id}";

        using (var patch = await PatchAsync(foreign, content, "0-9"))
        {
            await OciAssert.ErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var put = await Client.PutAsync($"{foreign}?digest={digest}", new ByteArrayContent(content)))
        {
            await OciAssert.ErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var get = await Client.GetAsync(foreign))
        {
            await OciAssert.ErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var delete = await Client.DeleteAsync(foreign))
        {
            await OciAssert.ErrorAsync(delete, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        Assert.False(await Client.BlobExistsAsync("other/repo", digest));

        // The session is untouched in its own repository.
        await AssertUploadLengthAsync(location, 0);
        using var own = await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent(content));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-an-upload")]
    [InlineData("has.dot")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    public async Task UnknownUploadId_Returns404BlobUploadUnknownForEveryMethod(string id)
    {
        var location = UploadPrefix + id;
        var digest = TestImages.Sha256([1]);

        using (var get = await Client.GetAsync(location))
        {
            await OciAssert.ErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var patch = await PatchAsync(location, [1], "0-0"))
        {
            await OciAssert.ErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var patch = await PatchAsync(location, [1], "bogus"))
        {
            await OciAssert.ErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var put = await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent([1])))
        {
            await OciAssert.ErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        using (var delete = await Client.DeleteAsync(location))
        {
            await OciAssert.ErrorAsync(delete, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        AssertNoBlobFiles();
    }

    [Fact]
    public async Task PatchAndPut_OnAnotherInstanceSharingTheData_RebuildsHashAndCommits()
    {
        var content = TestImages.Bytes(5000, 34);
        var digest = TestImages.Sha256(content);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content[..3000], "0-2999")).Dispose();
        using var other = new BerthApplication(dataPath: App.DataPath);
        using var otherClient = other.CreateClient();

        using (var status = await otherClient.GetAsync(location))
        {
            Assert.Equal("0-2999", status.Header("Range"));
        }

        using (var patch = await otherClient.SendAsync(HttpMethod.Patch, location, content[3000..], ("Content-Range", "3000-4999")))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }

        using var put = await otherClient.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task Put_OnAnotherInstanceWithWrongDigest_Returns400DigestInvalid()
    {
        var content = TestImages.Bytes(100, 35);
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, content, "0-99")).Dispose();
        using var other = new BerthApplication(dataPath: App.DataPath);
        using var otherClient = other.CreateClient();

        using var put = await otherClient.PutAsync($"{location}?digest={TestImages.Sha256(content[..99])}", null);

        await OciAssert.ErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        AssertNoBlobFiles();
    }

    // ---------------------------------------------------------------- cross-repository mount

    [Fact]
    public async Task Mount_BlobInFromRepository_Returns201AndLinksBlob()
    {
        var content = TestImages.Bytes(100, 29);
        var digest = await Client.PushBlobAsync("source/repo", content);

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{Repository}/blobs/{digest}", response.Headers.Location?.OriginalString);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        await AssertBlobAsync(digest, content);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Mount_BlobNotInFromRepository_Returns202UploadSessionThatWorks()
    {
        var content = TestImages.Bytes(100, 30);
        var digest = TestImages.Sha256(content);
        await Client.PushBlobAsync("other/repo", content);

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location?.OriginalString;
        Assert.NotNull(location);
        Assert.StartsWith(UploadPrefix, location, StringComparison.Ordinal);
        Assert.False(await Client.BlobExistsAsync(Repository, digest));
        using var put = await Client.PutAsync($"{location}?digest={digest}", new ByteArrayContent(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task Mount_WithoutFrom_Returns202UploadSession()
    {
        var digest = await Client.PushBlobAsync("source/repo", TestImages.Bytes(10, 31));

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith(UploadPrefix, response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Equal("0-0", response.Header("Range"));
        Assert.False(await Client.BlobExistsAsync(Repository, digest));
    }

    [Fact]
    public async Task Mount_FromRepositoryThatDeletedTheBlob_Returns202()
    {
        var digest = await Client.PushBlobAsync("source/repo", TestImages.Bytes(10, 32));
        (await Client.DeleteAsync($"/v2/source/repo/blobs/{digest}")).Dispose();

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.False(await Client.BlobExistsAsync(Repository, digest));
    }

    [Fact]
    public async Task Mount_FromRepositoryWhoseBytesAreGone_Returns202()
    {
        var digest = await Client.PushBlobAsync("source/repo", TestImages.Bytes(10, 36));
        File.Delete(Assert.Single(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories)));

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.False(await Client.BlobExistsAsync(Repository, digest));
    }

    [Fact]
    public async Task Mount_BlobAlreadyInTarget_Returns201()
    {
        var content = TestImages.Bytes(10, 37);
        await Client.PushBlobAsync("source/repo", content);
        var digest = await Client.PushBlobAsync(Repository, content);

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await AssertBlobAsync(digest, content);
    }

    [Fact]
    public async Task StartedButUnfinishedUpload_DoesNotCreateTheRepository()
    {
        var location = await Client.StartUploadAsync(Repository);
        (await PatchAsync(location, TestImages.Bytes(10, 38), "0-9")).Dispose();

        Assert.Empty(await Client.GetCatalogAsync());
        Assert.Null(await Client.GetTagsAsync(Repository));
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    public async Task Mount_InvalidDigest_Returns400DigestInvalidAndStartsNothing(string digest)
    {
        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=source/repo", null);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        AssertNoUploadFiles();
    }

    [Fact]
    public async Task Mount_InvalidFromName_Returns400NameInvalidAndStartsNothing()
    {
        var digest = await Client.PushBlobAsync("source/repo", TestImages.Bytes(10, 33));

        using var response = await Client.PostAsync($"{UploadPrefix}?mount={digest}&from=Source/Repo", null);

        await OciAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
        Assert.False(await Client.BlobExistsAsync(Repository, digest));
        AssertNoUploadFiles();
    }

    // ---------------------------------------------------------------- helpers

    private Task<HttpResponseMessage> PatchAsync(string location, byte[] chunk, string contentRange) =>
        Client.SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", contentRange));

    private Task<HttpResponseMessage> PatchStreamedAsync(string location, byte[] chunk)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamedContent(chunk) };
        request.Headers.TransferEncodingChunked = true;
        return Client.SendAsync(request);
    }

    private async Task AssertBlobAsync(string digest, byte[] content)
    {
        using var response = await Client.GetAsync($"/v2/{Repository}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
    }

    private async Task AssertUploadRangeAsync(string location, string range)
    {
        using var status = await Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal(range, status.Header("Range"));
    }

    private async Task AssertUploadLengthAsync(string location, long length)
    {
        await AssertUploadRangeAsync(location, length == 0 ? "0-0" : $"0-{length - 1}");
        var file = Path.Combine(App.DataPath, "uploads", location[UploadPrefix.Length..]);
        Assert.Equal(length, new FileInfo(file).Length);
    }

    private void AssertNoBlobFiles() =>
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "blobs"), "*", SearchOption.AllDirectories));

    private void AssertNoUploadFiles() =>
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(App.DataPath, "uploads")));
}
