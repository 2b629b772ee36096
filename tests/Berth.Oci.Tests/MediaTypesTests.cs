namespace Berth.Oci.Tests;

public sealed class MediaTypesTests
{
    [Theory]
    [InlineData(MediaTypes.OciIndex, true, false)]
    [InlineData(MediaTypes.DockerManifestList, true, false)]
    [InlineData(MediaTypes.OciManifest, false, true)]
    [InlineData(MediaTypes.DockerManifest, false, true)]
    [InlineData(MediaTypes.DockerSchema1, false, false)]
    [InlineData(MediaTypes.OciConfig, false, false)]
    [InlineData("application/json", false, false)]
    [InlineData(null, false, false)]
    public void IsIndexAndIsImageManifest_ClassifyManifestTypes(string? mediaType, bool index, bool image)
    {
        Assert.Equal(index, MediaTypes.IsIndex(mediaType));
        Assert.Equal(image, MediaTypes.IsImageManifest(mediaType));
    }

    [Theory]
    [InlineData(MediaTypes.DockerSchema1, true)]
    [InlineData(MediaTypes.DockerSchema1Signed, true)]
    [InlineData(MediaTypes.DockerManifest, false)]
    [InlineData(null, false)]
    public void IsSchema1_RecognisesBothSchema1Types(string? mediaType, bool expected)
    {
        Assert.Equal(expected, MediaTypes.IsSchema1(mediaType));
    }

    [Theory]
    [InlineData(MediaTypes.DockerForeignLayer, true)]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", true)]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip", false)]
    [InlineData("application/vnd.docker.image.rootfs.diff.tar.gzip", false)]
    [InlineData(null, false)]
    public void IsForeignLayer_RecognisesNonDistributableLayers(string? mediaType, bool expected)
    {
        Assert.Equal(expected, MediaTypes.IsForeignLayer(mediaType));
    }
}
