using System.IO.Compression;
using System.Text;
using Berth.Scanning.Extractors;
using Berth.Scanning.Inventory;
using Berth.Scanning.Layers;
using Berth.Scanning.Tests.Layers;

namespace Berth.Scanning.Tests.Extractors;

public class LanguageExtractorTests
{
    [Fact]
    public async Task Python_DistInfoAndEggInfo_AreRead()
    {
        var layer = new LayerBuilder()
            .File("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nLicense: not a header, the body\n")
            .File("usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info", "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n")
            .File("opt/venv/lib/python3.11/site-packages/pyyaml-6.0.1.egg-info/PKG-INFO", "Name: PyYAML\nVersion: 6.0.1\nLicense-Expression: MIT\n")
            .File("opt/venv/lib/python3.11/site-packages/broken.dist-info/METADATA", "Summary: no name\n")
            .Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Equal(
            [("PyYAML", "6.0.1", "MIT"), ("requests", "2.31.0", "Apache 2.0"), ("six", "1.16.0", "MIT License")],
            result.Inventory.Packages.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p.Name, p.Version, p.Licenses![0])));
        Assert.All(result.Inventory.Packages, p => Assert.Equal((Ecosystems.PyPI, "python-pkg"), (p.Ecosystem, p.Type)));
        Assert.Contains(result.Warnings, w => w.Path.EndsWith("broken.dist-info/METADATA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Python_DistInfoDeletedInUpperLayer_IsNotReported()
    {
        var lower = new LayerBuilder()
            .File("usr/lib/python3/site-packages/urllib3-1.26.0.dist-info/METADATA", "Name: urllib3\nVersion: 1.26.0\n")
            .File("usr/lib/python3/site-packages/idna-3.4.dist-info/METADATA", "Name: idna\nVersion: 3.4\n")
            .Layer();
        var upper = new LayerBuilder()
            .Whiteout("usr/lib/python3/site-packages/urllib3-1.26.0.dist-info")
            .File("usr/lib/python3/site-packages/urllib3-2.0.7.dist-info/METADATA", "Name: urllib3\nVersion: 2.0.7\n")
            .Layer();

        var inventory = await TestScan.InventoryAsync(lower, upper);

        Assert.Equal(
            [("idna", "3.4", lower.Digest), ("urllib3", "2.0.7", upper.Digest)],
            inventory.Packages.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p.Name, p.Version, p.LayerDigest)));
    }

    [Fact]
    public async Task Npm_InstalledPackagesAndLockFile_AreReadOnce()
    {
        const string lockFile = """
            {
              "name": "shop", "version": "1.0.0", "lockfileVersion": 3,
              "packages": {
                "": { "name": "shop", "version": "1.0.0" },
                "node_modules/express": { "version": "4.18.2", "license": "MIT" },
                "node_modules/lodash": { "version": "4.17.20", "license": "MIT" },
                "node_modules/jest": { "version": "29.0.0", "dev": true },
                "node_modules/local": { "resolved": "../local", "link": true }
              }
            }
            """;
        var layer = new LayerBuilder()
            .File("app/package.json", """{ "name": "shop", "version": "1.0.0" }""")
            .File("app/package-lock.json", lockFile)
            .File("app/node_modules/express/package.json", """{ "name": "express", "version": "4.18.2", "license": "MIT" }""")
            .File("app/node_modules/express/lib/package.json", """{ "type": "module" }""")
            .File("app/node_modules/@types/node/package.json", """{ "name": "@types/node", "version": "20.8.0", "license": { "type": "MIT" } }""")
            .File("app/node_modules/bad/package.json", "{ not json")
            .File("app/node_modules/.package-lock.json", lockFile)
            .Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Equal(
            [
                ("@types/node", "20.8.0", "app/node_modules/@types/node/package.json"),
                ("express", "4.18.2", "app/node_modules/express/package.json"),
                ("lodash", "4.17.20", "app/package-lock.json"),
            ],
            result.Inventory.Packages.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p.Name, p.Version, p.FilePath)));
        Assert.All(result.Inventory.Packages, p => Assert.Equal((Ecosystems.Npm, "node-pkg", "MIT"), (p.Ecosystem, p.Type, p.Licenses![0])));
        Assert.Contains(result.Warnings, w => w.Path == "app/node_modules/bad/package.json");
    }

    [Fact]
    public async Task Npm_LockFileVersion1_IsRead()
    {
        const string lockFile = """
            { "lockfileVersion": 1, "dependencies": {
                "a": { "version": "1.0.0", "dependencies": { "b": { "version": "2.0.0" } } },
                "c": { "version": "3.0.0", "dev": true } } }
            """;
        var layer = new LayerBuilder().File("srv/package-lock.json", lockFile).Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal([("a", "1.0.0"), ("b", "2.0.0")], inventory.Packages.Select(p => (p.Name, p.Version)).Order());
    }

    [Fact]
    public async Task Go_BuildInfoInAStreamedElf_GivesModulesAndStdlib()
    {
        // The block straddles the reader's 64 KiB window, and a decoy magic without valid flags comes first.
        var binary = GoBinary.Build(
            "go1.22.1",
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:abc=\ndep\tgithub.com/old/b\tv1.0.0\th1:def=\n=>\tgithub.com/fork/b\tv1.0.1\th1:ghi=\n",
            blockOffset: 65536 - 5,
            decoyOffset: 1000);
        var layer = new LayerBuilder()
            .Executable("usr/local/bin/app", binary)
            .File("usr/share/doc/not-executable", binary)
            .Executable("usr/bin/plain-elf", GoBinary.PlainElf())
            .Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal(
            [("github.com/fork/b", "v1.0.1"), ("golang.org/x/net", "v0.17.0"), ("stdlib", "v1.22.1")],
            inventory.Packages.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p.Name, p.Version)));
        Assert.All(inventory.Packages, p => Assert.Equal((Ecosystems.Go, "gobinary", "usr/local/bin/app", layer.Digest), (p.Ecosystem, p.Type, p.FilePath, p.LayerDigest)));
    }

    [Fact]
    public async Task Go_RealBinaryBuiltByDebian_GivesItsModules()
    {
        // skopeo is a Go program packaged by Debian (built with Go >= 1.19); the tests' machines install it.
        const string path = "/usr/bin/skopeo";
        if (!File.Exists(path))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") is { Length: > 0 }, "skopeo is not installed");
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var layer = new LayerBuilder().Executable("usr/bin/skopeo", bytes).Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        // Debian builds Go programs without module mode, so the build info names the Go version and the main package
        // path but no modules: stdlib is all there is. The version is cross-checked by a plain byte search.
        var text = Encoding.Latin1.GetString(bytes);
        var magicAt = text.IndexOf("\u00ff Go buildinf:", StringComparison.Ordinal);
        var version = System.Text.RegularExpressions.Regex.Match(text.Substring(magicAt, 64), @"go(1\.\d+(\.\d+)?)").Groups[1].Value;
        var stdlib = Assert.Single(inventory.Packages);
        Assert.Equal(("stdlib", "v" + version, "usr/bin/skopeo"), (stdlib.Name, stdlib.Version, stdlib.FilePath));
    }

    [Fact]
    public void Go_ParseWithoutInlineStrings_IsNull()
    {
        var block = new byte[64];
        block[14] = 8;
        block[15] = 0;

        Assert.Null(GoBinaryExtractor.Parse(block));
    }

    [Fact]
    public async Task Dotnet_DepsJson_YieldsPackageLibrariesOnly()
    {
        const string deps = """
            {
              "runtimeTarget": { "name": ".NETCoreApp,Version=v8.0" },
              "libraries": {
                "Shop.Api/1.0.0": { "type": "project", "serviceable": false },
                "Newtonsoft.Json/13.0.1": { "type": "package", "serviceable": true, "sha512": "sha512-x" },
                "System.Text.Encodings.Web/4.7.1": { "type": "package" },
                "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": { "type": "runtimepack" }
              }
            }
            """;
        var layer = new LayerBuilder().File("app/Shop.Api.deps.json", deps).Layer();

        var inventory = await TestScan.InventoryAsync(layer);

        Assert.Equal(
            [("Newtonsoft.Json", "13.0.1"), ("System.Text.Encodings.Web", "4.7.1")],
            inventory.Packages.Select(p => (p.Name, p.Version)).Order());
        Assert.All(inventory.Packages, p => Assert.Equal((Ecosystems.NuGet, "dotnet-core", "app/Shop.Api.deps.json"), (p.Ecosystem, p.Type, p.FilePath)));
    }

    [Fact]
    public async Task Java_PomPropertiesInJarAndNestedJar_AreRead()
    {
        var nested = Zip(("META-INF/maven/com.google.guava/guava/pom.properties", "#Generated\ngroupId=com.google.guava\nartifactId=guava\nversion=32.1.2-jre\n"));
        var deeper = Zip(("META-INF/maven/org.yaml/snakeyaml/pom.properties", "groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n"));
        var boot = Zip(
            ("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"),
            ("META-INF/maven/com.example/shop/pom.properties", "groupId=com.example\nartifactId=shop\nversion=1.0.0\n"),
            ("BOOT-INF/lib/guava-32.1.2-jre.jar", nested),
            ("BOOT-INF/lib/wrapper.jar", Zip(("lib/snakeyaml-1.33.jar", deeper))));
        var layer = new LayerBuilder()
            .File("app/shop.jar", boot)
            .File("app/broken.war", "PK not really a zip")
            .Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Equal(
            [("com.example:shop", "1.0.0"), ("com.google.guava:guava", "32.1.2-jre"), ("org.yaml:snakeyaml", "1.33")],
            result.Inventory.Packages.Select(p => (p.Name, p.Version)).Order());
        Assert.All(result.Inventory.Packages, p => Assert.Equal((Ecosystems.Maven, "jar", "app/shop.jar"), (p.Ecosystem, p.Type, p.FilePath)));
        Assert.Contains(result.Warnings, w => w.Path == "app/broken.war");
    }

    [Fact]
    public async Task Java_NestingDeeperThanTheLimit_IsNotFollowed()
    {
        var level3 = Zip(("META-INF/maven/g/deep/pom.properties", "groupId=g\nartifactId=deep\nversion=3\n"));
        var level2 = Zip(("l3.jar", level3));
        var level1 = Zip(("l2.jar", level2), ("META-INF/maven/g/one/pom.properties", "groupId=g\nartifactId=one\nversion=1\n"));
        var outer = Zip(("l1.jar", level1));
        var layer = new LayerBuilder().File("app.jar", outer).Layer();

        var result = await new InventoryScanner(new ScanLimits { MaxNestedArchiveDepth = 2 }).ScanAsync([layer], CancellationToken.None);

        Assert.Equal(["g:one"], result.Inventory.Packages.Select(p => p.Name));
    }

    [Fact]
    public async Task Java_ZipBomb_StopsAtTheExpandedBytesLimit()
    {
        var bomb = Zip(("huge.jar", new byte[32 << 20]), ("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n"));
        var layer = new LayerBuilder().File("bomb.jar", bomb).Layer();

        var result = await new InventoryScanner(new ScanLimits { MaxArchiveExpandedBytes = 1 << 20 }).ScanAsync([layer], CancellationToken.None);

        Assert.Contains(result.Warnings, w => w.Path == "bomb.jar" && w.Message.Contains("zip bomb", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Java_EntryWithAnUnknownCompressionMethod_IsAWarning()
    {
        var zip = Zip(("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n"));

        // Compression method 99 (AES, which .NET cannot read) in the local header and the central directory.
        zip[8] = 99;
        var central = zip.AsSpan().LastIndexOf("PK\u0001\u0002"u8);
        zip[central + 10] = 99;
        var layer = new LayerBuilder().File("odd.jar", zip).Layer();

        var result = await new InventoryScanner().ScanAsync([layer], CancellationToken.None);

        Assert.Empty(result.Inventory.Packages);
        Assert.Contains(result.Warnings, w => w.Path == "odd.jar");
    }

    internal static byte[] Zip(params (string Name, object Content)[] entries)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(content as byte[] ?? Encoding.UTF8.GetBytes((string)content));
            }
        }

        return output.ToArray();
    }
}
