using Berth.Core.Storage;

namespace Berth.Core.Tests.Storage;

public sealed class StorageFullClassifierTests
{
    private sealed class Detector : IStorageFullDetector
    {
        public bool IsStorageFull(Exception exception) => exception is InvalidOperationException { Message: "quota" };
    }

    [Theory]
    [InlineData(28, true)] // ENOSPC, as .NET reports it on Unix (HResult is the errno)
    [InlineData(5, false)] // EIO
    [InlineData(104, false)] // ECONNRESET: a client that went away is not a full disk
    public void IsStorageFull_IOExceptionByErrno(int errno, bool full)
    {
        Assert.Equal(full, StorageFullClassifier.OperatingSystemOnly.IsStorageFull(new IOException("x", errno)));
    }

    [Fact]
    public void IsStorageFull_WindowsDiskFull_True() =>
        Assert.True(StorageFullClassifier.OperatingSystemOnly.IsStorageFull(new IOException("x", unchecked((int)0x80070070))));

    [Fact]
    public void IsStorageFull_StorageFullException_True() =>
        Assert.True(StorageFullClassifier.OperatingSystemOnly.IsStorageFull(new StorageFullException()));

    [Fact]
    public void IsStorageFull_WrappedOrAggregated_FoundInside()
    {
        var classifier = new StorageFullClassifier([new Detector()]);

        Assert.True(classifier.IsStorageFull(new InvalidOperationException("outer", new IOException("x", 28))));
        Assert.True(classifier.IsStorageFull(new AggregateException(new ArgumentException("a"), new InvalidOperationException("quota"))));
        Assert.True(classifier.IsStorageFull(new InvalidOperationException("quota")));
        Assert.False(classifier.IsStorageFull(new InvalidOperationException("other")));
        Assert.False(classifier.IsStorageFull(null));
        Assert.False(StorageFullClassifier.OperatingSystemOnly.IsStorageFull(new InvalidOperationException("quota")));
    }
}
