using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Scanning.Extractors;
using Berth.Scanning.Layers;

namespace Berth.Scanning.Tests.Layers;

public sealed class ImageArchiveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-archive-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task OciLayoutDirectory_DefaultPlatformIsLinuxAmd64()
    {
        var layout = WriteOciLayout(Path.Combine(_root, "oci"));

        var image = await ImageArchive.LoadAsync(layout, null, CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal(ImagePlatform.LinuxAmd64, image.Platform);
        Assert.Equal(["shop/api:v1"], image.Names);
        Assert.Equal("amd64-only", Assert.Single(inventory.Packages).Name);
        Assert.Equal(image.Layers[1].Digest, inventory.Packages[0].LayerDigest);
    }

    [Fact]
    public async Task OciLayoutDirectory_OtherPlatformAndListing()
    {
        var layout = WriteOciLayout(Path.Combine(_root, "oci"));

        var platforms = await ImageArchive.ListPlatformsAsync(layout, CancellationToken.None);
        var arm = await ImageArchive.LoadAsync(layout, ImagePlatform.Parse("linux/arm64"), CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(arm.Layers, CancellationToken.None)).Inventory;

        Assert.Equal(["linux/amd64", "linux/arm64/v8"], platforms.Select(p => p.ToString()));
        Assert.Equal("arm64-only", Assert.Single(inventory.Packages).Name);
        var error = await Assert.ThrowsAsync<ScanException>(() => ImageArchive.LoadAsync(layout, ImagePlatform.Parse("linux/s390x"), CancellationToken.None));
        Assert.Contains("linux/amd64, linux/arm64/v8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OciLayoutInATar_IsStreamedFromTheArchive()
    {
        var layout = WriteOciLayout(Path.Combine(_root, "oci"));
        var archive = Path.Combine(_root, "oci.tar");
        await TarFile.CreateFromDirectoryAsync(layout, archive, includeBaseDirectory: false);

        var image = await ImageArchive.LoadAsync(archive, null, CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal("amd64-only", Assert.Single(inventory.Packages).Name);
    }

    [Fact]
    public async Task GzippedOciArchive_IsStreamedThroughTheDecompressor()
    {
        // As "docker save IMAGE | gzip > image.tar.gz" leaves it for CI.
        var layout = WriteOciLayout(Path.Combine(_root, "oci"));
        var archive = Path.Combine(_root, "oci.tar");
        await TarFile.CreateFromDirectoryAsync(layout, archive, includeBaseDirectory: false);
        var gz = Path.Combine(_root, "oci.tar.gz");
        await File.WriteAllBytesAsync(gz, LayerBuilder.Compress(await File.ReadAllBytesAsync(archive), LayerCompression.Gzip));

        var image = await ImageArchive.LoadAsync(gz, ImagePlatform.Parse("linux/arm64"), CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal("arm64-only", Assert.Single(inventory.Packages).Name);
    }

    [Fact]
    public async Task LegacyDockerSave_LayersAreKnownByDiffIdAndRepeatedLayersLinked()
    {
        var baseTar = new LayerBuilder().File("etc/os-release", "ID=debian\nVERSION_ID=12\n").File("var/lib/dpkg/status", "Package: base\nStatus: install ok installed\nVersion: 1\n").Tar();
        var appTar = new LayerBuilder().File("var/lib/dpkg/status", "Package: app\nStatus: install ok installed\nVersion: 2\n").Tar();
        var baseId = Sha(baseTar);
        var appId = Sha(appTar);
        var config = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            architecture = "amd64",
            os = "linux",
            rootfs = new { type = "layers", diff_ids = new[] { "sha256:" + baseId, "sha256:" + appId, "sha256:" + baseId } },
        }));
        var manifest = JsonSerializer.Serialize(new[]
        {
            new { Config = Sha(config) + ".json", RepoTags = new[] { "shop/api:v1" }, Layers = new[] { "aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar" } },
        });
        var archive = Path.Combine(_root, "save.tar");
        await using (var file = File.Create(archive))
        await using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            Add(writer, "aaa/layer.tar", baseTar);
            Add(writer, "bbb/layer.tar", appTar);
            var link = new PaxTarEntry(TarEntryType.SymbolicLink, "ccc/layer.tar") { LinkName = "../aaa/layer.tar" };
            writer.WriteEntry(link);
            Add(writer, Sha(config) + ".json", config);
            Add(writer, "manifest.json", Encoding.UTF8.GetBytes(manifest));
        }

        var image = await ImageArchive.LoadAsync(archive, null, CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal(["sha256:" + baseId, "sha256:" + appId, "sha256:" + baseId], image.Layers.Select(l => l.Digest));
        Assert.Equal(["shop/api:v1"], image.Names);
        // The top layer is the base layer again (linked to its first copy), so its status file is the one that counts.
        Assert.Equal([("base", "sha256:" + baseId)], inventory.Packages.Select(p => (p.Name, p.LayerDigest)));
    }

    [Theory]
    [InlineData("docker-archive")]
    [InlineData("oci-archive")]
    public async Task ArchiveWrittenBySkopeo_IsRead(string transport)
    {
        if (!OnPath("skopeo"))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") is { Length: > 0 }, "skopeo is not installed");
            return;
        }

        var layout = WriteOciLayout(Path.Combine(_root, "oci"), platforms: 1);
        var archive = Path.Combine(_root, transport + ".tar");
        Run("skopeo", "copy", "--quiet", $"oci:{layout}:shop/api:v1", $"{transport}:{archive}:shop/api:v1");

        var image = await ImageArchive.LoadAsync(archive, null, CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal("amd64-only", Assert.Single(inventory.Packages).Name);
        Assert.Equal(new Berth.Scanning.Inventory.OsInfo("debian", "12", null, null), inventory.Os);
    }

    [Fact]
    public async Task WhiteoutWrittenByUmoci_HidesTheDeletedPackage()
    {
        // umoci writes real layers: the second repack records the deleted dist-info directory as a ".wh." whiteout.
        if (!OnPath("umoci"))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") is { Length: > 0 }, "umoci is not installed");
            return;
        }

        var layout = Path.Combine(_root, "umoci");
        var first = Path.Combine(_root, "bundle1");
        var second = Path.Combine(_root, "bundle2");
        var rootless = Environment.UserName == "root" ? [] : new[] { "--rootless" };
        Run("umoci", "init", "--layout", layout);
        Run("umoci", "new", "--image", layout + ":v1");
        Run(["umoci", "unpack", .. rootless, "--image", layout + ":v1", first]);
        var site = Path.Combine(first, "rootfs", "usr", "lib", "python3", "site-packages");
        Directory.CreateDirectory(Path.Combine(site, "gone-1.0.dist-info"));
        Directory.CreateDirectory(Path.Combine(site, "kept-2.0.dist-info"));
        await File.WriteAllTextAsync(Path.Combine(site, "gone-1.0.dist-info", "METADATA"), "Name: gone\nVersion: 1.0\n");
        await File.WriteAllTextAsync(Path.Combine(site, "kept-2.0.dist-info", "METADATA"), "Name: kept\nVersion: 2.0\n");
        Run(["umoci", "repack", .. rootless, "--image", layout + ":v1", first]);
        Run(["umoci", "unpack", .. rootless, "--image", layout + ":v1", second]);
        Directory.Delete(Path.Combine(second, "rootfs", "usr", "lib", "python3", "site-packages", "gone-1.0.dist-info"), recursive: true);
        Run(["umoci", "repack", .. rootless, "--image", layout + ":v1", second]);

        var image = await ImageArchive.LoadAsync(layout, null, CancellationToken.None);
        var inventory = (await new InventoryScanner().ScanAsync(image.Layers, CancellationToken.None)).Inventory;

        Assert.Equal(2, image.Layers.Count);
        var kept = Assert.Single(inventory.Packages);
        Assert.Equal(("kept", "2.0", image.Layers[0].Digest), (kept.Name, kept.Version, kept.LayerDigest));
    }

    [Fact]
    public async Task NotAnImageArchive_IsAClearError()
    {
        var path = Path.Combine(_root, "plain.tar");
        await File.WriteAllBytesAsync(path, new LayerBuilder().File("hello", "x").Tar());

        var error = await Assert.ThrowsAsync<ScanException>(() => ImageArchive.LoadAsync(path, null, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<ScanException>(() => ImageArchive.LoadAsync(Path.Combine(_root, "nope"), null, CancellationToken.None));

        Assert.Contains("neither an OCI image layout", error.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerManifestNamingAPathOutsideTheLayout_IsRefused()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "evil")).FullName;
        await File.WriteAllTextAsync(Path.Combine(_root, "secret.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(dir, "manifest.json"), """[{"Config":"../secret.json","Layers":[]}]""");

        var error = await Assert.ThrowsAsync<ScanException>(() => ImageArchive.LoadAsync(dir, null, CancellationToken.None));

        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linux")]
    [InlineData("linux/")]
    [InlineData("a/b/c/d")]
    public void PlatformParse_Malformed_IsAScanError(string text) => Assert.Throws<ScanException>(() => ImagePlatform.Parse(text));

    private static string WriteOciLayout(string directory, int platforms = 2)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256")).FullName;
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");

        string Blob(byte[] bytes)
        {
            var hex = Sha(bytes);
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return "sha256:" + hex;
        }

        object Descriptor(string mediaType, byte[] bytes) => new { mediaType, digest = Blob(bytes), size = bytes.Length };

        object ImageFor(string architecture, string? variant, string package)
        {
            var baseLayer = new LayerBuilder().File("etc/os-release", "ID=debian\nVERSION_ID=12\n").Build(LayerCompression.Gzip);
            var appLayer = new LayerBuilder().File("var/lib/dpkg/status", $"Package: {package}\nStatus: install ok installed\nVersion: 1.0\n").Build(LayerCompression.Gzip);
            var config = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                architecture,
                os = "linux",
                rootfs = new { type = "layers", diff_ids = new[] { "sha256:" + Sha(baseLayer), "sha256:" + Sha(appLayer) } },
            }));
            var manifest = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                schemaVersion = 2,
                mediaType = "application/vnd.oci.image.manifest.v1+json",
                config = Descriptor("application/vnd.oci.image.config.v1+json", config),
                layers = new[] { Descriptor(LayerDecompression.OciLayerGzip, baseLayer), Descriptor(LayerDecompression.OciLayerGzip, appLayer) },
            }));
            return new
            {
                mediaType = "application/vnd.oci.image.manifest.v1+json",
                digest = Blob(manifest),
                size = manifest.Length,
                platform = variant is null ? (object)new { architecture, os = "linux" } : new { architecture, os = "linux", variant },
            };
        }

        var manifests = new List<object> { ImageFor("amd64", null, "amd64-only") };
        if (platforms > 1)
        {
            manifests.Add(ImageFor("arm64", "v8", "arm64-only"));
        }

        if (platforms == 1)
        {
            var single = JsonSerializer.SerializeToElement(manifests[0]);
            File.WriteAllText(Path.Combine(directory, "index.json"), JsonSerializer.Serialize(new
            {
                schemaVersion = 2,
                manifests = new[]
                {
                    new
                    {
                        mediaType = single.GetProperty("mediaType").GetString(),
                        digest = single.GetProperty("digest").GetString(),
                        size = single.GetProperty("size").GetInt32(),
                        annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "shop/api:v1" },
                    },
                },
            }));
            return directory;
        }

        var index = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { schemaVersion = 2, mediaType = "application/vnd.oci.image.index.v1+json", manifests }));
        File.WriteAllText(Path.Combine(directory, "index.json"), JsonSerializer.Serialize(new
        {
            schemaVersion = 2,
            manifests = new[]
            {
                new
                {
                    mediaType = "application/vnd.oci.image.index.v1+json",
                    digest = Blob(index),
                    size = index.Length,
                    annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "shop/api:v1" },
                },
            },
        }));
        return directory;
    }

    private static void Add(TarWriter writer, string name, byte[] content) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static void Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)} failed ({process.ExitCode}): {error} {output.Result}");
    }
}
