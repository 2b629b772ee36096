using System.Security.Cryptography;
using Berth.Auth.Jwt;

namespace Berth.Auth.Tests.Jwt;

public sealed class SigningKeyRingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private string KeyFolder => Path.Combine(_temp.Path, "keys");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void LoadOrCreate_EmptyFolder_CreatesOneKeyFile()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);

        var file = Assert.Single(Directory.GetFiles(KeyFolder));
        Assert.Equal("token-signing-000001.pem", Path.GetFileName(file));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.Equal(1, ring.Current.Generation);
        Assert.Single(ring.Keys);
        Assert.Equal(KeyFolder, ring.Folder);
    }

    [Fact]
    public void LoadOrCreate_OnUnix_KeyFileIsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix file modes there
        }

        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);

        var file = Directory.GetFiles(KeyFolder).Single();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(KeyFolder));
    }

    [Fact]
    public void LoadOrCreate_OnUnix_MissingFoldersAboveTheKeyFolderAreOwnerOnlyToo()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix file modes there
        }

        var nested = Path.Combine(_temp.Path, "etc", "berth", "keys");

        using var ring = SigningKeyRing.LoadOrCreate(nested);

        foreach (var folder in new[] { Path.Combine(_temp.Path, "etc"), Path.Combine(_temp.Path, "etc", "berth"), nested })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }
    }

    [Fact]
    public void LoadOrCreate_Again_LoadsTheSameKey()
    {
        string id;
        using (var first = SigningKeyRing.LoadOrCreate(KeyFolder))
        {
            id = first.Current.Id;
        }

        using var second = SigningKeyRing.LoadOrCreate(KeyFolder);

        Assert.Equal(id, second.Current.Id);
        Assert.Single(Directory.GetFiles(KeyFolder));
    }

    [Fact]
    public void Current_Id_IsBase64UrlSha256Thumbprint()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.Matches("^[A-Za-z0-9_-]{43}$", ring.Current.Id);
    }

    [Fact]
    public void Rotate_Persisted_NewKeySignsAndReloadKeepsBoth()
    {
        string oldId, newId;
        using (var ring = SigningKeyRing.LoadOrCreate(KeyFolder))
        {
            oldId = ring.Current.Id;
            var rotated = ring.Rotate();
            newId = rotated.Id;

            Assert.Same(rotated, ring.Current);
            Assert.Equal(2, rotated.Generation);
            Assert.Equal([newId, oldId], ring.Keys.Select(k => k.Id));
        }

        using var reloaded = SigningKeyRing.LoadOrCreate(KeyFolder);

        Assert.Equal(newId, reloaded.Current.Id);
        Assert.NotNull(reloaded.Find(oldId));
        Assert.Equal(2, Directory.GetFiles(KeyFolder).Length);
    }

    [Fact]
    public void Remove_OldKey_DeletesItsFileAndStopsFindingIt()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);
        var old = ring.Current.Id;
        ring.Rotate();

        Assert.True(ring.Remove(old));

        Assert.Null(ring.Find(old));
        Assert.Equal("token-signing-000002.pem", Path.GetFileName(Directory.GetFiles(KeyFolder).Single()));
    }

    [Fact]
    public void Remove_CurrentKey_Throws()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.Throws<InvalidOperationException>(() => ring.Remove(ring.Current.Id));
    }

    [Fact]
    public void Remove_UnknownKey_False()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.False(ring.Remove("nope"));
    }

    [Fact]
    public void Find_Null_IsNull()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        Assert.Null(ring.Find(null));
    }

    [Fact]
    public void CreateEphemeral_Rotate_WritesNothing()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        ring.Rotate();

        Assert.Null(ring.Folder);
        Assert.Equal(2, ring.Keys.Count);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void LoadOrCreate_CorruptKeyFile_ThrowsNamingTheFile()
    {
        Directory.CreateDirectory(KeyFolder);
        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-000001.pem"), "not a key");

        var error = Assert.Throws<InvalidDataException>(() => SigningKeyRing.LoadOrCreate(KeyFolder));

        Assert.Contains("token-signing-000001.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadOrCreate_KeyOnAnotherCurve_Throws()
    {
        Directory.CreateDirectory(KeyFolder);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-000001.pem"), p384.ExportPkcs8PrivateKeyPem());

        Assert.Throws<InvalidDataException>(() => SigningKeyRing.LoadOrCreate(KeyFolder));
    }

    [Fact]
    public void LoadOrCreate_RsaKey_Throws()
    {
        Directory.CreateDirectory(KeyFolder);
        using var rsa = RSA.Create(2048);
        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-000001.pem"), rsa.ExportPkcs8PrivateKeyPem());

        Assert.Throws<InvalidDataException>(() => SigningKeyRing.LoadOrCreate(KeyFolder));
    }

    [Fact]
    public void LoadOrCreate_UnrelatedFiles_AreIgnored()
    {
        Directory.CreateDirectory(KeyFolder);
        File.WriteAllText(Path.Combine(KeyFolder, "README"), "x");
        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-latest.pem"), "x");

        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);

        Assert.Single(ring.Keys);
    }

    [Fact]
    public void LoadOrCreate_KeyWrittenByOtherNode_HighestGenerationSigns()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Directory.CreateDirectory(KeyFolder);
        using (SigningKeyRing.LoadOrCreate(KeyFolder))
        {
        }

        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-000007.pem"), other.ExportPkcs8PrivateKeyPem());

        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);

        Assert.Equal(7, ring.Current.Generation);
        Assert.Equal(8, ring.Rotate().Generation);
    }

    [Fact]
    public void Reload_OtherNodeRotatedAndRemoved_FollowsTheFolder()
    {
        using var nodeA = SigningKeyRing.LoadOrCreate(KeyFolder);
        using var nodeB = SigningKeyRing.LoadOrCreate(KeyFolder);
        var first = nodeA.Current;
        Assert.Equal(first.Id, nodeB.Current.Id);

        var second = nodeA.Rotate();
        nodeB.Reload();

        Assert.Equal(second.Id, nodeB.Current.Id);
        Assert.NotNull(nodeB.Find(first.Id));

        nodeA.Remove(first.Id);
        nodeB.Reload();

        Assert.Null(nodeB.Find(first.Id));
        Assert.Equal([second.Id], nodeB.Keys.Select(k => k.Id));
    }

    [Fact]
    public void Reload_NothingChanged_KeepsTheSameKeyObjects()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);
        var current = ring.Current;

        ring.Reload();

        Assert.Same(current, ring.Current);
    }

    [Fact]
    public void Reload_FolderEmptied_KeepsKeys()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);
        foreach (var file in Directory.GetFiles(KeyFolder))
        {
            File.Delete(file);
        }

        ring.Reload();

        Assert.Single(ring.Keys);
    }

    [Fact]
    public void Reload_CorruptFileAppears_ThrowsAndKeepsRing()
    {
        using var ring = SigningKeyRing.LoadOrCreate(KeyFolder);
        File.WriteAllText(Path.Combine(KeyFolder, "token-signing-000002.pem"), "garbage");

        Assert.Throws<InvalidDataException>(ring.Reload);

        Assert.Equal(1, ring.Current.Generation);
    }

    [Fact]
    public void Reload_InMemoryRing_NoOp()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        ring.Reload();

        Assert.Single(ring.Keys);
    }

    [Fact]
    public void ExportPublicKeyPem_Any_IsPublicKeyOnly()
    {
        using var ring = SigningKeyRing.CreateEphemeral();

        var pem = ring.Current.ExportPublicKeyPem();

        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", pem, StringComparison.Ordinal);
    }
}
