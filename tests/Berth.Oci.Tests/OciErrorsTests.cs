namespace Berth.Oci.Tests;

public sealed class OciErrorsTests
{
    [Theory]
    [InlineData(OciErrorCode.BlobUnknown, "BLOB_UNKNOWN", 404)]
    [InlineData(OciErrorCode.StorageFull, "DENIED", 507)]
    [InlineData(OciErrorCode.BlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400)]
    [InlineData(OciErrorCode.BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404)]
    [InlineData(OciErrorCode.DigestInvalid, "DIGEST_INVALID", 400)]
    [InlineData(OciErrorCode.ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400)]
    [InlineData(OciErrorCode.ManifestInvalid, "MANIFEST_INVALID", 400)]
    [InlineData(OciErrorCode.ManifestUnknown, "MANIFEST_UNKNOWN", 404)]
    [InlineData(OciErrorCode.NameInvalid, "NAME_INVALID", 400)]
    [InlineData(OciErrorCode.NameUnknown, "NAME_UNKNOWN", 404)]
    [InlineData(OciErrorCode.SizeInvalid, "SIZE_INVALID", 400)]
    [InlineData(OciErrorCode.Unauthorized, "UNAUTHORIZED", 401)]
    [InlineData(OciErrorCode.Denied, "DENIED", 403)]
    [InlineData(OciErrorCode.Unsupported, "UNSUPPORTED", 405)]
    [InlineData(OciErrorCode.TooManyRequests, "TOOMANYREQUESTS", 429)]
    [InlineData(OciErrorCode.TagInvalid, "TAG_INVALID", 400)]
    [InlineData(OciErrorCode.RangeInvalid, "RANGE_INVALID", 416)]
    [InlineData(OciErrorCode.PaginationNumberInvalid, "PAGINATION_NUMBER_INVALID", 400)]
    [InlineData(OciErrorCode.ManifestTooLarge, "MANIFEST_INVALID", 413)]
    [InlineData(OciErrorCode.Unavailable, "UNAVAILABLE", 503)]
    public void Describe_MapsCodeToWireCodeAndStatus(OciErrorCode error, string code, int status)
    {
        var (wireCode, wireStatus, message) = OciErrors.Describe(error);

        Assert.Equal(code, wireCode);
        Assert.Equal(status, wireStatus);
        Assert.False(string.IsNullOrWhiteSpace(message));
    }

    [Fact]
    public void Describe_EveryCodeButUnknownStorageFullAndUnavailable_HasAClientErrorStatus()
    {
        // StorageFull (507) and Unavailable (503) are the server's conditions, not the client's mistake, but never an UNKNOWN 500.
        foreach (var error in Enum.GetValues<OciErrorCode>().Where(e => e is not OciErrorCode.Unknown and not OciErrorCode.StorageFull and not OciErrorCode.Unavailable))
        {
            var (code, status, _) = OciErrors.Describe(error);
            Assert.NotEqual("UNKNOWN", code);
            Assert.InRange(status, 400, 499);
        }
    }

    [Fact]
    public void Describe_Unknown_IsTheServerErrorCode()
    {
        var (code, status, _) = OciErrors.Describe(OciErrorCode.Unknown);

        Assert.Equal("UNKNOWN", code);
        Assert.Equal(500, status);
    }
}
