using Berth.EndToEnd.Tests.Images;
using Berth.EndToEnd.Tests.Infrastructure;

namespace Berth.EndToEnd.Tests;

/// <summary>The test tooling itself: required clients present, the image builder deterministic, the mirror detection right.</summary>
public sealed class ToolingTests
{
    [Fact]
    public void ExternalTools_SkopeoPodmanUmociDebootstrapDocker_AreAllInstalled()
    {
        var missing = ExternalTools.All.Where(t => ExternalTools.Find(t) is null).ToList();

        Assert.True(missing.Count == 0,
            $"missing: {string.Join(", ", missing)}. The end-to-end tests fail without them; install with: apt-get install -y {ExternalTools.AptPackages}");
    }

    [Fact]
    public void BerthProcess_ServerAssembly_IsBuilt()
    {
        Assert.True(File.Exists(BerthProcess.ServerAssemblyPath()));
    }

    [Fact]
    public void RandomImage_SameSeedTwice_SameDigestsAndValidDiffIds()
    {
        using var work = new TempDirectory("builder");

        var first = OciLayoutBuilder.RandomImage(work.Sub("a"), "v1", layers: 2, bytesPerLayer: 64 * 1024, seed: 42);
        var second = OciLayoutBuilder.RandomImage(work.Sub("b"), "v1", layers: 2, bytesPerLayer: 64 * 1024, seed: 42);
        var other = OciLayoutBuilder.RandomImage(work.Sub("c"), "v1", layers: 2, bytesPerLayer: 64 * 1024, seed: 43);

        Assert.Equal(first.Root, second.Root);
        Assert.NotEqual(first.Root.Digest, other.Root.Digest);
        Assert.Equal(first.Root, OciLayout.FindTag(first.Layout, "v1"));
        ImageAssert.LayersMatchDiffIds(first.Layout, first.Root.Digest);
        foreach (var digest in OciLayout.ReachableBlobs(first.Layout, first.Root))
        {
            Assert.Equal(digest, Sha256Digest.OfFile(first.BlobPath(digest)));
        }
    }

    [Fact]
    public void MultiPlatformIndex_TwoPlatforms_ShareTheFirstLayer()
    {
        using var work = new TempDirectory("builder-index");

        var index = OciLayoutBuilder.MultiPlatformIndex(work.Sub("index"), "multi", bytesPerLayer: 32 * 1024, seed: 1);

        Assert.True(index.IsIndex);
        var listed = OciLayout.ReadIndex(index.Layout, index.Root.Digest);
        Assert.Equal(["linux/amd64", "linux/arm64/v8"], listed.Select(m => m.Platform!.ToString()));
        Assert.Equal(index.Images[0].Layers[0].Descriptor, index.Images[1].Layers[0].Descriptor);
        Assert.NotEqual(index.Images[0].Layers[1].Descriptor, index.Images[1].Layers[1].Descriptor);
        Assert.Equal(8, OciLayout.ReachableBlobs(index.Layout, index.Root).Count);
    }

    [Fact]
    public void DetectMirror_OneLineAndDeb822Sources_SkipsSecurityAndOtherSuites()
    {
        using var apt = new TempDirectory("apt");
        Directory.CreateDirectory(apt.Sub("sources.list.d"));
        File.WriteAllText(apt.Sub("sources.list"), "# comment\ndeb http://security.example/debian-security bookworm main\ndeb-src http://src.example/debian bookworm main\n");
        File.WriteAllText(Path.Combine(apt.Sub("sources.list.d"), "debian.sources"),
            "Types: deb\nURIs: http://old.example/debian\nSuites: bullseye\nComponents: main\n\n" +
            "Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n");

        Assert.Equal("http://mirror.example/debian", DebianImageBuilder.DetectMirror("bookworm", apt.Path));
        Assert.Null(DebianImageBuilder.DetectMirror("trixie", apt.Path));

        File.AppendAllText(apt.Sub("sources.list"), "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n");
        Assert.Equal("http://one.example/debian", DebianImageBuilder.DetectMirror("bookworm", apt.Path));
    }
}
